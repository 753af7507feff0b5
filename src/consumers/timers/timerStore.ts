// Durable timers for process managers: "publish this event at that time". A timer is stored before the caller
// goes on, fires by publishing its event to the log (so the reaction to it is an ordinary, at-least-once reactor
// event), and its id is remembered after it fired or was cancelled, so scheduling the same id again is a no-op.
import { z } from 'zod';
import { UnilogError } from '../../errors.ts';

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

/** Refuses a timer without a usable id or due time. */
export function checkTimer(timer: TimerRecord): void {
  if (typeof timer.id !== 'string' || timer.id.length === 0 || timer.id.length > 512) {
    throw new UnilogError('InvalidArgument', `A timer id is a string of 1 to 512 characters, not ${JSON.stringify(timer.id)}.`, { argument: 'id', reason: 'invalid' });
  }
  if (!Number.isSafeInteger(timer.dueAt)) throw new UnilogError('InvalidArgument', `Timer ${timer.id}: dueAt must be whole milliseconds since 1970, not ${String(timer.dueAt)}.`, { argument: 'dueAt', reason: 'invalid' });
}
