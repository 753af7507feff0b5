import { checkTimer, type TimerRecord, type TimerState, type TimerStore } from './timerStore.ts';

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

