import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createConsumer, createMemoryEventLog, createMemoryViewStorage, createPublisher, type ViewStorage, type ViewStore } from '../../src/index.ts';
import { cartProjection, ItemAdded, ItemRemoved } from '../support/cart.ts';

/** Storage whose stores crash (throw, committing nothing) on the commits whose numbers are in `crashes`. */
function crashingStorage(inner: ViewStorage, crashes: Set<number>): ViewStorage {
  let commits = 0;
  return {
    ...inner,
    open: async (projection, copy, layout) => {
      const store = await inner.open(projection, copy, layout);
      // After a crash the process is gone: nothing more reaches this store.
      let dead = false;
      const wrapped: ViewStore = {
        get: (t, k) => store.get(t, k),
        query: (t, o) => store.query(t, o),
        scan: (t, o) => store.scan(t, o),
        checkpoint: () => store.checkpoint(),
        commit: (changes, checkpoint) => {
          commits++;
          if (dead || crashes.has(commits)) {
            dead = true;
            return Promise.reject(new TypeError(`crashed before commit ${commits}`));
          }
          return store.commit(changes, checkpoint);
        },
        deadLetters: () => store.deadLetters(),
        parked: (s) => store.parked(s),
        audit: () => store.audit(),
        close: () => store.close(),
      };
      return wrapped;
    },
    current: (p) => inner.current(p),
    setCurrent: (p, c) => inner.setCurrent(p, c),
    drop: (p, c) => inner.drop(p, c),
  };
}

const eventArbitrary = fc.oneof(
  fc.record({ type: fc.constant('cart.item-added' as const), data: fc.record({ cartId: fc.constantFrom('a', 'b', 'c', 'd'), productId: fc.constantFrom('x', 'y', 'z'), quantity: fc.integer({ min: 1, max: 5 }) }) }),
  fc.record({ type: fc.constant('cart.item-removed' as const), data: fc.record({ cartId: fc.constantFrom('a', 'b', 'c', 'd'), productId: fc.constantFrom('x', 'y', 'z') }) }),
);

describe('consumer properties', () => {
  it('with random batches and crashes before commits, the live view equals a rebuild from scratch', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(eventArbitrary, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 9 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 30 }), { maxLength: 4 }),
        async (batches, batchSize, crashAt) => {
          const log = createMemoryEventLog();
          const publisher = createPublisher({ log, catalog: [ItemAdded, ItemRemoved], source: 'prop' });
          const storage = crashingStorage(createMemoryViewStorage(), new Set(crashAt));
          const make = () => createConsumer(cartProjection(), { log, storage, batchSize, retry: { attempts: 1 }, storeRetry: { attempts: 1 } });
          let consumer = make();
          let last = '0';
          for (const batch of batches) last = (await publisher.publishBatch(batch)).at(-1)!.position;
          // Restart after every crash (in start or in a commit) until the consumer gets through.
          for (let restarts = 0; ; restarts++) {
            expect(restarts, 'too many restarts').toBeLessThan(10);
            try {
              await consumer.start();
              await consumer.waitFor(last, { timeoutMs: 2000 });
              break;
            } catch (error) {
              expect(String(error)).toMatch(/crashed before commit/);
              await consumer.stop();
              consumer = make();
            }
          }
          const live = await consumer.view.carts.scan({ limit: 100 });
          await consumer.stop();
          const fresh = createConsumer(cartProjection(), { log, storage: createMemoryViewStorage() });
          await fresh.start();
          await fresh.waitFor(last);
          expect(live).toEqual(await fresh.view.carts.scan({ limit: 100 }));
          await fresh.stop();
        },
      ),
      { numRuns: 60 },
    );
  });
});
