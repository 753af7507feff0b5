import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { UnilogError } from '../../errors.ts';
import { checkTimer, timerEventSchema, type TimerRecord, type TimerState, type TimerStore } from './timerStore.ts';

/** Options of {@link openSqliteTimerStore}. */
export interface SqliteTimerStoreOptions {
  /** The folder of `timers.sqlite` (created when missing). */
  readonly dir: string;
}

interface TimerRow {
  id: string;
  due_at: number;
  event: string;
  state: TimerState;
}

/**
 * Durable timers in `<dir>/timers.sqlite`. Writes are synchronous and fully synced: a timer that `add` accepted
 * survives a crash of the process or the machine (they are few, so the fsync costs nothing that matters).
 * @example
 * const timers = await openSqliteTimerStore({ dir: '.unilog/timers' });
 */
export function openSqliteTimerStore(options: SqliteTimerStoreOptions): Promise<TimerStore> {
  mkdirSync(options.dir, { recursive: true });
  const db = new Database(path.join(options.dir, 'timers.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS timers (id TEXT PRIMARY KEY, due_at INTEGER NOT NULL, event TEXT NOT NULL, state TEXT NOT NULL) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS pending_timers ON timers (due_at, id) WHERE state = 'pending';
  `);
  const insert = db.prepare<[string, number, string]>("INSERT OR IGNORE INTO timers (id, due_at, event, state) VALUES (?, ?, ?, 'pending')");
  const setState = db.prepare<[TimerState, string]>("UPDATE timers SET state = ? WHERE id = ? AND state = 'pending'");
  const dueRows = db.prepare<[number, number], TimerRow>("SELECT id, due_at, event, state FROM timers WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?");
  const next = db.prepare<[], { due_at: number | null }>("SELECT min(due_at) AS due_at FROM timers WHERE state = 'pending'");
  const one = db.prepare<[string], TimerRow>('SELECT id, due_at, event, state FROM timers WHERE id = ?');
  const toTimer = (row: TimerRow): TimerRecord => ({ id: row.id, dueAt: row.due_at, event: timerEventSchema.parse(JSON.parse(row.event)) });
  let closed = false;
  // better-sqlite3 is synchronous; the port is async for stores that are not. A closed store rejects.
  const run = <T>(work: () => T): Promise<T> => {
    try {
      if (closed) throw new UnilogError('LogClosed', `The timer store in ${options.dir} is closed: open it again.`, {});
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  return Promise.resolve({
    add: (timer) =>
      run(() => {
        checkTimer(timer);
        return insert.run(timer.id, timer.dueAt, JSON.stringify(timer.event)).changes === 1;
      }),
    cancel: (id) => run(() => setState.run('cancelled', id).changes === 1),
    due: (now, limit) => run(() => dueRows.all(now, limit).map(toTimer)),
    nextDueAt: () => run(() => next.get()?.due_at ?? undefined),
    markFired: (id) =>
      run(() => {
        setState.run('fired', id);
      }),
    get: (id) =>
      run(() => {
        const row = one.get(id);
        return row ? { timer: toTimer(row), state: row.state } : undefined;
      }),
    close() {
      if (!closed) db.close();
      closed = true;
      return Promise.resolve();
    },
  });
}

