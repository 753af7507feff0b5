import { createHash } from 'node:crypto';
import type { AnyEventDefinition } from '../../events/defineEvent.ts';
import type { PublishItem, PublishItemShape, Publisher } from '../../events/publisher.ts';
import { systemClock, type Clock } from './clock.ts';
import { timerEventSchema, type TimerEvent, type TimerStore } from './timerStore.ts';

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

