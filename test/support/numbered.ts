import { z } from 'zod';
import { defineEvent, defineProjection } from '../../src/index.ts';

/** The n-th event of a key: n runs 1, 2, 3… per key, so a view sees a skip, a repeat or a reorder. */
export const Numbered = defineEvent({
  type: 'test.numbered',
  schema: z.object({ key: z.string(), n: z.number().int().positive() }),
  key: (event) => event.key,
});

/** Per key: how many events were applied, the last n, and how many arrived out of order (not last + 1). */
export const numberedRow = z.object({ key: z.string(), count: z.number(), last: z.number(), outOfOrder: z.number() });

/** Counts each key's events and checks they come in order: a duplicate, a skip or a reorder shows in the row. */
export const numberedProjection = defineProjection({
  name: 'numbered',
  version: 1,
  events: [Numbered],
  tables: { keys: { row: numberedRow, key: 'key' } },
}).on({
  'test.numbered': async (event, view) => {
    const row = (await view.keys.get(event.data.key)) ?? { key: event.data.key, count: 0, last: 0, outOfOrder: 0 };
    view.keys.put({ ...row, count: row.count + 1, last: event.data.n, outOfOrder: row.outOfOrder + (event.data.n === row.last + 1 ? 0 : 1) });
  },
});

/** `count` events over `keys` keys, continuing the numbering in `next` (key → last n). */
export function numberedBatch(count: number, keys: number, next: Map<string, number>, offset = 0): { key: string; n: number }[] {
  return Array.from({ length: count }, (_, i) => {
    const key = `key-${(offset + i) % keys}`;
    const n = (next.get(key) ?? 0) + 1;
    next.set(key, n);
    return { key, n };
  });
}
