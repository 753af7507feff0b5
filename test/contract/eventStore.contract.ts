import { afterEach, beforeEach, describe, expect } from 'vitest';
import { z } from 'zod';
import { contractCase, type SkippedCases } from './skip.ts';
import { createCommandHandler, defineDecider, defineEvent, isUnilogError, type EventLog, type EventStore, type StreamEnvelope } from '../../src/index.ts';

/** The stream events of the contract: a counter per stream. */
export const Incremented = defineEvent({ type: 'counter.incremented', schema: z.object({ counterId: z.string(), by: z.number().int() }), key: (e) => e.counterId });
export const Reset = defineEvent({ type: 'counter.reset', schema: z.object({ counterId: z.string() }), key: (e) => e.counterId });
export const storeEvents = [Incremented, Reset] as const;
type StoreDefs = (typeof storeEvents)[number];

/** A fresh store and the log it appends to, for one test. */
export interface EventStoreFixture {
  readonly store: EventStore<StoreDefs>;
  /** The unified log the store's events also go to. */
  readonly log: EventLog;
  readonly dispose: () => Promise<void>;
}

const inc = (counterId: string, by = 1) => ({ type: 'counter.incremented' as const, data: { counterId, by } });

/** The counter decider the contract's command handler runs. */
export const counter = defineDecider({
  name: 'counter',
  events: storeEvents,
  initialState: () => ({ total: 0 }),
  decide: (command: { counterId: string; by: number }) => [inc(command.counterId, command.by)],
  evolve: (state, event) => (event.type === 'counter.incremented' ? { total: state.total + event.data.by } : { total: 0 }),
});

