import { UnilogError } from '../../errors.ts';

// Clocks for durable timers: the system clock, and a manual one that tests move by hand.

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
