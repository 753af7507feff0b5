/** Durable timers for process managers (see timerStore.ts); one module for the public entry. */
export { systemClock, createManualClock } from './clock.ts';
export type { Clock, ManualClock } from './clock.ts';
export { timerEventSchema } from './timerStore.ts';
export type { TimerStore, TimerRecord, TimerEvent, TimerState } from './timerStore.ts';
export { createMemoryTimerStore } from './memory.ts';
export { openSqliteTimerStore } from './sqlite.ts';
export type { SqliteTimerStoreOptions } from './sqlite.ts';
export { createTimerScheduler, timerEventId } from './scheduler.ts';
export type { TimerScheduler, TimerSchedulerOptions, ScheduledEvent } from './scheduler.ts';
