import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { EventEnvelope } from '../../events/envelope.ts';
import type { IndexedEvent, StreamIndex } from './streamIndex.ts';

/** Versions of streams looked up recently, kept in memory (the table answers the rest). */
const versionCacheSize = 100_000;

/**
 * The file store's stream index: `<dir>/streams.sqlite`, one row per stream event (stream, version, position and the
 * envelope's JSON), so reading a stream costs its length, not the log's. Derived from the log: `synchronous = OFF`
 * is enough, since whatever a crash loses is read back from the log on open (the checkpoint commits with the rows).
 */
export function openSqliteStreamIndex(dir: string): StreamIndex {
  mkdirSync(dir, { recursive: true });
  const db = new Database(path.join(dir, 'streams.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.exec(`
    CREATE TABLE IF NOT EXISTS events (stream TEXT NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (stream, version)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS snapshots (stream TEXT PRIMARY KEY, version INTEGER NOT NULL, tag INTEGER NOT NULL, state TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  `);
  const insert = db.prepare<[string, number, number, string]>('INSERT OR IGNORE INTO events (stream, version, position, json) VALUES (?, ?, ?, ?)');
  const maxVersion = db.prepare<[string], { version: number | null }>('SELECT max(version) AS version FROM events WHERE stream = ?');
  const forward = db.prepare<[string, number, number, number], { version: number; position: number; json: string }>(
    'SELECT version, position, json FROM events WHERE stream = ? AND version >= ? AND version <= ? ORDER BY version ASC LIMIT ?',
  );
  const backward = db.prepare<[string, number, number, number], { version: number; position: number; json: string }>(
    'SELECT version, position, json FROM events WHERE stream = ? AND version >= ? AND version <= ? ORDER BY version DESC LIMIT ?',
  );
  const setCheckpoint = db.prepare<[number]>("INSERT INTO meta (name, value) VALUES ('checkpoint', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value");
  const getCheckpoint = db.prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'checkpoint'");
  const getSnapshot = db.prepare<[string], { version: number; tag: number; state: string }>('SELECT version, tag, state FROM snapshots WHERE stream = ?');
  const putSnapshot = db.prepare<[string, number, number, string]>('INSERT INTO snapshots (stream, version, tag, state) VALUES (?, ?, ?, ?) ON CONFLICT (stream) DO UPDATE SET version = excluded.version, tag = excluded.tag, state = excluded.state');

  const versions = new Map<string, number>();
  let checkpoint = getCheckpoint.get()?.value ?? 0;
  const remember = (stream: string, version: number) => {
    versions.delete(stream);
    versions.set(stream, version);
    if (versions.size > versionCacheSize) versions.delete(versions.keys().next().value as string);
  };
  const write = db.transaction((events: readonly IndexedEvent[], next: number) => {
    for (const e of events) insert.run(e.stream, e.version, e.position, JSON.stringify(e.event));
    setCheckpoint.run(next);
  });
  const rows = (stream: string, list: { version: number; position: number; json: string }[]): IndexedEvent[] =>
    list.map((row) => ({ stream, version: row.version, position: row.position, event: JSON.parse(row.json) as EventEnvelope }));

  return {
    version(stream) {
      const cached = versions.get(stream);
      if (cached !== undefined) return cached;
      const version = maxVersion.get(stream)?.version ?? 0;
      remember(stream, version);
      return version;
    },
    record(events, next) {
      write(events, Math.max(next, checkpoint));
      checkpoint = Math.max(next, checkpoint);
      for (const e of events) if (e.version > (versions.get(e.stream) ?? 0)) remember(e.stream, e.version);
    },
    read(stream, from, to, direction, limit) {
      return rows(stream, (direction === 'forward' ? forward : backward).all(stream, from, to, limit));
    },
    checkpoint: () => checkpoint,
    snapshot(stream) {
      const row = getSnapshot.get(stream);
      return row ? { version: row.version, tag: row.tag, state: JSON.parse(row.state) as unknown } : undefined;
    },
    saveSnapshot(stream, snapshot) {
      putSnapshot.run(stream, snapshot.version, snapshot.tag, JSON.stringify(snapshot.state));
    },
    close() {
      db.close();
    },
  };
}
