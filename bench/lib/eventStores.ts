/**
 * Event stores behind one small interface, and the append workload the `peers` suite runs on each of them: the durable
 * unilog file store, Emmett (in memory, or on PostgreSQL) and Castore's in-memory adapter.
 * The targets and the writers follow bench/suites/store.ts (which keeps its own copy for now); this file adds Castore,
 * appends without a version check, and batches generated as they are taken rather than all held up front.
 */
import { EventStore as CastoreEventStore, EventType as CastoreEventType, isEventAlreadyExistsError, type EventDetail as CastoreEventDetail, type GroupedEvent } from '@castore/core';
import { InMemoryEventStorageAdapter } from '@castore/event-storage-adapter-in-memory';
import { isExpectedVersionConflictError, type Event as EmmettEvent, type EventStore as EmmettEventStore, type ReadEventMetadataWithGlobalPosition } from '@event-driven-io/emmett';
import { isUnilogError, type EventStore } from '../../src/index.ts';
import { createDataGenerator, OrderPlaced, random, type OrderData } from './events.ts';
import { progress } from './progress.ts';
import { secondsSince } from './measure.ts';

/** The catalog of the unilog store: the order of the other suites (about 300 bytes as an envelope). */
export const orderCatalog = [OrderPlaced] as const;
export type OrderDefs = (typeof orderCatalog)[number];

/** One event to append: the same objects go to every store. */
export interface OrderInput {
  readonly type: typeof OrderPlaced.type;
  readonly data: OrderData;
}

/** What the append workload needs of a store. */
export interface AppendTarget {
  /**
   * Appends `events` to `stream`, which the caller last saw at version `seen`; with `check`, only if the stream is
   * still there (expected version), else at whatever version it is. Resolves with the stream's new version.
   */
  append(stream: string, events: readonly OrderInput[], seen: number, check: boolean): Promise<number>;
  isConflict(error: unknown): boolean;
  /** The stream's version (0 when it does not exist); `atLeast`, when known, lets a store read only the stream's end. */
  version(stream: string, atLeast?: number): Promise<number>;
}

type EmmettOrder = EmmettEvent<typeof OrderPlaced.type, OrderData>;

/** Emmett's in-memory and PostgreSQL stores share this interface (bigint stream versions, global positions). */
export type EmmettStore = EmmettEventStore<ReadEventMetadataWithGlobalPosition>;

export function emmettTarget(store: EmmettStore): AppendTarget {
  return {
    async append(stream, events, seen, check) {
      // Emmett's append takes a mutable array; it does not change it.
      const mutable = events as OrderInput[];
      const result = check
        ? await store.appendToStream<EmmettOrder>(stream, mutable, { expectedStreamVersion: BigInt(seen) })
        : await store.appendToStream<EmmettOrder>(stream, mutable);
      return Number(result.nextExpectedStreamVersion);
    },
    isConflict: (error) => isExpectedVersionConflictError(error),
    async version(stream, atLeast) {
      // From `atLeast` on: PostgreSQL then reads one row instead of the whole stream (its version is the last row read).
      const options = atLeast !== undefined && atLeast > 0 ? { from: BigInt(atLeast) } : undefined;
      return Number((await store.readStream<EmmettOrder>(stream, options)).currentStreamVersion);
    },
  };
}

export type UnilogStore = EventStore<OrderDefs>;

export function unilogTarget(store: UnilogStore): AppendTarget {
  return {
    async append(stream, events, seen, check) {
      return (await store.appendToStream(stream, events, { expectedVersion: check ? seen : 'any' })).nextExpectedVersion;
    },
    isConflict: (error) => isUnilogError(error, 'ConcurrencyConflict'),
    async version(stream) {
      return (await store.readStream(stream, { direction: 'backward', limit: 1 })).version;
    },
  };
}

// ---- Castore ----------------------------------------------------------------------------------------------------------

const castoreOrderPlaced = new CastoreEventType<typeof OrderPlaced.type, OrderData>({ type: OrderPlaced.type });
type CastoreOrderDetail = CastoreEventDetail<typeof OrderPlaced.type, OrderData>;
interface CastoreTotals {
  readonly aggregateId: string;
  readonly version: number;
  readonly orders: number;
}

/** A Castore event store (`@castore/core`) on its in-memory storage adapter. */
export function createCastoreStore(): CastoreEventStore {
  return new CastoreEventStore({
    eventStoreId: 'ORDERS',
    eventTypes: [castoreOrderPlaced],
    // Castore folds the first event of each aggregate on push (to return the new aggregate): a cheap reducer.
    reducer: (aggregate: CastoreTotals | undefined, event: CastoreOrderDetail): CastoreTotals => ({ aggregateId: event.aggregateId, version: event.version, orders: (aggregate?.orders ?? 0) + 1 }),
    eventStorageAdapter: new InMemoryEventStorageAdapter(),
  });
}

