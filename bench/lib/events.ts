import { monotonicFactory } from 'ulid';
import { z } from 'zod';
import { defineEvent, type EventEnvelope } from '../../src/index.ts';

/** The producer name stamped as `source` on every generated event. */
export const benchSource = 'orders';

/** The event type the bench publishes: an order with a few typical fields. */
export const OrderPlaced = defineEvent({
  type: 'order.placed',
  schema: z.object({
    orderId: z.string().min(1),
    customerId: z.string().min(1),
    quantity: z.number().int().positive(),
    totalCents: z.number().int().nonnegative(),
    currency: z.enum(['EUR', 'USD', 'GBP']),
  }),
  key: (order) => order.orderId,
});

export type OrderData = z.output<typeof OrderPlaced.schema>;

const currencies = ['EUR', 'USD', 'GBP'] as const;
/** 2025-01-01T00:00:00.000Z: generated events get times from here on. */
const baseTime = Date.UTC(2025, 0, 1);
const eventsPerMillisecond = 50;

/** A small fast seeded PRNG (mulberry32), so every run generates the same data. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const digits = (value: number, width: number): string => String(value).padStart(width, '0');

/** Generates order data; fixed-width fields keep every envelope the same size (about 300 bytes as JSON). */
export function createDataGenerator(seed = 1): () => OrderData {
  const next = random(seed);
  const int = (below: number): number => Math.floor(next() * below);
  return () => {
    const quantity = 1 + int(9);
    return {
      orderId: `ord-${digits(int(1e6), 6)}`,
      customerId: `cus-${digits(int(1e6), 6)}`,
      quantity,
      totalCents: quantity * (100 + int(9900)),
      currency: currencies[int(currencies.length)] as OrderData['currency'],
    };
  };
}

/** Wraps data in the envelope the publisher would build for it (same fields, same order). */
export function createEnvelopeFactory(): (data: OrderData) => EventEnvelope {
  const nextId = monotonicFactory();
  let generated = 0;
  return (data) => {
    // A busy producer: many events per millisecond. (A new millisecond per event would also make every ULID
    // draw fresh randomness, which is slow; within one millisecond the monotonic factory just increments.)
    const now = baseTime + Math.floor(generated++ / eventsPerMillisecond);
    return {
      specversion: '1.0',
      id: nextId(now),
      source: benchSource,
      type: OrderPlaced.type,
      time: new Date(now).toISOString(),
      subject: data.orderId,
      datacontenttype: 'application/json',
      dataversion: OrderPlaced.version,
      data,
    };
  };
}

/** `count` data items and their envelopes, the envelope of item i holding data item i. */
export function generateEvents(count: number, seed = 1): { data: OrderData[]; envelopes: EventEnvelope[] } {
  const nextData = createDataGenerator(seed);
  const wrap = createEnvelopeFactory();
  const data = new Array<OrderData>(count);
  const envelopes = new Array<EventEnvelope>(count);
  for (let i = 0; i < count; i++) {
    const item = nextData();
    data[i] = item;
    envelopes[i] = wrap(item);
  }
  return { data, envelopes };
}

/** Splits `items` into consecutive slices of `size` (the last may be shorter). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The number of items in a list of batches. */
export function countOf(batches: readonly (readonly unknown[])[]): number {
  return batches.reduce((sum, batch) => sum + batch.length, 0);
}
