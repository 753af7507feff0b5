import { copyFile, rm } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCommandHandler, deciderSpec, defineConfig, defineDecider, isUnilogError, openEventStore, openFileEventLog, openFileEventStore, type EventStore, type FileEventLog } from '../../src/index.ts';
import { counter, storeEvents } from '../contract/eventStore.contract.ts';
import { tempDir } from '../support/tempDir.ts';

type StoreDefs = (typeof storeEvents)[number];
const inc = (counterId: string, by = 1) => ({ type: 'counter.incremented' as const, data: { counterId, by } });

describe('file event store', () => {
  let dir: string;
  let remove: () => Promise<void>;
  let log: FileEventLog;
  let store: EventStore<StoreDefs>;
  const open = async () => {
    log = await openFileEventLog({ dir: path.join(dir, 'log') });
    store = await openFileEventStore({ log, catalog: storeEvents, dir: path.join(dir, 'store') });
  };
  const close = async () => {
    await store.close();
    await log.close();
  };
  beforeEach(async () => {
    ({ dir, remove } = await tempDir('unilog-store-'));
    await open();
  });
  afterEach(async () => {
    await close();
    await remove();
  });

  it('race: 50 writers on one stream, each appending at the version it read: one winner per version, no lost update', async () => {
    const writers = 50;
    const rounds = 10;
    const wins: number[] = [];
    let conflicts = 0;
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let round = 0; round < rounds; round++) {
          const { version } = await store.readStream('counter-race', { direction: 'backward', limit: 1 });
          try {
            const result = await store.appendToStream('counter-race', [inc('race', writer * 1000 + round)], { expectedVersion: version });
            expect(result.nextExpectedVersion).toBe(version + 1);
            wins.push(result.nextExpectedVersion);
          } catch (error) {
            if (!isUnilogError(error, 'ConcurrencyConflict')) throw error;
            expect(error.details.actual).toBeGreaterThan(version);
            conflicts++;
          }
        }
      }),
    );
    // Every version was won exactly once, and every win is in the stream: nothing lost, nothing doubled.
    const { version, events } = await store.readStream('counter-race');
    expect([...wins].sort((a, b) => a - b)).toEqual(Array.from({ length: version }, (_, i) => i + 1));
    expect(events.map((e) => e.streamVersion)).toEqual(Array.from({ length: version }, (_, i) => i + 1));
    expect(conflicts).toBe(writers * rounds - version);
    expect(conflicts).toBeGreaterThan(0);

    // The command handler retries: all 50 commands apply.
    const handle = createCommandHandler(store, counter, { maxAttempts: 100 });
    const before = (await store.aggregateStream('counter-race', { initialState: counter.initialState, evolve: counter.evolve })).state.total;
    await Promise.all(Array.from({ length: writers }, () => handle('counter-race', { counterId: 'race', by: 1 })));
    const after = await store.aggregateStream('counter-race', { initialState: counter.initialState, evolve: counter.evolve });
    expect(after.state.total).toBe(before + writers);
    expect(after.version).toBe(version + writers);
  });

  it('property: aggregateStream equals the fold of readStream, and snapshot plus tail equals the full fold', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('inc' as const), stream: fc.integer({ min: 0, max: 4 }), by: fc.integer({ min: -50, max: 50 }), count: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('reset' as const), stream: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ kind: fc.constant('aggregate' as const), stream: fc.integer({ min: 0, max: 4 }), every: fc.integer({ min: 1, max: 6 }), version: fc.integer({ min: 1, max: 2 }) }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        run++;
        const fold = { initialState: counter.initialState, evolve: counter.evolve };
        const id = (stream: number) => `counter-p${run}-${stream}`;
        for (const o of ops) {
          if (o.kind === 'inc') await store.appendToStream(id(o.stream), Array.from({ length: o.count }, () => inc(String(o.stream), o.by)));
          else if (o.kind === 'reset') await store.appendToStream(id(o.stream), [{ type: 'counter.reset', data: { counterId: String(o.stream) } }]);
          else await store.aggregateStream(id(o.stream), { ...fold, snapshots: { every: o.every, version: o.version } });
        }
        for (let stream = 0; stream <= 4; stream++) {
          const { version, events } = await store.readStream(id(stream));
          const expected = events.reduce((state, e) => counter.evolve(state, e.event), counter.initialState());
          expect(await store.aggregateStream(id(stream), fold)).toEqual({ state: expected, version });
          for (const snapshotVersion of [1, 2]) expect(await store.aggregateStream(id(stream), { ...fold, snapshots: { every: 1, version: snapshotVersion } })).toEqual({ state: expected, version });
        }
      }),
      { numRuns: 60 },
    );
  });

  it('the stream index, deleted or left behind, is rebuilt from the log and answers identically', async () => {
    for (let i = 0; i < 30; i++) await store.appendToStream(`counter-${i % 7}`, [inc(String(i % 7), i), inc(String(i % 7), -i)]);
    const snapshot = async () => Promise.all(Array.from({ length: 7 }, async (_, s) => store.readStream(`counter-${s}`)));
    const before = await snapshot();
    const indexFile = path.join(dir, 'store', 'streams.sqlite');

    // Deleted: rebuilt from the whole log.
    await close();
    await rm(indexFile);
    await rm(`${indexFile}-wal`, { force: true });
    await rm(`${indexFile}-shm`, { force: true });
    await open();
    expect(await snapshot()).toEqual(before);

    // Left behind (an old copy, as after a crash before the index caught up): caught up from its checkpoint.
    await close();
    await copyFile(indexFile, `${indexFile}.old`);
    await open();
    for (let i = 0; i < 10; i++) await store.appendToStream(`counter-${i % 3}`, [inc(String(i % 3), 100)]);
    const later = await snapshot();
    await close();
    await copyFile(`${indexFile}.old`, indexFile);
    await rm(`${indexFile}-wal`, { force: true });
    await rm(`${indexFile}-shm`, { force: true });
    await open();
    expect(await snapshot()).toEqual(later);
    // And appends go on at the right versions.
    await expect(store.appendToStream('counter-0', [inc('0')], { expectedVersion: later[0]?.version ?? -1 })).resolves.toMatchObject({ nextExpectedVersion: (later[0]?.version ?? 0) + 1 });
  });
});

