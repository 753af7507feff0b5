import { z } from 'zod';
import { createConsumer, defineProjection, type EventLog, type ViewStorage } from '../../src/index.ts';
import { OrderPlaced } from './events.ts';
import { secondsSince } from './measure.ts';

/**
 * The counting projection of the `peers` and `scale` suites: one row per key with the number of orders and their
 * total. The key is the event's stream (events appended through an event store) or else its customer.
 */
export const orderCounts = defineProjection({
  name: 'order-counts',
  version: 1,
  events: [OrderPlaced],
  tables: {
    counts: { row: z.object({ key: z.string(), orders: z.number().int(), totalCents: z.number().int() }), key: 'key' },
  },
}).on({
  'order.placed': async (event, view) => {
    const key = event.streamid ?? event.data.customerId;
    const row = await view.counts.get(key);
    view.counts.put({ key, orders: (row?.orders ?? 0) + 1, totalCents: (row?.totalCents ?? 0) + event.data.totalCents });
  },
});

/** A key's count as the projection holds it. */
export interface OrderCount {
  readonly orders: number;
  readonly totalCents: number;
}

/** A stopped consumer's `rebuild()` of {@link orderCounts} into `storage`, timed; the view's rows are returned for checks. */
export async function rebuildCounts(log: EventLog, storage: ViewStorage, expected: number): Promise<{ seconds: number; rows: Map<string, OrderCount> }> {
  const consumer = createConsumer(orderCounts, { log, storage });
  const start = performance.now();
  const result = await consumer.rebuild();
  const seconds = secondsSince(start);
  if (result.events !== expected) throw new Error(`rebuild: processed ${result.events} events, expected ${expected}`);
  const rows = new Map<string, OrderCount>();
  const copy = await storage.current(orderCounts.name);
  if (copy === undefined) throw new Error('rebuild: the view has no current copy');
  const store = await storage.open(orderCounts.name, copy, orderCounts.layout);
  try {
    for (let page = await store.scan('counts', { limit: 1000 }); page.length > 0; ) {
      for (const row of page) rows.set(String(row.key), { orders: Number(row.orders), totalCents: Number(row.totalCents) });
      page = await store.scan('counts', { after: String(page[page.length - 1]!.key), limit: 1000 });
    }
  } finally {
    await store.close();
  }
  return { seconds, rows };
}
