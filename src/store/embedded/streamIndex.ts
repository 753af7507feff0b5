import type { EventEnvelope } from '../../events/envelope.ts';

/**
 * A run of one stream's events that sit next to each other in the log: versions `first`..`last` at positions
 * `position`..`position + last - first`. An append of n events to a stream is one run, so the index holds a row per
 * append rather than per event, and the events themselves are read from the log.
 */
export interface StreamRun {
  readonly first: number;
  readonly last: number;
  readonly position: number;
}

/** A run of a named stream, as recorded. */
export interface IndexedRun extends StreamRun {
  readonly stream: string;
  /** The run's envelopes as appended, for an index that keeps short runs' events itself (see `events` of `runs`). */
  readonly events?: readonly EventEnvelope[];
}

/** A run as `runs` returns it. */
export interface FoundRun extends StreamRun {
  /** The run's envelopes, when the index keeps them; otherwise they are read from the log. */
  readonly events?: readonly EventEnvelope[];
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
 * The embedded store's index of streams: where each stream's events are in the log (runs of versions and positions),
 * and snapshots. It trails the log: it records up to `checkpoint()` and is caught up from the log on open, so it can
 * be deleted and rebuilt at any time. Synchronous: both adapters (memory, SQLite) answer without I/O waits, which
 * keeps version checks atomic.
 */
export interface StreamIndex {
  /** Runs of at most this many events are recorded with their events (`events` of `record`); 0: never. */
  readonly keepsEvents: number;
  /** The stream's version: its number of events (0 when it does not exist). */
  version(stream: string): number;
  /**
   * Records runs of stream events. A run whose versions are already recorded is skipped; one that continues the
   * stream's last run in the log extends it. The runs of one stream come in version order.
   */
  record(runs: readonly IndexedRun[]): void;
  /** Moves the checkpoint to `next`: every stream event before that log position is recorded. */
  advance(next: number): void;
  /** The runs holding versions in [from, to], ascending or descending, at most `limit` runs. */
  runs(stream: string, from: number, to: number, direction: 'forward' | 'backward', limit: number): FoundRun[];
  /** The log position up to which every stream event is recorded. */
  checkpoint(): number;
  snapshot(stream: string): StoredSnapshot | undefined;
  saveSnapshot(stream: string, snapshot: StoredSnapshot): void;
  close(): void;
}

/** Where a run continues `last`: the stream's next version, right after it in the log. */
export function continues(last: StreamRun | undefined, run: StreamRun): boolean {
  return last !== undefined && run.first === last.last + 1 && run.position === last.position + (last.last - last.first) + 1;
}

/** An index in memory: for tests and the in-memory store. */
export function createMemoryStreamIndex(): StreamIndex {
  const streams = new Map<string, StreamRun[]>();
  const snapshots = new Map<string, StoredSnapshot>();
  let next = 0;
  return {
    keepsEvents: 0,
    version(stream) {
      const list = streams.get(stream);
      return list?.[list.length - 1]?.last ?? 0;
    },
    record(runs) {
      for (const run of runs) {
        let list = streams.get(run.stream);
        if (!list) streams.set(run.stream, (list = []));
        const last = list[list.length - 1];
        // Catch-up may see events again: keep what is recorded, take only the versions after it.
        const version = last?.last ?? 0;
        if (run.last <= version) continue;
        const first = Math.max(run.first, version + 1);
        const trimmed = { first, last: run.last, position: run.position + (first - run.first) };
        if (last && continues(last, trimmed)) list[list.length - 1] = { first: last.first, last: trimmed.last, position: last.position };
        else list.push(trimmed);
      }
    },
    advance(checkpoint) {
      next = Math.max(next, checkpoint);
    },
    runs(stream, from, to, direction, limit) {
      const list = streams.get(stream) ?? [];
      // The first run whose last version reaches `from`.
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((list[mid] as StreamRun).last < from) lo = mid + 1;
        else hi = mid;
      }
      const found: StreamRun[] = [];
      for (let i = lo; i < list.length && (list[i] as StreamRun).first <= to; i++) found.push(list[i] as StreamRun);
      if (direction === 'backward') found.reverse();
      return found.slice(0, limit);
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
