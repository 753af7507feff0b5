import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { EventEnvelope } from '../../events/envelope.ts';
import { continues, type FoundRun, type StreamIndex, type StreamRun } from './streamIndex.ts';

/** Streams whose last run was looked up recently, kept in memory (the table answers the rest). */
const lastRunCacheSize = 100_000;
/** Rows written before the open transaction is committed. */
const commitRows = 5000;
/** An open transaction is committed this long after its first write, at the latest. */
const commitDelayMs = 200;
/** The layout of the tables; an index of another layout is dropped and rebuilt from the log. */
const layout = 2;
/**
 * Runs of at most this many events keep their events' JSON in the row. A stream made of short appends (the usual
 * event-sourcing command appends one to three events) is scattered over the log, one read per run; its rows keep its
 * events together instead. Longer runs are read from the log, where each is one read.
 */
const inlineRunEvents = 4;

/**
 * The file store's stream index: `<dir>/streams.sqlite`, one row per run of a stream's events in the log (stream,
 * first and last version, position of the first, and for short runs their events' JSON), so reading a stream costs
 * its number of appends, and the events of long runs are read from the log. Derived from the log, so it is written
 * cheaply: `synchronous = OFF`, and one transaction stays open across many appends (committed every few thousand
 * rows, 200 ms after a write, and on close). A crash loses at most what was not committed, and that is read back from
 * the log on open (the checkpoint commits with the rows).
 */
