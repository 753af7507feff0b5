import type { EventEnvelope } from '../events/envelope.ts';
import type { Position } from '../log/eventLog.ts';

/** A view row: a plain JSON object. */
export type Row = Readonly<Record<string, unknown>>;

/** How one view table is laid out: the row field that is its key, and the fields that are indexed. */
export interface TableLayout {
  /** The row field holding the primary key (a string). */
  readonly key: string;
  /** Row fields with a secondary index, queryable with `query(table, { index, value })`. @default [] */
  readonly indexes: readonly string[];
}

/** The tables of one view database, by name. */
export type ViewLayout = Readonly<Record<string, TableLayout>>;

/** Where a consumer is: the position of the next event to process, and the projection version it was built by. */
export interface Checkpoint {
  readonly position: Position;
  readonly version: number;
}

/** A poison event, kept with what went wrong. */
export interface DeadLetter {
  /** The position of the event in the log. */
  readonly position: Position;
  readonly event: EventEnvelope;
  /** The handler's error message (and code, when it had one). */
  readonly error: { readonly message: string; readonly name: string; readonly code?: string };
  /** How many times the handler was tried. */
  readonly attempts: number;
  /** When it was dead-lettered (ISO 8601). */
  readonly at: string;
  /** `parked`: later events of its key wait behind it; `skipped`: they go on. */
  readonly mode: 'parked' | 'skipped';
}

/** An event of a parked key, waiting behind its dead letter. */
export interface ParkedEvent {
  readonly position: Position;
  readonly event: EventEnvelope;
}

/** The changes of one batch, applied together with the checkpoint. */
export interface ViewChanges {
  /** Rows written (`row`) or deleted (`row: null`), last write per table and key wins. */
  readonly rows: readonly { readonly table: string; readonly key: string; readonly row: Row | null }[];
  readonly deadLetters?: { readonly add?: readonly DeadLetter[]; readonly remove?: readonly Position[] };
  readonly parked?: { readonly add?: readonly ParkedEvent[]; readonly remove?: readonly Position[] };
  /** Dead-letter actions for the audit trail (`unilog dead-letters` shows them). */
  readonly audit?: readonly DeadLetterAudit[];
}

/** One recorded dead-letter action. */
export interface DeadLetterAudit {
  readonly at: string;
  readonly position: Position;
  readonly action: 'dead-lettered' | 'retried' | 'dropped' | 'parked' | 'released';
  readonly detail: string;
}

/** Options of {@link ViewStore.query}. */
export interface QueryOptions {
  /** An indexed field of the table. */
  readonly index: string;
  /** The value the field must equal. */
  readonly value: string | number | boolean;
  /** @default 1000 */
  readonly limit?: number;
}

/**
 * One view database: the rows of one projection's tables, its checkpoint, dead letters and parked events.
 * `commit` applies a batch's changes and the new checkpoint atomically: all of them, or none.
 * @see docs/projections.md
 */
export interface ViewStore {
  get(table: string, key: string): Promise<Row | undefined>;
  query(table: string, options: QueryOptions): Promise<Row[]>;
  /** Every row of a table in key order, a page at a time. */
  scan(table: string, options?: { readonly after?: string; readonly limit?: number }): Promise<Row[]>;
  /** The stored checkpoint, or undefined for a new store. */
  checkpoint(): Promise<Checkpoint | undefined>;
  commit(changes: ViewChanges, checkpoint: Checkpoint): Promise<void>;
  deadLetters(): Promise<DeadLetter[]>;
  parked(subject?: string): Promise<ParkedEvent[]>;
  audit(): Promise<DeadLetterAudit[]>;
  close(): Promise<void>;
}

/** Where a projection's view copies live: opens copies and switches which one serves reads, atomically. */
export interface ViewStorage {
  /** Opens (creating when needed) the copy named `copy` of the projection's view. */
  open(projection: string, copy: string, layout: ViewLayout): Promise<ViewStore>;
  /** The copy that serves reads, or undefined before the first one is made. */
  current(projection: string): Promise<string | undefined>;
  /** Makes `copy` the one that serves reads, in one atomic step. */
  setCurrent(projection: string, copy: string): Promise<void>;
  /** Deletes a copy that no longer serves reads. */
  drop(projection: string, copy: string): Promise<void>;
}
