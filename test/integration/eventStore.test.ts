import { copyFile, cp, rm } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCommandHandler, createPublisher, deciderSpec, defineConfig, defineDecider, isUnilogError, openEventStore, openFileEventLog, openFileEventStore, type EventStore, type FileEventLog } from '../../src/index.ts';
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

describe('file event store: runs in the index, events from the log', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => ({ dir, remove } = await tempDir('unilog-store-runs-')));
  afterEach(async () => remove());

  const openAt = async (options: { maxEventBytes?: number } = {}) => {
    const log = await openFileEventLog({ dir: path.join(dir, 'log'), segmentBytes: 16 * 1024, ...options });
    const store = await openFileEventStore({ log, catalog: storeEvents, dir: path.join(dir, 'store') });
    return { log, store, close: async () => { await store.close(); await log.close(); } };
  };
  const deleteIndex = async () => {
    for (const suffix of ['', '-wal', '-shm']) await rm(path.join(dir, 'store', `streams.sqlite${suffix}`), { force: true });
  };

  it('property: concurrent appends of 1–8 events to a few streams, other events between them, read back exactly from any version, both ways, before and after the index is rebuilt', async () => {
    const append = fc.record({ stream: fc.integer({ min: 0, max: 3 }), count: fc.integer({ min: 1, max: 8 }), between: fc.integer({ min: 0, max: 3 }) });
    const query = fc.record({ stream: fc.integer({ min: 0, max: 3 }), from: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }), backward: fc.boolean(), limit: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }) });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(append, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 }), fc.array(query, { minLength: 1, maxLength: 15 }), async (rounds, queries) => {
        run++;
        const id = (stream: number) => `counter-r${run}-${stream}`;
        /** The model: each stream's events as [position, by], in version order. */
        const model = new Map<string, [string, number][]>();
        let { log, store, close } = await openAt();
        try {
          const publisher = createPublisher({ log, catalog: storeEvents, source: 'between' });
          let by = 0;
          for (const round of rounds) {
            // One round's appends are in flight together: appends to one stream queue behind each other.
            await Promise.all(
              round.map(async (a) => {
                const values = Array.from({ length: a.count }, () => ++by);
                const [result] = await Promise.all([
                  store.appendToStream(id(a.stream), values.map((v) => inc(String(a.stream), v))),
                  ...Array.from({ length: a.between }, () => publisher.publish('counter.reset', { counterId: 'not-a-stream' })),
                ]);
                const list = model.get(id(a.stream)) ?? [];
                model.set(id(a.stream), list);
                expect(result.positions).toHaveLength(a.count);
                // Appends to one stream resolve in the order they were made, so the model's order is the stream's.
                expect(result.nextExpectedVersion).toBe(list.length + a.count);
                values.forEach((v, i) => list.push([result.positions[i] as string, v]));
              }),
            );
          }
          const check = async (label: string) => {
            for (const q of queries) {
              const list = model.get(id(q.stream)) ?? [];
              const versions = list.map((_, i) => i + 1);
              const start = q.from ?? (q.backward ? list.length : 1);
              let wanted = q.backward ? versions.filter((v) => v <= start).reverse() : versions.filter((v) => v >= start);
              if (q.limit !== undefined) wanted = wanted.slice(0, q.limit);
              const got = await store.readStream(id(q.stream), { ...(q.from === undefined ? {} : { from: q.from }), direction: q.backward ? 'backward' : 'forward', ...(q.limit === undefined ? {} : { limit: q.limit }) });
              expect(got.version, label).toBe(list.length);
              expect(
                got.events.map((e) => [e.streamVersion, e.position, e.event.streamid, e.event.type === 'counter.incremented' ? e.event.data.by : undefined]),
                `${label}: ${JSON.stringify(q)}`,
              ).toEqual(wanted.map((v) => [v, list[v - 1]?.[0], id(q.stream), list[v - 1]?.[1]]));
            }
          };
          await check('as appended');
          await close();
          await deleteIndex();
          ({ log, store, close } = await openAt());
          await check('rebuilt from the log');
        } finally {
          await close();
        }
      }),
      { numRuns: 25 },
    );
  });

  it('an append that fails for one of its events fails alone: the appends queued behind it on the same stream are checked and written exactly', async () => {
    const { store, close } = await openAt({ maxEventBytes: 450 });
    try {
      const big = { type: 'counter.incremented' as const, data: { counterId: 'x'.repeat(300), by: 1 } };
      // Five events an append: more than the index keeps itself, so the store lets the envelopes go once the log
      // has them, and builds them again for the retry.
      const five = (by: number) => Array.from({ length: 5 }, (_, i) => inc('q', by * 10 + i));
      const results = await Promise.allSettled([
        store.appendToStream('counter-q', five(1), { expectedVersion: 'no_stream' }),
        // These three wait for the first, then go to the log together; the big event fails that append.
        store.appendToStream('counter-q', [...five(2).slice(0, 4), big], { expectedVersion: 5 }),
        store.appendToStream('counter-q', five(3), { expectedVersion: 5 }),
        store.appendToStream('counter-q', five(4), { expectedVersion: 10 }),
      ]);
      expect(results.map((r) => (r.status === 'fulfilled' ? r.value.nextExpectedVersion : (r.reason as { code?: string }).code))).toEqual([5, 'EventTooLarge', 10, 15]);
      const { events } = await store.readStream('counter-q');
      expect(events.map((e) => (e.event.type === 'counter.incremented' ? e.event.data.by : undefined))).toEqual([...five(1), ...five(3), ...five(4)].map((e) => e.data.by));
      expect(new Set(events.map((e) => e.event.id)).size).toBe(15);
    } finally {
      await close();
    }
  });

  it('an index of the first layout (every event\'s JSON in its rows) is dropped on open and rebuilt from the log', async () => {
    let { store, close } = await openAt();
    for (let i = 0; i < 12; i++) await store.appendToStream(`counter-${i % 3}`, Array.from({ length: 1 + (i % 6) }, () => inc(String(i % 3), i)));
    const before = await Promise.all([0, 1, 2].map(async (s) => store.readStream(`counter-${s}`)));
    await close();
    // What layout 1 left: an events table, and a checkpoint at the log's head (nothing to catch up).
    const db = new Database(path.join(dir, 'store', 'streams.sqlite'));
    db.exec("DROP TABLE runs; DELETE FROM meta WHERE name = 'layout'; CREATE TABLE events (stream TEXT NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (stream, version)) WITHOUT ROWID;");
    db.close();
    ({ store, close } = await openAt());
    try {
      expect(await Promise.all([0, 1, 2].map(async (s) => store.readStream(`counter-${s}`)))).toEqual(before);
    } finally {
      await close();
    }
  });

  it('an index that does not belong to the log is refused with LogCorrupted when a stream is read from the log', async () => {
    let { store, close } = await openAt();
    await store.appendToStream('counter-a', Array.from({ length: 6 }, () => inc('a')));
    await close();
    const other = path.join(dir, 'other-store');
    await rm(other, { recursive: true, force: true });
    await cp(path.join(dir, 'store'), other, { recursive: true });
    await rm(path.join(dir, 'log'), { recursive: true });
    await deleteIndex();
    // A new log whose events sit where the old index says counter-a is.
    ({ store, close } = await openAt());
    await store.appendToStream('counter-b', Array.from({ length: 6 }, () => inc('b')));
    await close();
    await deleteIndex();
    await cp(other, path.join(dir, 'store'), { recursive: true });
    ({ store, close } = await openAt());
    try {
      await expect(store.readStream('counter-a')).rejects.toSatisfy((error) => isUnilogError(error, 'LogCorrupted') && /does not belong to this log/.test(error.message));
    } finally {
      await close();
    }
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

describe('file store: a stream index that fails to record', () => {
  it('never fails an append that is durable, then refuses appends (LogWriteFailed) until reopened, which has every event', async () => {
    const { dir, remove } = await tempDir('store-index-fails-');
    const { createCatalog } = await import('../../src/index.ts');
    const { createEmbeddedEventStore } = await import('../../src/store/embedded/embeddedEventStore.ts');
    const { openSqliteStreamIndex } = await import('../../src/store/embedded/sqliteStreamIndex.ts');
    try {
      const log = await openFileEventLog({ dir: path.join(dir, 'log') });
      const sqlite = openSqliteStreamIndex(path.join(dir, 'store'));
      let failures = 0;
      // The index fails once, as a full disk would, after the log made the second append durable.
      const index = { ...sqlite, record: (runs: Parameters<typeof sqlite.record>[0]) => {
        if (runs.some((run) => run.first === 2) && failures++ === 0) throw new Error('SQLITE_FULL: database or disk is full');
        sqlite.record(runs);
      } };
      const store = await createEmbeddedEventStore({ log, catalog: createCatalog(storeEvents), source: 'test', index });
      await store.appendToStream('counter-a', [inc('a')]);
      const second = await store.appendToStream('counter-a', [inc('a')], { expectedVersion: 1 });
      expect(second.nextExpectedVersion, 'the durable append is not reported as failed').toBe(2);
      const refused = await store.appendToStream('counter-a', [inc('a')], { expectedVersion: 2 }).catch((error: unknown) => error);
      expect(isUnilogError(refused, 'LogWriteFailed') && refused.message).toMatch(/open it again/);
      expect(await log.head(), 'nothing was appended after the failure').toBe('2');
      await store.close();
      await log.close();

      const reopenedLog = await openFileEventLog({ dir: path.join(dir, 'log') });
      const reopened = await openFileEventStore({ log: reopenedLog, catalog: storeEvents, dir: path.join(dir, 'store') });
      expect((await reopened.readStream('counter-a')).version, 'the index caught up from the log').toBe(2);
      await expect(reopened.appendToStream('counter-a', [inc('a')], { expectedVersion: 1 })).rejects.toSatisfy((error) => isUnilogError(error, 'ConcurrencyConflict'));
      expect((await reopened.appendToStream('counter-a', [inc('a')], { expectedVersion: 2 })).nextExpectedVersion).toBe(3);
      await reopened.close();
      await reopenedLog.close();
    } finally {
      await remove();
    }
  });

  it('an index whose transaction fails rolls back to its last commit and says so on every later call', async () => {
    const { dir, remove } = await tempDir('store-index-rollback-');
    const { openSqliteStreamIndex } = await import('../../src/store/embedded/sqliteStreamIndex.ts');
    try {
      const index = openSqliteStreamIndex(dir);
      index.record([{ stream: 's', first: 1, last: 1, position: 0 }]);
      index.advance(1);
      index.close();
      const again = openSqliteStreamIndex(dir);
      again.record([{ stream: 's', first: 2, last: 2, position: 1 }]);
      again.advance(2);
      expect(again.version('s')).toBe(2);
      // A row the table refuses (NOT NULL) fails the open transaction, as a full disk would.
      expect(() => {
        again.record([{ stream: null as unknown as string, first: 1, last: 1, position: 2 }]);
      }).toThrow();
      expect(again.checkpoint(), 'back at the last commit').toBe(1);
      expect(() => again.version('s'), 'the failure is kept').toThrow(/NOT NULL/);
      expect(() => {
        again.close();
      }).toThrow(/NOT NULL/);
      const reopened = openSqliteStreamIndex(dir);
      expect(reopened.version('s'), 'the rolled-back row is gone; the log gives it back on open').toBe(1);
      expect(reopened.checkpoint()).toBe(1);
      reopened.close();
    } finally {
      await remove();
    }
  });
});

describe('file store: a log restored from an older copy', () => {
  it('rebuilds an index that is ahead of the log instead of trusting versions the log no longer has', async () => {
    const { dir, remove } = await tempDir('store-log-restored-');
    const logDir = path.join(dir, 'log');
    const storeDir = path.join(dir, 'store');
    try {
      let log = await openFileEventLog({ dir: logDir });
      let store = await openFileEventStore({ log, catalog: storeEvents, dir: storeDir });
      await store.appendToStream('counter-a', [inc('a')]);
      await store.close();
      await log.close();
      await cp(logDir, path.join(dir, 'log-backup'), { recursive: true });
      log = await openFileEventLog({ dir: logDir });
      store = await openFileEventStore({ log, catalog: storeEvents, dir: storeDir });
      await store.appendToStream('counter-a', [inc('a'), inc('a')], { expectedVersion: 1 });
      await store.close();
      await log.close();
      // The log goes back to the backup (one event); the index has recorded three.
      await rm(logDir, { recursive: true });
      await cp(path.join(dir, 'log-backup'), logDir, { recursive: true });
      log = await openFileEventLog({ dir: logDir });
      store = await openFileEventStore({ log, catalog: storeEvents, dir: storeDir });
      expect((await store.readStream('counter-a')).version, 'the versions the log holds').toBe(1);
      expect((await store.appendToStream('counter-a', [inc('a')], { expectedVersion: 1 })).nextExpectedVersion).toBe(2);
      await store.close();
      await log.close();
    } finally {
      await remove();
    }
  });
});
