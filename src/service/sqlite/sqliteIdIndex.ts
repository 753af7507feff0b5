import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { UnilogError } from '../../errors.ts';
import type { EventLog } from '../../log/eventLog.ts';
import { idKey, idRetentionCount, idRetentionMs, type IdIndex } from '../idIndex.ts';

/** Recorded ids are written to SQLite at most this long after their append (the log is the truth; see below). */
const flushIntervalMs = 100;
const flushEvery = 10_000;
const pruneIntervalMs = 60_000;

/**
 * The id index of a data folder, in `<data>/service/ids.sqlite`, for logs with one total order (positions are
 * integers). It trails the log: it stores the position up to which it is complete, and on open it reads the log from
 * there, so ids appended just before a crash are found too. Claims live in the writer's memory only: the file log has
 * one writer, and the log itself is the record of what was appended.
 */
export async function openSqliteIdIndex(dataFolder: string, log: EventLog, clock: () => number = Date.now): Promise<IdIndex> {
  if (log.capabilities.ordering !== 'total') {
    throw new UnilogError('InvalidArgument', 'The data folder\'s id index needs a log with one total order (file or memory): give the service a shared id index for a partitioned log (createDynamoIdIndex on unilog/aws).', { argument: 'log', reason: 'per-key ordering' });
  }
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

  const record = (events: readonly { readonly source: string; readonly id: string; readonly position: string }[]) => {
    const now = clock();
    for (const event of events) {
      const key = idKey(event);
      if (!pending.has(key)) pending.set(key, [Number(event.position), now]);
    }
    if (pending.size >= flushEvery) flush();
  };
  const lookup = (key: string): number | undefined => pending.get(key)?.[0] ?? select.get(key)?.position;

  // Catch up with the log: ids appended after the last flush (a crash loses at most those) are read back.
  const head = Number(await log.head());
  for (let from = checkpoint; from < head; ) {
    const page = await log.read({ from: String(from), limit: 1000 });
    if (page.events.length === 0) break;
    record(page.events.map((e) => ({ source: e.event.source, id: e.event.id, position: e.position })));
    from = Number(page.next);
  }
  flush();

  return {
    claim(ids) {
      return Promise.resolve(
        ids.map((id) => {
          const position = lookup(idKey(id));
          return position === undefined ? { claimed: true } : { claimed: false, position: String(position) };
        }),
      );
    },
    record(appended) {
      record(appended);
      return Promise.resolve();
    },
    // Nothing to give back: a claim here is the writer's in-memory registration.
    release: () => Promise.resolve(),
    close() {
      if (!closed) {
        closed = true;
        clearInterval(timer);
        flush();
        db.close();
      }
      return Promise.resolve();
    },
  };
}