/**
 * Castore has one way to append: each event names its version, and pushing a version that exists fails. So it always
 * checks; without `check` it is given the versions after the one the writer last saw, like every other append.
 * A batch is one `pushEventGroup` (atomic in the in-memory adapter).
 */
export function castoreTarget(store: CastoreEventStore): AppendTarget {
  const detail = (stream: string, version: number, event: OrderInput) => ({ aggregateId: stream, version, type: event.type, payload: event.data });
  return {
    async append(stream, events, seen) {
      if (events.length === 1) {
        await store.pushEvent(detail(stream, seen + 1, events[0]!));
      } else {
        const grouped = events.map((event, i) => store.groupEvent(detail(stream, seen + 1 + i, event))) as [GroupedEvent, ...GroupedEvent[]];
        await CastoreEventStore.pushEventGroup({}, ...grouped);
      }
      return seen + events.length;
    },
    isConflict: (error) => isEventAlreadyExistsError(error),
    async version(stream) {
      const { events } = await store.getEvents(stream, { reverse: true, limit: 1 });
      return events[0]?.version ?? 0;
    },
  };
}

// ---- the workload -----------------------------------------------------------------------------------------------------

/** `count` orders as batches of `size`, each batch generated when it is first taken (seeded: every store gets the same). */
export interface BatchSource {
  readonly batches: number;
  readonly events: number;
  /** Batch i; batches must be taken in order 0, 1, 2, ... (the workload's writers do). */
  take(i: number): readonly OrderInput[];
}

export function orderBatches(count: number, size: number, seed: number): BatchSource {
  const next = createDataGenerator(seed);
  let taken = 0;
  return {
    batches: Math.ceil(count / size),
    events: count,
    take(i) {
      if (i !== taken) throw new Error(`orderBatches: batch ${i} taken, ${taken} expected next`);
      taken++;
      const n = Math.min(size, count - i * size);
      const batch = new Array<OrderInput>(n);
      for (let k = 0; k < n; k++) batch[k] = { type: OrderPlaced.type, data: next() };
      return batch;
    },
  };
}

/** What one append run left behind: every stream's version and total as the writers saw them. */
export interface AppendRun {
  readonly seconds: number;
  readonly conflicts: number;
  readonly versions: Int32Array;
  readonly totals: Float64Array;
}

/**
 * `writers` async writers take the next batch until none is left; writer w appends it to a random stream of its own
 * (those numbered w, w + writers, ...), telling the store the version it last saw of that stream.
 */
export async function appendWorkload(target: AppendTarget, streams: readonly string[], source: BatchSource, writers: number, check: boolean): Promise<AppendRun> {
  const versions = new Int32Array(streams.length);
  const totals = new Float64Array(streams.length);
  let next = 0;
  let conflicts = 0;
  const active = Math.min(writers, streams.length);
  const writer = async (w: number): Promise<void> => {
    const pick = random(1000 + w);
    const own = Math.ceil((streams.length - w) / active);
    for (let i = next++; i < source.batches; i = next++) {
      const s = w + active * Math.floor(pick() * own);
      const stream = streams[s]!;
      const batch = source.take(i);
      try {
        versions[s] = await target.append(stream, batch, versions[s]!, check);
        let sum = totals[s]!;
        for (const event of batch) sum += event.data.totalCents;
        totals[s] = sum;
      } catch (error) {
        if (!target.isConflict(error)) throw error;
        conflicts++;
        versions[s] = await target.version(stream);
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: active }, (_, w) => writer(w)));
  return { seconds: secondsSince(start), conflicts, versions, totals };
}

/** Not timed: every stream is at the version its writer last saw, and the versions add up to the events appended. */
export async function checkVersions(name: string, target: AppendTarget, streams: readonly string[], run: AppendRun, events: number): Promise<void> {
  let sum = 0;
  for (const [s, stream] of streams.entries()) {
    const version = await target.version(stream, run.versions[s]);
    if (version !== run.versions[s]) throw new Error(`${name}: stream ${stream} is at version ${version}, its writer last saw ${run.versions[s]}`);
    sum += version;
  }
  if (sum !== events) throw new Error(`${name}: the streams hold ${sum} events, ${events} were appended`);
  if (run.conflicts > 0) progress(`  ${name}: ${run.conflicts} version conflicts (none expected: each writer has streams of its own)`);
}

/** Stream names `prefix-000000`, `prefix-000001`, ... */
export function streamNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(6, '0')}`);
}
