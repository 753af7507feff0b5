import type { EventOf } from '../events/catalog.ts';
import type { AnyEventDefinition, EventData, EventInput } from '../events/defineEvent.ts';
import type { EventEnvelope, TypedEventEnvelope } from '../events/envelope.ts';
import type { Position } from '../log/eventLog.ts';

/**
 * What a writer expects of a stream before its append: its exact version (its number of events; `0` is the same
 * as `'no_stream'`), that it does not exist yet, that it exists, or nothing (`'any'`).
 */
export type ExpectedVersion = number | 'no_stream' | 'stream_exists' | 'any';

/** One event to append to a stream: a catalog type and its data (the partition key is the stream id). */
export type StreamEventInput<TDefs extends AnyEventDefinition> = {
  [T in TDefs['type']]: { readonly type: T; readonly data: EventInput<EventOf<TDefs, T>>; readonly id?: string; readonly correlationId?: string; readonly causationId?: string };
}[TDefs['type']];

/** A stored event of a stream: its envelope (with `streamid` and `streamversion`) and its position in the unified log. */
export interface StreamEvent<TEvent = EventEnvelope> {
  readonly position: Position;
  readonly streamVersion: number;
  readonly event: TEvent;
}

/** The envelope type of the events of a catalog, as a union over its types. */
export type StreamEnvelope<TDefs extends AnyEventDefinition> = {
  [T in TDefs['type']]: TypedEventEnvelope<T, EventData<EventOf<TDefs, T>>>;
}[TDefs['type']];

/** Options of `readStream`. */
export interface ReadStreamOptions {
  /** The first stream version to return: forward from 1 by default, backward from the newest. */
  readonly from?: number;
  /** @default 'forward' */
  readonly direction?: 'forward' | 'backward';
  /** At most this many events. @default all */
  readonly limit?: number;
}

/** Snapshots for `aggregateStream`: a stored state every `every` events, valid only for the same `version` of the fold. */
export interface SnapshotOptions {
  /** Store a snapshot when the stream has grown this many events past the last one. */
  readonly every: number;
  /** The version of the fold (a decider's version): a snapshot of another version is ignored. */
  readonly version: number;
}

/** Options of `aggregateStream`. */
export interface AggregateOptions<TState, TEvent> {
  readonly initialState: () => TState;
  readonly evolve: (state: TState, event: TEvent) => TState;
  readonly snapshots?: SnapshotOptions;
}

/** The result of an append: the stream's new version and the events' positions in the unified log. */
export interface AppendToStreamResult {
  readonly nextExpectedVersion: number;
  readonly positions: readonly Position[];
}

/**
 * The EventStore port: per-entity streams with optimistic concurrency, over the unified log. Appended events carry
 * `streamid` and `streamversion` and are events of the log like any other, so projections consume them.
 */
export interface EventStore<TDefs extends AnyEventDefinition = AnyEventDefinition> {
  /** Appends events to a stream if its version is `expectedVersion`; else throws `ConcurrencyConflict` and appends nothing. */
  appendToStream(streamId: string, events: readonly StreamEventInput<TDefs>[], options?: { readonly expectedVersion?: ExpectedVersion }): Promise<AppendToStreamResult>;
  /** A stream's events in version order (or backward), and its current version (0 when it does not exist). */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<{ readonly version: number; readonly events: StreamEvent<StreamEnvelope<TDefs>>[] }>;
  /** Folds a stream into a state, from its newest valid snapshot when `snapshots` is given. */
  aggregateStream<TState>(streamId: string, options: AggregateOptions<TState, StreamEnvelope<TDefs>>): Promise<{ readonly state: TState; readonly version: number }>;
  /** Finishes pending appends and closes the store's index (not the log). */
  close(): Promise<void>;
}
