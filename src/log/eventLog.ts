import type { EventEnvelope } from '../events/envelope.ts';

/**
 * Where an event sits in the log, as an opaque string. Embedded logs (memory, file) use the decimal global
 * sequence number: `"0"` is the first event ever appended, and positions grow by one in one total order.
 * Partitioned logs (Kinesis) encode the partition and its sequence number.
 * @see docs/architecture.md#positions-and-cursors
 */
export type Position = string;

/** An event as read back from the log. */
export interface StoredEvent {
  /** The event's position; `read({ from: position })` starts at this event. */
  readonly position: Position;
  /** The CloudEvents envelope, exactly as appended. */
  readonly event: EventEnvelope;
}

/** The result of {@link EventLog.append}. */
export interface AppendResult {
  /** The position of each appended event, in the order given. */
  readonly positions: readonly Position[];
}

/** Options of {@link EventLog.read}. */
export interface ReadOptions {
  /** The first position to read, inclusive. @default the start of the log */
  readonly from?: Position;
  /** At most this many events. @default 1000 */
  readonly limit?: number;
}

/** The result of {@link EventLog.read}. */
export interface ReadResult {
  readonly events: readonly StoredEvent[];
  /** The position to read from next: after the last event returned, or `from` when none was. */
  readonly next: Position;
}

/** Options of {@link EventLog.subscribe}. */
export interface SubscribeOptions {
  /** The first position to deliver, inclusive. @default the start of the log */
  readonly from?: Position;
  /** Called once per event, in log order; the next event waits until the returned promise settles. */
  readonly handler: (event: StoredEvent) => void | Promise<void>;
  /** Events fetched per read while catching up. @default 1000 */
  readonly batchSize?: number;
}

/** A running subscription. */
export interface Subscription {
  /** The position the subscription will deliver next. */
  readonly position: Position;
  /** Stops delivering after the current event; resolves when the handler has returned. */
  stop(): Promise<void>;
  /** Settles when the subscription ends: resolves after `stop()`, rejects with the handler's or the log's error. */
  readonly done: Promise<void>;
}

/**
 * How a log's positions relate, so that a consumer can keep a checkpoint and wait for a write on any adapter. A reader
 * position (a checkpoint, `read`'s `next`, `head()`) says where reading resumes; an event position says where one
 * event sits.
 */
export interface PositionOrder {
  /** The reader position before any event: the start of the log. */
  readonly start: Position;
  /** The reader position after it processed the event at `event`, coming from `from`. */
  after(from: Position, event: Position): Position;
  /** Whether a reader at `at` has processed every event before `target` (another reader position). */
  reached(at: Position, target: Position): boolean;
  /** The number of events between two reader positions, when the log can count them without reading (total order). */
  count(from: Position, to: Position): number | undefined;
}

/** What a log adapter guarantees about order. */
export interface EventLogCapabilities {
  /** `total`: one order over all events (positions compare as integers). `per-key`: order only among events of one partition key. */
  readonly ordering: 'total' | 'per-key';
  /** The log's position arithmetic. */
  readonly positions: PositionOrder;
}

/**
 * The unified, append-only event log. Every adapter keeps events of one partition key (`subject`) in append order.
 * @see docs/architecture.md
 */
export interface EventLog {
  readonly capabilities: EventLogCapabilities;
  /** Appends a batch atomically (all events or none); resolves once they are durable, with their positions. */
  append(events: readonly EventEnvelope[]): Promise<AppendResult>;
  /** Reads up to `limit` acknowledged events from `from` on. */
  read(options?: ReadOptions): Promise<ReadResult>;
  /** Delivers every event from `from` on: history first, then live, with no gap and no duplicate between them. */
  subscribe(options: SubscribeOptions): Subscription;
  /** The position the next appended event will get: reading from it returns nothing yet. */
  head(): Promise<Position>;
  /** Waits for pending appends, stops subscriptions and releases files or connections. */
  close(): Promise<void>;
}
