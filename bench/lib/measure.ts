import { formatInteger } from './table.ts';
import { progress } from './progress.ts';

/** The result of a case: its fastest run. */
export interface Measurement {
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /** How many runs were made; the fastest is reported. */
  readonly runs: number;
}

/** A case to time: `once` sets up fresh state (file, folder, log), times only the measured part and returns its seconds. */
export interface BenchCase {
  readonly name: string;
  readonly events: number;
  readonly once: () => Promise<number>;
}

/**
 * Runs every case once per round, in order, and keeps each case's fastest run. Interleaving the cases
 * (rather than repeating one case back to back) spreads a slow spell of the disk over all of them,
 * which matters for ratios between cases that are bound by fdatasync latency.
 */
export async function measureRounds(cases: readonly BenchCase[], rounds: number): Promise<Measurement[]> {
  const best = cases.map(() => Infinity);
  for (let round = 1; round <= rounds; round++) {
    for (const [i, c] of cases.entries()) {
      const seconds = await c.once();
      best[i] = Math.min(best[i] as number, seconds);
      progress(`${c.name}, round ${round}/${rounds}: ${formatInteger(c.events)} events in ${seconds.toFixed(2)} s, ${formatInteger(c.events / seconds)} events/s`);
    }
  }
  return cases.map((c, i) => {
    const seconds = best[i] as number;
    return { events: c.events, seconds, eventsPerSecond: c.events / seconds, runs: rounds };
  });
}

/** Seconds elapsed since `start` (a performance.now() reading). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/** `value` rounded to `places` decimals, for tables and JSON. */
export function round(value: number, places: number): number {
  const scale = 10 ** places;
  return Math.round(value * scale) / scale;
}
