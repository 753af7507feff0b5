/**
 * The `scale` suite: does the embedded backend's cost per event stay flat, and its memory stay put, as the log grows?
 * Each log size runs in a child process of its own (bench/lib/scaleWorker.ts), after a warm-up on a small log:
 *
 *   append    publisher.publishBatch of 1,000 `order.placed` events to a fresh file log (fdatasync per batch)
 *   replay    the log reopened read-only, read to the end with log.read pages of 1,000
 *   rebuild   consumer.rebuild() of a counting projection (orders and total per customer, 10,000 rows) into a SQLite view
 *
 * Sizes: 100,000 and 1,000,000 events; `--large` adds 10,000,000 (about 3 GiB of segments; run once).
 * Targets: time per event at 10^6 ÷ at 10^5 <= 1.3 (`ratios.per_event_cost_growth`, the worst of the three steps);
 * memory not growing with the log (`figures.rss_growth_mb`: peak RSS at the largest size − at 10^5, reported).
 * Options: `--rounds N` (every size N times, interleaved; the fastest run of each step counts, the largest RSS;
 * default 3), `--large`.
 */
import os from 'node:os';
import path from 'node:path';
import { parseNumberFlags, type SuiteArgs } from '../lib/args.ts';
import { round } from '../lib/measure.ts';
import { progress } from '../lib/progress.ts';
import { scaleResultSchema, type ScaleJob, type ScalePhase, type ScaleResult } from '../lib/scaleWorker.ts';
import type { SuiteReport } from '../lib/suite.ts';
import { formatInteger } from '../lib/table.ts';
import { withTempRoot } from '../lib/tempDir.ts';
import { runWorker } from '../lib/worker.ts';

const baseSizes = [100_000, 1_000_000] as const;
const largeSize = 10_000_000;
const defaultRounds = 3;
const batch = 1000;
const customers = 10_000;
const warmupEvents = 50_000;
const workerLimitMs = 60 * 60_000;

const targets = {
  perEventCostGrowth: 1.3,
} as const;

type Step = 'append' | 'replay' | 'rebuild';
const steps: readonly { key: Step; label: string }[] = [
  { key: 'append', label: 'append (publishBatch of 1,000)' },
  { key: 'replay', label: 'replay (log.read pages of 1,000)' },
  { key: 'rebuild', label: 'rebuild (consumer → SQLite view)' },
];

export async function run(args: SuiteArgs): Promise<SuiteReport> {
  const large = args.rest.includes('--large');
  const { rounds } = parseNumberFlags(
    'scale',
    args.rest.filter((arg) => arg !== '--large'),
    [{ name: 'rounds', default: defaultRounds, min: 1, max: 10 }],
  );
  if (args.events !== undefined) progress('scale: --events is ignored (the sizes are 10^5, 10^6 and, with --large, 10^7)');
  const loadBefore = os.loadavg()[0]!;
  return withTempRoot('unilog-bench-scale-', async (root) => {
    progress(`temp dir ${root.path}`);
    const best = new Map<number, ScaleResult>();
    const run = async (events: number, label: string): Promise<void> => {
      progress(`${label}: ${formatInteger(events)} events`);
      const folder = root.folder(`n${events}`);
      const job: ScaleJob = { events, dir: folder.path, batch, customers, warmupEvents };
      try {
        const result = await runWorker(path.join(import.meta.dirname, '../lib/scaleWorker.ts'), job, scaleResultSchema, workerLimitMs);
        best.set(events, keepBest(best.get(events), result));
      } finally {
        folder.remove();
      }
    };
    for (let r = 1; r <= rounds; r++) {
      for (const events of baseSizes) await run(events, `round ${r}/${rounds}`);
    }
    // Ten times the data of 10^6 at least ten times the time: one run.
    if (large) await run(largeSize, 'large (one run)');
    return report([...best.values()].sort((a, b) => a.events - b.events), rounds, large, loadBefore, os.loadavg()[0]!);
  });
}

function keepBest(previous: ScaleResult | undefined, next: ScaleResult): ScaleResult {
  if (!previous) return next;
  const faster = (a: ScalePhase, b: ScalePhase): ScalePhase => ({ ...(a.seconds <= b.seconds ? a : b), rssMaxMb: Math.max(a.rssMaxMb, b.rssMaxMb) });
  return {
    ...next,
    append: faster(previous.append, next.append),
    replay: faster(previous.replay, next.replay),
    rebuild: faster(previous.rebuild, next.rebuild),
    openSeconds: Math.min(previous.openSeconds, next.openSeconds),
    startRssMb: Math.max(previous.startRssMb, next.startRssMb),
    peakRssMb: Math.max(previous.peakRssMb, next.peakRssMb),
  };
}

/** Microseconds per event of a step. */
const perEventUs = (result: ScaleResult, step: Step): number => (result[step].seconds / result.events) * 1e6;