export function openSqliteStreamIndex(dir: string): StreamIndex {
  mkdirSync(dir, { recursive: true });
  const db = new Database(path.join(dir, 'streams.sqlite'));
  db.pragma('journal_mode = WAL');
  // NORMAL syncs only at WAL checkpoints (almost free) and keeps the file sound through a power cut; the rows
  // themselves may be lost then, and are read back from the log on open.
  db.pragma('synchronous = NORMAL');
  // Rows of many streams change between commits: keep their pages in memory until then (16 MiB).
  db.pragma('cache_size = -16384');
  db.exec('CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID');
  const found = db.prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'layout'").get()?.value;
  if (found !== layout) {
    // Layout 1 kept every event's JSON: its rows are dropped and the index is rebuilt from the log on open.
    db.exec(`
      DROP TABLE IF EXISTS events;
      DROP TABLE IF EXISTS runs;
      DELETE FROM meta WHERE name = 'checkpoint';
    `);
    db.prepare("INSERT INTO meta (name, value) VALUES ('layout', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value").run(layout);
  }
  db.exec(`
    CREATE TABLE IF NOT EXISTS runs (stream TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, position INTEGER NOT NULL, json TEXT, PRIMARY KEY (stream, first)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS snapshots (stream TEXT PRIMARY KEY, version INTEGER NOT NULL, tag INTEGER NOT NULL, state TEXT NOT NULL) WITHOUT ROWID;
  `);
  const insert = db.prepare<[string, number, number, number, string | null]>('INSERT OR REPLACE INTO runs (stream, first, last, position, json) VALUES (?, ?, ?, ?, ?)');
  // A run that grows keeps inline JSON only while both parts have it (and the whole stays short).
  const extend = db.prepare<[{ last: number; json: string | null; stream: string; first: number }]>(
    'UPDATE runs SET last = @last, json = CASE WHEN @json IS NULL OR json IS NULL THEN NULL ELSE json || char(10) || @json END WHERE stream = @stream AND first = @first',
  );
  const lastRun = db.prepare<[string], StreamRun>('SELECT first, last, position FROM runs WHERE stream = ? ORDER BY first DESC LIMIT 1');
  // The run holding `from` and those after it up to `to`: the key is (stream, first), so both bounds are index seeks.
  const window = 'stream = @stream AND first <= @to AND first >= coalesce((SELECT max(first) FROM runs WHERE stream = @stream AND first <= @from), 0)';
  type Window = { stream: string; from: number; to: number; limit: number };
  type Row = StreamRun & { json: string | null };
  const forward = db.prepare<[Window], Row>(`SELECT first, last, position, json FROM runs WHERE ${window} ORDER BY first ASC LIMIT @limit`);
  const backward = db.prepare<[Window], Row>(`SELECT first, last, position, json FROM runs WHERE ${window} ORDER BY first DESC LIMIT @limit`);
  const setCheckpoint = db.prepare<[number]>("INSERT INTO meta (name, value) VALUES ('checkpoint', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value");
  const getCheckpoint = db.prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'checkpoint'");
  const getSnapshot = db.prepare<[string], { version: number; tag: number; state: string }>('SELECT version, tag, state FROM snapshots WHERE stream = ?');
  const putSnapshot = db.prepare<[string, number, number, string]>('INSERT INTO snapshots (stream, version, tag, state) VALUES (?, ?, ?, ?) ON CONFLICT (stream) DO UPDATE SET version = excluded.version, tag = excluded.tag, state = excluded.state');
  const begin = db.prepare('BEGIN');
  const commitStatement = db.prepare('COMMIT');

  /** The last run of recently used streams; `null` for a stream with no events. */
  const lastRuns = new Map<string, StreamRun | null>();
  let checkpoint = getCheckpoint.get()?.value ?? 0;
  let committedCheckpoint = checkpoint;
  let pendingRows = 0;
  let timer: NodeJS.Timeout | undefined;
  /** Set when a write failed: SQLite rolled the open transaction back, so its rows are gone and the index stops. */
  let failure: Error | undefined;

  /** Forgets what the failed transaction held (rows, cached runs, checkpoint) and keeps the error for every later call. */
  const fail = (error: unknown): Error => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    try {
      if (db.inTransaction) db.exec('ROLLBACK');
    } catch {
      // SQLite may have rolled back already; the checkpoint below is what the file holds either way.
    }
    lastRuns.clear();
    checkpoint = committedCheckpoint;
    pendingRows = 0;
    failure ??= error instanceof Error ? error : new Error(String(error));
    return failure;
  };
  /** Runs a write; a failure leaves the index at its last commit and refuses everything after. */
  const guarded = <T>(work: () => T): T => {
    if (failure) throw failure;
    try {
      return work();
    } catch (error) {
      throw fail(error);
    }
  };

  const remember = (stream: string, run: StreamRun | null) => {
    lastRuns.delete(stream);
    lastRuns.set(stream, run);
    if (lastRuns.size > lastRunCacheSize) lastRuns.delete(lastRuns.keys().next().value as string);
  };
  const lastOf = (stream: string): StreamRun | null => {
    const cached = lastRuns.get(stream);
    if (cached !== undefined) return cached;
    const row = lastRun.get(stream) ?? null;
    remember(stream, row);
    return row;
  };
  const commit = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!db.inTransaction) return;
    if (checkpoint !== committedCheckpoint) setCheckpoint.run(checkpoint);
    commitStatement.run();
    committedCheckpoint = checkpoint;
    pendingRows = 0;
  };
  const write = () => {
    if (!db.inTransaction) {
      begin.run();
      timer = setTimeout(() => {
        // A failed timed commit is kept and reported by the next call (an append or close), not thrown here.
        try {
          guarded(commit);
        } catch {
          // kept in `failure`
        }
      }, commitDelayMs);
      // A pending commit must not keep the process alive: what it would write is read back from the log on open.
      timer.unref();
    }
  };

  return {
    keepsEvents: inlineRunEvents,
    version: (stream) => guarded(() => lastOf(stream)?.last ?? 0),
    record(runs) {
      guarded(() => {
        if (runs.length === 0) return;
        write();
        for (const run of runs) {
          const last = lastOf(run.stream);
          // Catch-up may see events again: keep what is recorded, take only the versions after it.
          const version = last?.last ?? 0;
          if (run.last <= version) continue;
          const first = Math.max(run.first, version + 1);
          const trimmed = { first, last: run.last, position: run.position + (first - run.first) };
          const grows = last !== null && continues(last, trimmed);
          const whole = grows ? trimmed.last - last.first + 1 : trimmed.last - trimmed.first + 1;
          // Events are JSON-safe (the publisher checked them) and JSON text has no raw newline: one per line.
          const json = run.events && whole <= inlineRunEvents ? run.events.slice(first - run.first).map((event) => JSON.stringify(event)).join('\n') : null;
          if (grows) {
            extend.run({ last: trimmed.last, json, stream: run.stream, first: last.first });
            remember(run.stream, { first: last.first, last: trimmed.last, position: last.position });
          } else {
            insert.run(run.stream, trimmed.first, trimmed.last, trimmed.position, json);
            remember(run.stream, trimmed);
          }
          pendingRows++;
        }
        if (pendingRows >= commitRows) commit();
      });
    },
    advance(next) {
      guarded(() => {
        if (next <= checkpoint) return;
        checkpoint = next;
        write();
      });
    },
    runs: (stream, from, to, direction, limit) =>
      guarded(() =>
        (direction === 'forward' ? forward : backward).all({ stream, from, to, limit }).map(({ first, last, position, json }): FoundRun =>
          json === null ? { first, last, position } : { first, last, position, events: json.split('\n').map((line) => JSON.parse(line) as EventEnvelope) },
        ),
      ),
    checkpoint: () => checkpoint,
    snapshot(stream) {
      const row = getSnapshot.get(stream);
      return row ? { version: row.version, tag: row.tag, state: JSON.parse(row.state) as unknown } : undefined;
    },
    saveSnapshot(stream, snapshot) {
      putSnapshot.run(stream, snapshot.version, snapshot.tag, JSON.stringify(snapshot.state));
    },
    close() {
      try {
        if (!failure) guarded(commit);
      } finally {
        db.close();
      }
      // What the failed transaction held is in the log: the next open reads it back. Say so rather than hide it.
      if (failure) throw failure;
    },
  };
}
