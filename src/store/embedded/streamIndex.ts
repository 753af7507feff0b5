import type { EventEnvelope } from '../../events/envelope.ts';

/** One indexed stream event: where it is in the log, and its envelope (kept so that a stream reads in one lookup). */
export interface IndexedEvent {
  readonly stream: string;
  readonly version: number;
  readonly position: number;
  readonly event: EventEnvelope;
}

/** A stored snapshot of a stream's state. */
export interface StoredSnapshot {
  /** The stream version the state includes. */
  readonly version: number;
  /** The version of the fold that made it. */
  readonly tag: number;
  readonly state: unknown;
}

/**
 * The embedded store's index of streams: each stream's events by version, and snapshots. It trails the log: it
 * records up to `checkpoint()` and is caught up from the log on open, so it can be deleted and rebuilt at any time.
 * Synchronous: both adapters (memory, SQLite) answer without I/O waits, which keeps version checks atomic.
 */
export interface StreamIndex {
  /** The stream's version: its number of events (0 when it does not exist). */
  version(stream: string): number;
  /** Records appended events and moves the checkpoint to `next` (the log position after them), in one step. */
  record(events: readonly IndexedEvent[], next: number): void;
  /** Events of a stream with versions in [from, to], ascending or descending, at most `limit`. */
  read(stream: string, from: number, to: number, direction: 'forward' | 'backward', limit: number): IndexedEvent[];
  /** The log position up to which every stream event is recorded. */
  checkpoint(): number;
  snapshot(stream: string): StoredSnapshot | undefined;
  saveSnapshot(stream: string, snapshot: StoredSnapshot): void;
  close(): void;
}

/** An index in memory: for tests and the in-memory store. */
export function createMemoryStreamIndex(): StreamIndex {
  const streams = new Map<string, IndexedEvent[]>();
  const snapshots = new Map<string, StoredSnapshot>();
  let next = 0;
  return {
    version: (stream) => streams.get(stream)?.length ?? 0,
    record(events, checkpoint) {
      for (const event of events) {
        let list = streams.get(event.stream);
        if (!list) streams.set(event.stream, (list = []));
        // Catch-up may see an event again: versions are positions in the list, so keep the first.
        if (event.version === list.length + 1) list.push(event);
      }
      next = Math.max(next, checkpoint);
    },
    read(stream, from, to, direction, limit) {
      const list = streams.get(stream) ?? [];
      const low = Math.max(1, from);
      const high = Math.min(list.length, to);
      if (low > high) return [];
      const slice = list.slice(low - 1, high);
      if (direction === 'backward') slice.reverse();
      return slice.slice(0, limit);
    },
    checkpoint: () => next,
    snapshot: (stream) => snapshots.get(stream),
    saveSnapshot(stream, snapshot) {
      snapshots.set(stream, structuredClone(snapshot));
    },
    close() {
      // Nothing to release.
    },
  };
}
