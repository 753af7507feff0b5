import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryEventLog, openFileEventLog, type EventEnvelope, type EventLog } from '../../src/index.ts';
import { envelope } from '../support/events.ts';
import { tempDir } from '../support/tempDir.ts';

/** Batches of envelope sizes: each inner array is one append, each number a payload size. */
const batchesArbitrary = fc.array(fc.array(fc.nat({ max: 400 }), { minLength: 1, maxLength: 12 }), { maxLength: 15 });

function toBatches(shape: number[][]): EventEnvelope[][] {
  let n = 0;
  return shape.map((batch) => batch.map((size) => envelope(n++, `k${n % 3}`, { pad: 'p'.repeat(size), unicode: 'é✓😀'.repeat(size % 5) })));
}

async function readAll(log: EventLog, from = '0'): Promise<EventEnvelope[]> {
  const out: EventEnvelope[] = [];
  for (let next = from; ; ) {
    const page = await log.read({ from: next, limit: 5 });
    if (page.events.length === 0) return out;
    out.push(...page.events.map((e) => e.event));
    next = page.next;
  }
}

/** Collects what a subscription delivers until `count` events arrived. */
function collect(log: EventLog, count: number, from?: string): Promise<EventEnvelope[]> {
  const seen: EventEnvelope[] = [];
  return new Promise((resolve, reject) => {
    if (count === 0) {
      resolve(seen);
      return;
    }
    const subscription = log.subscribe({
      ...(from === undefined ? {} : { from }),
      batchSize: 3,
      handler: (stored) => {
        seen.push(stored.event);
        if (seen.length === count) void subscription.stop().then(() => { resolve(seen); });
      },
    });
    subscription.done.catch(reject);
  });
}

const adapters: { name: string; runs: number; open: () => Promise<{ log: EventLog; dispose: () => Promise<void> }> }[] = [
  { name: 'memory', runs: 100, open: () => { const log = createMemoryEventLog(); return Promise.resolve({ log, dispose: () => log.close() }); } },
  {
    name: 'file',
    runs: 30,
    open: async () => {
      const { dir, remove } = await tempDir('unilog-prop-');
      // Small segments, so that properties also cover rolls and cross-segment reads.
      const log = await openFileEventLog({ dir, segmentBytes: 3000 });
      return { log, dispose: async () => { await log.close(); await remove(); } };
    },
  },
];

describe.each(adapters)('properties of the $name log', ({ runs, open }) => {
  it('any sequence of appends in any batch sizes reads back identical', async () => {
    await fc.assert(
      fc.asyncProperty(batchesArbitrary, async (shape) => {
        const { log, dispose } = await open();
        try {
          const batches = toBatches(shape);
          for (const batch of batches) await log.append(batch);
          expect(await readAll(log)).toEqual(batches.flat());
        } finally {
          await dispose();
        }
      }),
      { numRuns: runs },
    );
  });

  it('subscribers see the same sequence however the appends were batched, concurrent or not', async () => {
    await fc.assert(
      fc.asyncProperty(batchesArbitrary, fc.boolean(), async (shape, concurrent) => {
        const { log, dispose } = await open();
        try {
          const batches = toBatches(shape);
          const total = batches.flat().length;
          const live = collect(log, total);
          if (concurrent) await Promise.all(batches.map((batch) => log.append(batch)));
          else for (const batch of batches) await log.append(batch);
          const expected = await readAll(log);
          expect(await live).toEqual(expected);
          // A late subscriber catching up from history sees the same.
          expect(await collect(log, total)).toEqual(expected);
          // Per key, the order of the append calls holds, even when they raced.
          for (const key of ['k0', 'k1', 'k2']) {
            const ns = expected.filter((e) => e.subject === key).map((e) => (e.data as { n: number }).n);
            expect(ns).toEqual([...ns].sort((a, b) => a - b));
          }
        } finally {
          await dispose();
        }
      }),
      { numRuns: runs },
    );
  });

  it('subscribing from any position yields exactly that suffix', async () => {
    await fc.assert(
      fc.asyncProperty(batchesArbitrary.filter((b) => b.length > 0), fc.nat(), async (shape, pick) => {
        const { log, dispose } = await open();
        try {
          const all = toBatches(shape);
          const positions: string[] = [];
          for (const batch of all) positions.push(...(await log.append(batch)).positions);
          const flat = all.flat();
          const start = pick % flat.length;
          expect(await collect(log, flat.length - start, positions[start])).toEqual(flat.slice(start));
          expect(await readAll(log, positions[start])).toEqual(flat.slice(start));
        } finally {
          await dispose();
        }
      }),
      { numRuns: runs },
    );
  });
});