function report(results: readonly ScaleResult[], rounds: number, large: boolean, loadBefore: number, loadAfter: number): SuiteReport {
  const smallest = results.find((r) => r.events === baseSizes[0]);
  const million = results.find((r) => r.events === baseSizes[1]);
  const largest = results[results.length - 1];
  if (!smallest || !million || !largest) throw new Error('scale: a size has no result');
  const ratios: Record<string, number> = {};
  const figures: Record<string, number> = {};
  for (const step of steps) {
    ratios[`${step.key}_per_event_cost_growth`] = round(perEventUs(million, step.key) / perEventUs(smallest, step.key), 3);
    // At 10^5 fixed costs (opening files, the view's first 10,000 rows) weigh more: 10^7 is compared with 10^6.
    if (large && largest.events === largeSize) ratios[`${step.key}_per_event_cost_growth_1e7_vs_1e6`] = round(perEventUs(largest, step.key) / perEventUs(million, step.key), 3);
  }
  const growth = Math.max(...steps.map((step) => ratios[`${step.key}_per_event_cost_growth`]!));
  ratios.per_event_cost_growth = growth;
  const rssGrowth = largest.peakRssMb - smallest.peakRssMb;
  figures.rss_growth_mb = round(rssGrowth, 1);
  figures.rss_growth_1e6_mb = round(million.peakRssMb - smallest.peakRssMb, 1);
  for (const result of results) {
    const n = result.events;
    for (const step of steps) {
      figures[`${step.key}_us_per_event_${n}`] = round(perEventUs(result, step.key), 3);
      figures[`${step.key}_events_per_s_${n}`] = Math.round(n / result[step.key].seconds);
      figures[`${step.key}_rss_max_mb_${n}`] = round(result[step.key].rssMaxMb, 1);
    }
    figures[`peak_rss_mb_${n}`] = round(result.peakRssMb, 1);
    figures[`open_ms_${n}`] = Math.round(result.openSeconds * 1000);
  }
  const rows: string[][] = [];
  for (const step of steps) {
    for (const result of results) {
      const us = perEventUs(result, step.key);
      const vsSmallest = us / perEventUs(smallest, step.key);
      const isTarget = result.events === baseSizes[1];
      rows.push([
        step.label,
        formatInteger(result.events),
        result[step.key].seconds.toFixed(2),
        formatInteger(result.events / result[step.key].seconds),
        us.toFixed(2),
        result === smallest ? '' : `${vsSmallest.toFixed(2)} ×`,
        isTarget ? `<= ${targets.perEventCostGrowth}` : '',
        isTarget ? (vsSmallest <= targets.perEventCostGrowth ? 'PASS' : 'MISS') : '',
        result[step.key].rssMaxMb.toFixed(0),
      ]);
    }
  }
  for (const result of results) {
    rows.push(['peak RSS of the process (ru_maxrss)', formatInteger(result.events), '', '', '', '', '', '', result.peakRssMb.toFixed(0)]);
  }
  return {
    suite: 'scale',
    preface: [
      `sizes: ${results.map((r) => `${formatInteger(r.events)} (${(r.logBytes / 1024 / 1024).toFixed(0)} MiB of segments)`).join(', ')}; ${formatInteger(customers)} customers (view rows); each size in a child process of its own after a warm-up of ${formatInteger(warmupEvents)} events`,
      `runs: ${rounds} round(s) of 10^5 and 10^6, interleaved, the fastest run of each step shown${large ? '; 10^7 once' : ''}; 1-minute load average ${loadBefore.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end (${os.cpus().length} cores)`,
    ],
    table: {
      headers: ['step', 'events', 'seconds', 'events/s', 'µs/event', '÷ at 10^5', 'target', 'result', 'RSS MB'],
      numeric: [false, true, true, true, true, true, false, false, true],
      rows,
    },
    notes: [
      `per_event_cost_growth = the worst step's µs/event at 10^6 ÷ at 10^5: ${growth.toFixed(2)} (target <= ${targets.perEventCostGrowth}); rss_growth_mb = peak RSS at ${formatInteger(largest.events)} − at ${formatInteger(smallest.events)}: ${rssGrowth >= 0 ? '+' : ''}${rssGrowth.toFixed(1)} MB`,
      ...(large && largest.events === largeSize ? [`10^7 ÷ 10^6, µs per event: ${steps.map((step) => `${step.key} ${(perEventUs(largest, step.key) / perEventUs(million, step.key)).toFixed(2)}`).join(', ')}`] : []),
      `reopening the written log (not timed per event): ${results.map((r) => `${formatInteger(r.events)}: ${(r.openSeconds * 1000).toFixed(0)} ms`).join(', ')}`,
      'checked (not timed): the head after appending, the events replayed, and the view counts every order once with the right total',
    ],
    ratios,
    figures,
  };
}
