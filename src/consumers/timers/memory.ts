import { UnilogError } from '../../errors.ts';
import { checkTimer, type TimerRecord, type TimerState, type TimerStore } from './timerStore.ts';

/** Timers in memory (tests): the same semantics as the SQLite store, nothing durable. */
export function createMemoryTimerStore(): TimerStore {
  const timers = new Map<string, { timer: TimerRecord; state: TimerState }>();
  const pending = () => [...timers.values()].filter((t) => t.state === 'pending').map((t) => t.timer);
  let closed = false;
  // Every call settles as a promise: a bad timer or a closed store rejects, as the durable stores do.
  const run = <T>(work: () => T): Promise<T> => {
    try {
      if (closed) throw new UnilogError('LogClosed', 'The memory timer store is closed: create a new one.', {});
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  return {
    add: (timer) =>
      run(() => {
        checkTimer(timer);
        if (timers.has(timer.id)) return false;
        timers.set(timer.id, { timer: structuredClone(timer), state: 'pending' });
        return true;
      }),
    cancel: (id) =>
      run(() => {
        const entry = timers.get(id);
        if (entry?.state !== 'pending') return false;
        entry.state = 'cancelled';
        return true;
      }),
    due: (now, limit) =>
      run(() =>
        pending()
          .filter((t) => t.dueAt <= now)
          .sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : 1))
          .slice(0, limit),
      ),
    nextDueAt: () =>
      run(() => {
        const all = pending().map((t) => t.dueAt);
        return all.length === 0 ? undefined : Math.min(...all);
      }),
    markFired: (id) =>
      run(() => {
        const entry = timers.get(id);
        if (entry?.state === 'pending') entry.state = 'fired';
      }),
    get: (id) =>
      run(() => {
        const entry = timers.get(id);
        return entry ? { timer: entry.timer, state: entry.state } : undefined;
      }),
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}
