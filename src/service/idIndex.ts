import type { Position } from '../log/eventLog.ts';

/** Ids are remembered at least this long... */
export const idRetentionMs = 24 * 60 * 60 * 1000;
/** ...and at least this many of the newest are remembered, whatever their age (the SQLite index; DynamoDB keeps every id for the retention). */
export const idRetentionCount = 10_000_000;

/** An event's id as the service dedupes it: per producer, which is the event's `source`. */
export interface ClientId {
  readonly source: string;
  readonly id: string;
}

/** The answer to a claim: the id is this writer's to append, or it was appended before, at `position`. */
export type IdClaim = { readonly claimed: true } | { readonly claimed: false; readonly position: Position };

/** An appended event, for {@link IdIndex.record}. */
export interface AppendedId extends ClientId {
  readonly position: Position;
  /** Whether the writer claimed the id (the client chose it) rather than generated it. */
  readonly claimed: boolean;
}

/**
 * The ids of appended events, so that a client retrying with the same id gets the original positions: the port the
 * service dedupes through. Adapters: SQLite in the data folder (`openSqliteIdIndex`, which trails the log and catches
 * up from it on open) and a DynamoDB table (`createDynamoIdIndex` on `unilog/aws`, which several services share).
 * The writer claims the client ids of a request before appending it, records the positions after, and releases the
 * claims when the append fails. Within one process the writer never claims an id twice at once.
 * @see docs/http-api.md
 */
export interface IdIndex {
  /** Claims each id for appending, or answers with the position it was appended at; waits while another process holds a claim. */
  claim(ids: readonly ClientId[]): Promise<readonly IdClaim[]>;
  /** Records appended events (claimed ids and generated ones) with their positions; repeats of claimed ids answer with them from now on. */
  record(appended: readonly AppendedId[]): Promise<void>;
  /** Gives claims back after their append failed, so that a retry can claim them. */
  release(ids: readonly ClientId[]): Promise<void>;
  /** Writes what is pending and closes. */
  close(): Promise<void>;
}

/** The key of an id in an index: producer names (sources) hold no line feed, so the key is unambiguous. */
export function idKey(id: ClientId): string {
  return `${id.source}\n${id.id}`;
}
