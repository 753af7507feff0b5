import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { UnilogError } from '../errors.ts';
import type { AnyEventDefinition } from '../events/defineEvent.ts';
import type { PublishItem, PublishItemShape, Publisher } from '../events/publisher.ts';

// Durable timers for process managers: "publish this event at that time". A timer is stored before the caller
// goes on, fires by publishing its event to the log (so the reaction to it is an ordinary, at-least-once reactor
// event), and its id is remembered after it fired or was cancelled, so scheduling the same id again is a no-op.

/** Milliseconds since the epoch; tests pass a {@link ManualClock}. */
export interface Clock {
  now(): number;
}

/** The system clock. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** A clock that only moves when told: tests advance it, then call `fireDue()`. */
export interface ManualClock extends Clock {
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
  /** Sets the clock to `ms` since the epoch. */
  set(ms: number): void;
}

/**
 * A clock for tests, standing still until advanced.
 * @example
 * const clock = createManualClock();
 * clock.advance(10 * 60_000);
 * await scheduler.fireDue();
 */
export function createManualClock(start = Date.parse('2025-01-01T00:00:00.000Z')): ManualClock {
  let now = start;
  const check = (ms: number) => {
    if (!Number.isFinite(ms)) throw new UnilogError('InvalidArgument', `A clock moves by a finite number of ms, not ${String(ms)}.`, { argument: 'ms', reason: 'not finite' });
    return ms;
  };
  return {
    now: () => now,
    advance: (ms) => (now += check(ms)),
    set: (ms) => (now = check(ms)),
  };
}

/** The event a timer publishes: a catalog type, its data, and publish options that survive storage. */
export const timerEventSchema = z.object({
  type: z.string().min(1),
  data: z.unknown(),
  key: z.string().optional(),
  correlationId: z.string().optional(),
  causationId: z.string().optional(),
});
/** The event a timer publishes, as stored. */
export type TimerEvent = z.infer<typeof timerEventSchema>;

/** A timer: an id chosen by the caller (one timer per id, ever), when it is due and what it publishes. */
export interface TimerRecord {
  readonly id: string;
  /** Milliseconds since the epoch. */
  readonly dueAt: number;
  readonly event: TimerEvent;
}

/** What became of a timer. */
export type TimerState = 'pending' | 'fired' | 'cancelled';

/** The TimerStore port: timers kept until they fire or are cancelled; the ids of fired and cancelled ones are kept too. */
export interface TimerStore {
  /** Stores a pending timer unless its id is known (pending, fired or cancelled); true when it stored it. */
  add(timer: TimerRecord): Promise<boolean>;
  /** Cancels a pending timer; true when it was pending. */
  cancel(id: string): Promise<boolean>;
  /** Pending timers due at or before `now`, earliest first (ties by id). */
  due(now: number, limit: number): Promise<TimerRecord[]>;
  /** When the earliest pending timer is due; undefined when none is pending. */
  nextDueAt(): Promise<number | undefined>;
  /** Marks a pending timer fired. */
  markFired(id: string): Promise<void>;
  /** A timer and its state, undefined when the id is unknown. */
  get(id: string): Promise<{ readonly timer: TimerRecord; readonly state: TimerState } | undefined>;
  close(): Promise<void>;
}

function checkTimer(timer: TimerRecord): void {
  if (typeof timer.id !== 'string' || timer.id.length === 0 || timer.id.length > 512) {
    throw new UnilogError('InvalidArgument', `A timer id is a string of 1 to 512 characters, not ${JSON.stringify(timer.id)}.`, { argument: 'id', reason: 'invalid' });
  }
  if (!Number.isSafeInteger(timer.dueAt)) throw new UnilogError('InvalidArgument', `Timer ${timer.id}: dueAt must be whole milliseconds since 1970, not ${String(timer.dueAt)}.`, { argument: 'dueAt', reason: 'invalid' });
}

/** Timers in memory (tests): the same semantics as the SQLite store, nothing durable. */
export function createMemoryTimerStore(): TimerStore {
  const timers = new Map<string, { timer: TimerRecord; state: TimerState }>();
  const pending = () => [...timers.values()].filter((t) => t.state === 'pending').map((t) => t.timer);
  return {
    add(timer) {
      checkTimer(timer);
      if (timers.has(timer.id)) return Promise.resolve(false);
      timers.set(timer.id, { timer: structuredClone(timer), state: 'pending' });
      return Promise.resolve(true);
    },
    cancel(id) {
      const entry = timers.get(id);
      if (entry?.state !== 'pending') return Promise.resolve(false);
      entry.state = 'cancelled';
      return Promise.resolve(true);
    },
    due(now, limit) {
      const due = pending()
        .filter((t) => t.dueAt <= now)
        .sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : 1));
      return Promise.resolve(due.slice(0, limit));
    },
    nextDueAt() {
      const all = pending().map((t) => t.dueAt);
      return Promise.resolve(all.length === 0 ? undefined : Math.min(...all));
    },
    markFired(id) {
      const entry = timers.get(id);
      if (entry?.state === 'pending') entry.state = 'fired';
      return Promise.resolve();
    },
    get(id) {
      const entry = timers.get(id);
      return Promise.resolve(entry ? { timer: entry.timer, state: entry.state } : undefined);
    },
    close: () => Promise.resolve(),
  };
}

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

/** What a timer publishes: one event of the publisher's catalog, without an id (the timer's id gives it one). */
export type ScheduledEvent<TDefs extends AnyEventDefinition> = {
  [T in TDefs['type']]: Omit<Extract<PublishItem<TDefs>, { readonly type: T }>, 'id' | 'causedBy'>;
}[TDefs['type']];