/** The EventStore contract: every adapter runs these cases. */
export function describeEventStoreContract(name: string, options: { create: () => Promise<EventStoreFixture>; skip?: readonly SkippedCases[] }): void {
  const test = contractCase(options.skip);

  describe(`EventStore contract: ${name}`, () => {
    let fixture: EventStoreFixture;
    let store: EventStore<StoreDefs>;
    beforeEach(async () => {
      fixture = await options.create();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    test('a stream that was never written is at version 0 and empty', async () => {
      expect(await store.readStream('counter-none')).toEqual({ version: 0, events: [] });
      expect(await store.aggregateStream('counter-none', { initialState: () => 7, evolve: (s) => s + 1 })).toEqual({ state: 7, version: 0 });
    });

    test('appends number versions from 1 and read back in order, with stream id and version on the envelope', async () => {
      const first = await store.appendToStream('counter-a', [inc('a'), inc('a', 2)], { expectedVersion: 'no_stream' });
      expect(first.nextExpectedVersion).toBe(2);
      expect(first.positions).toHaveLength(2);
      const second = await store.appendToStream('counter-a', [inc('a', 3)], { expectedVersion: 2 });
      expect(second.nextExpectedVersion).toBe(3);
      const { version, events } = await store.readStream('counter-a');
      expect(version).toBe(3);
      expect(events.map((e) => [e.streamVersion, e.event.type === 'counter.incremented' ? e.event.data.by : 0])).toEqual([
        [1, 1],
        [2, 2],
        [3, 3],
      ]);
      expect(events.map((e) => e.position)).toEqual([...first.positions, ...second.positions]);
      for (const e of events) expect(e.event).toMatchObject({ streamid: 'counter-a', streamversion: e.streamVersion, subject: 'counter-a', type: 'counter.incremented' });
    });

    test('the events are in the unified log, in one order with the others', async () => {
      await store.appendToStream('counter-a', [inc('a')]);
      await store.appendToStream('counter-b', [inc('b'), inc('b')]);
      await store.appendToStream('counter-a', [inc('a')]);
      const page = await fixture.log.read({ limit: 100 });
      expect(page.events.map((e) => `${e.event.streamid ?? ''}#${e.event.streamversion ?? ''}`)).toEqual(['counter-a#1', 'counter-b#1', 'counter-b#2', 'counter-a#2']);
    });

    test('expected versions: a number, 0 and no_stream, stream_exists, any', async () => {
      const conflict = async (promise: Promise<unknown>) => {
        const error: unknown = await promise.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isUnilogError(error, 'ConcurrencyConflict')).toBe(true);
        return isUnilogError(error, 'ConcurrencyConflict') ? error.details : undefined;
      };
      expect(await conflict(store.appendToStream('counter-c', [inc('c')], { expectedVersion: 'stream_exists' }))).toEqual({ streamId: 'counter-c', expected: 'stream_exists', actual: 0 });
      expect(await conflict(store.appendToStream('counter-c', [inc('c')], { expectedVersion: 1 }))).toEqual({ streamId: 'counter-c', expected: 1, actual: 0 });
      await store.appendToStream('counter-c', [inc('c')], { expectedVersion: 0 });
      expect(await conflict(store.appendToStream('counter-c', [inc('c')], { expectedVersion: 'no_stream' }))).toMatchObject({ actual: 1 });
      expect(await conflict(store.appendToStream('counter-c', [inc('c')], { expectedVersion: 0 }))).toMatchObject({ actual: 1 });
      expect(await conflict(store.appendToStream('counter-c', [inc('c')], { expectedVersion: 2 }))).toMatchObject({ expected: 2, actual: 1 });
      await store.appendToStream('counter-c', [inc('c')], { expectedVersion: 'stream_exists' });
      await store.appendToStream('counter-c', [inc('c')], { expectedVersion: 'any' });
      await store.appendToStream('counter-c', [inc('c')]);
      expect((await store.readStream('counter-c')).version).toBe(4);
    });

    test('a conflicting or invalid append appends nothing, to the stream or the log', async () => {
      await store.appendToStream('counter-d', [inc('d')]);
      const head = await fixture.log.head();
      await expect(store.appendToStream('counter-d', [inc('d')], { expectedVersion: 0 })).rejects.toMatchObject({ code: 'ConcurrencyConflict' });
      await expect(store.appendToStream('counter-d', [inc('d'), { type: 'counter.incremented', data: { counterId: 'd', by: 0.5 } }])).rejects.toMatchObject({ code: 'SchemaViolation' });
      await expect(store.appendToStream('counter-d', [{ type: 'nope', data: {} } as never])).rejects.toMatchObject({ code: 'UnknownEventType' });
      await expect(store.appendToStream('', [inc('d')])).rejects.toMatchObject({ code: 'InvalidStreamId' });
      await expect(store.appendToStream('x'.repeat(257), [inc('d')])).rejects.toMatchObject({ code: 'InvalidStreamId' });
      await expect(store.appendToStream('counter-d', [])).rejects.toMatchObject({ code: 'InvalidArgument' });
      await expect(store.appendToStream('counter-d', [inc('d')], { expectedVersion: -1 })).rejects.toMatchObject({ code: 'InvalidArgument' });
      await expect(store.appendToStream('counter-d', [inc('d')], { expectedVersion: 'latest' as never })).rejects.toMatchObject({ code: 'InvalidArgument' });
      expect(await fixture.log.head()).toBe(head);
      expect((await store.readStream('counter-d')).version).toBe(1);
    });

    test('reads from a version, backward, and with a limit', async () => {
      await store.appendToStream('counter-e', Array.from({ length: 10 }, (_, i) => inc('e', i + 1)));
      const versions = async (options: Parameters<typeof store.readStream>[1]) => (await store.readStream('counter-e', options)).events.map((e) => e.streamVersion);
      expect(await versions({ from: 8 })).toEqual([8, 9, 10]);
      expect(await versions({ from: 3, limit: 2 })).toEqual([3, 4]);
      expect(await versions({ direction: 'backward', limit: 3 })).toEqual([10, 9, 8]);
      expect(await versions({ direction: 'backward', from: 2 })).toEqual([2, 1]);
      expect(await versions({ from: 11 })).toEqual([]);
      await expect(store.readStream('counter-e', { limit: 0 })).rejects.toMatchObject({ code: 'InvalidArgument' });
    });

    test('aggregates a stream, and a snapshot of the same version gives the same state', async () => {
      await store.appendToStream('counter-f', [inc('f', 5), inc('f', 6), { type: 'counter.reset', data: { counterId: 'f' } }, inc('f', 7)]);
      type Seen = { total: number; seen: number };
      const fold = { initialState: (): Seen => ({ total: 0, seen: 0 }), evolve: (s: Seen, e: StreamEnvelope<StoreDefs>): Seen => ({ total: e.type === 'counter.reset' ? 0 : s.total + e.data.by, seen: s.seen + 1 }) };
      expect(await store.aggregateStream('counter-f', fold)).toEqual({ state: { total: 7, seen: 4 }, version: 4 });
      // The first aggregate stores a snapshot at version 4; the next folds only what came after it.
      expect(await store.aggregateStream('counter-f', { ...fold, snapshots: { every: 2, version: 1 } })).toEqual({ state: { total: 7, seen: 4 }, version: 4 });
      await store.appendToStream('counter-f', [inc('f', 1)]);
      let folded = 0;
      const counting = {
        ...fold,
        evolve: (s: Seen, e: StreamEnvelope<StoreDefs>): Seen => {
          folded++;
          return fold.evolve(s, e);
        },
      };
      expect(await store.aggregateStream('counter-f', { ...counting, snapshots: { every: 2, version: 1 } })).toEqual({ state: { total: 8, seen: 5 }, version: 5 });
      expect(folded).toBe(1);
      // A snapshot of another version of the fold is ignored: everything is folded again.
      folded = 0;
      expect(await store.aggregateStream('counter-f', { ...counting, snapshots: { every: 2, version: 2 } })).toEqual({ state: { total: 8, seen: 5 }, version: 5 });
      expect(folded).toBe(5);
    });

    test('concurrent appends with the same expected version: exactly one wins', async () => {
      await store.appendToStream('counter-g', [inc('g')]);
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => store.appendToStream('counter-g', [inc('g')], { expectedVersion: 1 })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ConcurrencyConflict', details: { expected: 1, actual: 2 } });
      expect((await store.readStream('counter-g')).version).toBe(2);
    });

    test('the command handler loads, decides, appends, and retries on conflict until every command applies', async () => {
      const handle = createCommandHandler(store, counter, { maxAttempts: 50 });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => handle('counter-h', { counterId: 'h', by: i + 1 })));
      expect(results.some((r) => r.attempts > 1)).toBe(true);
      const { state, version } = await store.aggregateStream('counter-h', { initialState: counter.initialState, evolve: counter.evolve });
      expect(version).toBe(20);
      expect(state.total).toBe(210);
    });
  });
}
