import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { EventLog } from '../log/eventLog.ts';

/** Ids are remembered at least this long... */
export const idRetentionMs = 24 * 60 * 60 * 1000;
/** ...and at least this many of the newest are remembered, whatever their age. */
export const idRetentionCount = 10_000_000;
/** Recorded ids are written to SQLite at most this long after their append (the log is the truth; see below). */
const flushIntervalMs = 100;
const flushEvery = 10_000;
const pruneIntervalMs = 60_000;

/**
 * The ids of appended events, by source, so that a client retrying with the same id gets the original positions.
 * The index trails the log: it stores the position up to which it is complete, and on open it reads the log from
 * there, so ids appended just before a crash are found too. Kept in `<data>/service/ids.sqlite`.
 */
export interface IdIndex {
  /** The position of the event `id` from `source`, if it was appended within the retention. */
  lookup(source: string, id: string): number | undefined;
  /** Records appended events (positions as numbers); written to disk shortly after. */
  record(events: readonly { readonly source: string; readonly id: string }[], positions: readonly number[]): void;
  /** Writes what is pending and closes. */
  close(): void;
}

function indexKey(source: string, id: string): string {
  return `${source}\n${id}`;
}

/** Opens the id index of a data folder and brings it up to the log's head. */
export async function openIdIndex(dataFolder: string, log: EventLog, clock: () => number = Date.now): Promise<IdIndex> {
  const folder = path.join(dataFolder, 'service');
  mkdirSync(folder, { recursive: true });
  const db = new Database(path.join(folder, 'ids.sqlite'));
  db.pragma('journal_mode = WAL');
  // NORMAL is enough: the checkpoint commits with the ids, and whatever a power cut loses is read back from the log.
  db.pragma('synchronous = NORMAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS ids (key TEXT PRIMARY KEY, position INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ids_position ON ids (position);
    CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  `);
  const select = db.prepare<[string], { position: number }>('SELECT position FROM ids WHERE key = ?');
  const insert = db.prepare<[string, number, number]>('INSERT OR IGNORE INTO ids (key, position, at) VALUES (?, ?, ?)');
  const setCheckpoint = db.prepare<[number]>("INSERT INTO meta (name, value) VALUES ('checkpoint', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value");
  const getCheckpoint = db.prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'checkpoint'");
  const prune = db.prepare<[number, number]>('DELETE FROM ids WHERE at < ? AND position < ?');

  // Recorded, not yet written: looked up first.
  // Key → [position, recorded at]; the first position of a key wins, as in the table (INSERT OR IGNORE).
  let pending = new Map<string, readonly [number, number]>();
  let checkpoint = getCheckpoint.get()?.value ?? 0;
  let lastPrune = 0;
  let closed = false;

  const writeBatch = db.transaction((entries: Map<string, readonly [number, number]>, next: number) => {
    for (const [key, [position, at]] of entries) insert.run(key, position, at);
    setCheckpoint.run(next);
  });

  const flush = () => {
    if (pending.size === 0) return;
    let next = checkpoint;
    for (const [position] of pending.values()) if (position + 1 > next) next = position + 1;
    writeBatch(pending, next);
    checkpoint = next;
    pending = new Map();
    const now = clock();
    if (now - lastPrune > pruneIntervalMs) {
      lastPrune = now;
      prune.run(now - idRetentionMs, checkpoint - idRetentionCount);
    }
  };
  const timer = setInterval(flush, flushIntervalMs);
  timer.unref();

  const record = (events: readonly { readonly source: string; readonly id: string }[], positions: readonly number[]) => {
    const now = clock();
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as { source: string; id: string };
      const key = indexKey(event.source, event.id);
      if (!pending.has(key)) pending.set(key, [positions[i] as number, now]);
    }
    if (pending.size >= flushEvery) flush();
  };

  // Catch up with the log: ids appended after the last flush (a crash loses at most those) are read back.
  const head = Number(await log.head());
  for (let from = checkpoint; from < head; ) {
    const page = await log.read({ from: String(from), limit: 1000 });
    if (page.events.length === 0) break;
    record(
      page.events.map((e) => e.event),
      page.events.map((e) => Number(e.position)),
    );
    from = Number(page.next);
  }
  flush();

  return {
    lookup(source, id) {
      const key = indexKey(source, id);
      return pending.get(key)?.[0] ?? select.get(key)?.position;
    },
    record,
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      flush();
      db.close();
    },
  };
}