/** Options of {@link createTimerScheduler}. */
export interface TimerSchedulerOptions<TDefs extends AnyEventDefinition> {
  readonly store: TimerStore;
  /** Publishes the timers' events; its catalog checks them when they are scheduled. */
  readonly publisher: Publisher<TDefs>;
  /** @default systemClock */
  readonly clock?: Clock;
  /** The longest real wait before the store is looked at again (catches a clock set by hand). @default 60000 */
  readonly maxSleepMs?: number;
  /** Told when a due timer could not be published (it stays pending and is tried at the next wake). @default console.error */
  readonly onError?: (error: unknown, timerId: string) => void;
}

/** Fires durable timers by publishing their events. */
export interface TimerScheduler<TDefs extends AnyEventDefinition = AnyEventDefinition> {
  /** Stores a timer; a no-op when the id was ever scheduled (`scheduled: false`). */
  schedule(id: string, timer: { readonly at: number; readonly event: ScheduledEvent<TDefs> }): Promise<{ readonly scheduled: boolean }>;
  /** Cancels a pending timer; false when it already fired, was cancelled or is unknown. */
  cancel(id: string): Promise<boolean>;
  /** Publishes every pending timer due by the clock's now, earliest first; resolves with how many fired. */
  fireDue(): Promise<number>;
  /** Fires due timers now and then whenever the next one is due, on a real (unref'd) timer. */
  start(): void;
  /** Stops waking; waits for a firing in progress. Does not close the store. */
  stop(): Promise<void>;
}

/** The event id of a timer's event: the same on every firing, so consumers can recognise a repeat. */
export function timerEventId(timerId: string): string {
  return `timer.${createHash('sha256').update(timerId).digest('hex').slice(0, 40)}`;
}

/** The publish item of a stored timer event, with the timer's event id (absent options left out, not undefined). */
function publishItem(timerId: string, event: TimerEvent): PublishItemShape {
  const { type, data, key, correlationId, causationId } = event;
  return { type, data, id: timerEventId(timerId), ...(key === undefined ? {} : { key }), ...(correlationId === undefined ? {} : { correlationId }), ...(causationId === undefined ? {} : { causationId }) };
}

/**
 * Creates a scheduler over a timer store. Firing is at least once: the event is published, then the timer marked
 * fired, so a crash between the two publishes it again on restart, with the same event id ({@link timerEventId}).
 * Consumers must treat a repeated timer event as a no-op (a process manager checks it still waits for it).
 * @example
 * const scheduler = createTimerScheduler({ store: await openSqliteTimerStore({ dir }), publisher, clock });
 * await scheduler.schedule('deadline:p1:1', { at: clock.now() + 600_000, event: { type: 'photo.deadline-passed', data } });
 * scheduler.start();
 */
export function createTimerScheduler<TDefs extends AnyEventDefinition>(options: TimerSchedulerOptions<TDefs>): TimerScheduler<TDefs> {
  const { store, publisher } = options;
  const clock = options.clock ?? systemClock;
  const maxSleepMs = options.maxSleepMs ?? 60_000;
  const onError =
    options.onError ??
    ((error: unknown, timerId: string) => {
      console.error(`unilog timers: timer ${timerId} could not fire, it stays pending:`, error);
    });
  let started = false;
  // A function, not the variable: stop() may clear it while arm() awaits the store, which narrowing cannot see.
  const isStarted = () => started;
  let sleeper: NodeJS.Timeout | undefined;
  // Firings run one at a time: a wake-up and a test's fireDue() never publish the same timer twice.
  let firing: Promise<number> = Promise.resolve(0);

  const fireOnce = async (): Promise<number> => {
    let fired = 0;
    // Timers handled in this run, fired or failed: each is tried once per run, even if a store did not record it.
    const handled = new Set<string>();
    for (;;) {
      const due = (await store.due(clock.now(), 100 + handled.size)).filter((t) => !handled.has(t.id));
      if (due.length === 0) return fired;
      for (const timer of due) {
        handled.add(timer.id);
        try {
          // Stored events were checked by the same catalog when scheduled; the publisher checks them again.
          await publisher.publishBatch([publishItem(timer.id, timer.event) as PublishItem<TDefs>]);
          await store.markFired(timer.id);
          fired++;
        } catch (error) {
          onError(error, timer.id);
        }
      }
    }
  };

  const fireDue = (): Promise<number> => {
    const run = firing.then(fireOnce, fireOnce);
    firing = run.catch(() => 0);
    return run;
  };

  const arm = async (): Promise<void> => {
    if (!started) return;
    const next = await store.nextDueAt();
    clearTimeout(sleeper);
    sleeper = undefined;
    if (!isStarted() || next === undefined) return;
    const delay = Math.min(Math.max(0, next - clock.now()), maxSleepMs);
    sleeper = setTimeout(() => void wake(), delay);
    sleeper.unref();
  };

  const wake = async (): Promise<void> => {
    try {
      await fireDue();
      await arm();
    } catch (error) {
      onError(error, '(wake-up)');
      if (started) {
        sleeper = setTimeout(() => void wake(), maxSleepMs);
        sleeper.unref();
      }
    }
  };

  return {
    async schedule(id, timer) {
      const event = timerEventSchema.parse(timer.event);
      // Checked now, against the publisher's catalog: a bad event fails the caller, not a firing ten minutes later.
      publisher.prepare([publishItem(id, event)]);
      const scheduled = await store.add({ id, dueAt: timer.at, event });
      if (scheduled) await arm();
      return { scheduled };
    },
    async cancel(id) {
      const cancelled = await store.cancel(id);
      if (cancelled) await arm();
      return cancelled;
    },
    fireDue,
    start() {
      if (started) return;
      started = true;
      void wake();
    },
    async stop() {
      started = false;
      clearTimeout(sleeper);
      sleeper = undefined;
      await firing;
    },
  };
}