describe('deciders', () => {
  const cart = defineDecider({
    name: 'counter-with-limit',
    events: storeEvents,
    initialState: () => ({ total: 0 }),
    decide: (command: { counterId: string; by: number }, state: { total: number }) => {
      if (state.total + command.by > 10) throw new RangeError(`the counter would pass 10 (at ${state.total})`);
      return command.by === 0 ? [] : [inc(command.counterId, command.by)];
    },
    evolve: (state, event) => (event.type === 'counter.incremented' ? { total: state.total + event.data.by } : { total: 0 }),
  });
  const given = deciderSpec(cart);

  it('given/when/then: events, no events, refusals', () => {
    given([inc('a', 4)]).when({ counterId: 'a', by: 5 }).then([inc('a', 5)]);
    given([]).when({ counterId: 'a', by: 0 }).then([]);
    given([inc('a', 4), inc('a', 5)]).when({ counterId: 'a', by: 2 }).then(RangeError);
    given([inc('a', 9), { type: 'counter.reset', data: { counterId: 'a' } }]).when({ counterId: 'a', by: 2 }).then([inc('a', 2)]);
    given([inc('a', 10)]).when({ counterId: 'a', by: 1 }).thenThrows((error) => error instanceof RangeError && error.message.includes('at 10'));
  });

  it('given/when/then fails when the decider does something else', () => {
    expect(() => {
      given([]).when({ counterId: 'a', by: 1 }).then([inc('a', 2)]);
    }).toThrow(/other events than expected/);
    expect(() => {
      given([]).when({ counterId: 'a', by: 1 }).thenThrows();
    }).toThrow(/expected the command to be refused/);
    expect(() => {
      given([inc('a', 10)]).when({ counterId: 'a', by: 1 }).then(TypeError);
    }).toThrow(/not as expected/);
  });

  it('rejects impossible definitions', () => {
    expect(() => defineDecider({ ...cart, name: '' })).toThrow(/needs a name/);
    expect(() => defineDecider({ ...cart, version: 0 })).toThrow(/version/);
    expect(() => defineDecider({ ...cart, evolve: undefined as never })).toThrow(/evolve as a function/);
  });
});

describe('openEventStore', () => {
  it('opens the store a config describes, in the data folder, with the configured source', async () => {
    const { dir, remove } = await tempDir('unilog-store-config-');
    try {
      const config = defineConfig({ events: storeEvents, backend: { kind: 'file', dir }, store: { source: 'counter-service' } });
      const first = await openEventStore(config);
      await first.store.appendToStream('counter-x', [inc('x', 3)], { expectedVersion: 'no_stream' });
      await first.close();
      const again = await openEventStore(config, { dir });
      try {
        const { version, events } = await again.store.readStream('counter-x');
        expect(version).toBe(1);
        expect(events[0]?.event.source).toBe('counter-service');
        expect((await again.log.read({})).events).toHaveLength(1);
      } finally {
        await again.close();
      }
    } finally {
      await remove();
    }
  });
});
