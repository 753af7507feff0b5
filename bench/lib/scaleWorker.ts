/**
 * One log size of the `scale` suite (bench/suites/scale.ts) in a process of its own, so that its peak RSS is its own:
 * a warm-up (the same steps on a small log, removed), then appending N events to a fresh file log, replaying it, and
 * rebuilding a counting projection from it into a SQLite view.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { createPublisher, openFileEventLog, openSqliteViewStorage, type FileEventLog } from '../../src/index.ts';
import { rebuildCounts } from './countingProjection.ts';
import { benchSource, createDataGenerator, OrderPlaced, type OrderData } from './events.ts';
import { secondsSince } from './measure.ts';
import { collectGarbage, RssSampler } from './memory.ts';
import { progress } from './progress.ts';
import { formatInteger } from './table.ts';
import { peakRssMb, serveWorker } from './worker.ts';

export const scaleJobSchema = z.object({
  events: z.number().int().positive(),
  /** A folder of the worker's own: the log and the view are written here. */
  dir: z.string(),
  batch: z.number().int().positive(),
  customers: z.number().int().positive(),
  warmupEvents: z.number().int().nonnegative(),
});
export type ScaleJob = z.output<typeof scaleJobSchema>;

const phaseSchema = z.object({
  seconds: z.number(),
  /** The largest RSS sampled during the phase, and RSS just before it (after a full GC), in MB. */
  rssMaxMb: z.number(),
  rssBeforeMb: z.number(),
});
export type ScalePhase = z.output<typeof phaseSchema>;

export const scaleResultSchema = z.object({
  events: z.number(),
  logBytes: z.number(),
  append: phaseSchema,
  /** Opening the written log again (not a per-event figure). */
  openSeconds: z.number(),
  replay: phaseSchema,
  rebuild: phaseSchema,
  startRssMb: z.number(),
  peakRssMb: z.number(),
});
export type ScaleResult = z.output<typeof scaleResultSchema>;

/** Order data with the customer drawn from `customers` (the view's rows), about 300 bytes per event as JSON. */
function orderGenerator(customers: number): () => OrderData {
  const next = createDataGenerator(21);
  return () => {
    const data = next();
    const customer = Number(data.customerId.slice('cus-'.length)) % customers;
    return { ...data, customerId: `cus-${String(customer).padStart(6, '0')}` };
  };
}

async function phase(fn: () => Promise<void>): Promise<ScalePhase> {
  collectGarbage();
  const sampler = new RssSampler();
  const start = performance.now();
  await fn();
  const seconds = secondsSince(start);
  const rss = sampler.stop();
  return { seconds, rssMaxMb: rss.maxMb, rssBeforeMb: rss.beforeMb };
}

/** Appends, replays and rebuilds `events` events in `dir`; `say` names the run in progress lines. */
async function runSize(dir: string, events: number, job: ScaleJob, say: string): Promise<Omit<ScaleResult, 'startRssMb' | 'peakRssMb'>> {
  const logDir = path.join(dir, 'log');
  const nextOrder = orderGenerator(job.customers);
  let appendedCents = 0;
  let log: FileEventLog = await openFileEventLog({ dir: logDir });
  let append: ScalePhase;
  try {
    const publisher = createPublisher({ log, catalog: [OrderPlaced], source: benchSource });
    const step = Math.max(job.batch, Math.round(events / 10 / job.batch) * job.batch);
    append = await phase(async () => {
      for (let written = 0; written < events; ) {
        const n = Math.min(job.batch, events - written);
        const items = new Array<{ type: typeof OrderPlaced.type; data: OrderData }>(n);
        for (let i = 0; i < n; i++) {
          const data = nextOrder();
          appendedCents += data.totalCents;
          items[i] = { type: OrderPlaced.type, data };
        }
        await publisher.publishBatch(items);
        written += n;
        if (say !== '' && written % step === 0 && written < events) progress(`  ${say}: ${formatInteger(written)} appended`);
      }
    });
    const head = await log.head();
    if (head !== String(events)) throw new Error(`scale: the log's head is ${head} after appending ${events} events`);
  } finally {
    await log.close();
  }
  const logBytes = readdirSync(logDir)
    .filter((name) => name.endsWith('.seg'))
    .reduce((sum, name) => sum + statSync(path.join(logDir, name)).size, 0);
  if (say !== '') progress(`${say}: append ${formatInteger(events / append.seconds)} events/s (${(logBytes / 1024 / 1024).toFixed(0)} MiB of segments)`);

  const opening = performance.now();
  log = await openFileEventLog({ dir: logDir, readOnly: true });
  const openSeconds = secondsSince(opening);
  try {
    let replayed = 0;
    const replay = await phase(async () => {
      for (let from = '0'; ; ) {
        const page = await log.read({ from, limit: 1000 });
        if (page.events.length === 0) break;
        replayed += page.events.length;
        from = page.next;
      }
    });
    if (replayed !== events) throw new Error(`scale: replay read ${replayed} events, expected ${events}`);
    if (say !== '') progress(`${say}: replay ${formatInteger(events / replay.seconds)} events/s`);

    let rows = new Map<string, { orders: number; totalCents: number }>();
    const viewDir = path.join(dir, 'views');
    const rebuild = await phase(async () => {
      rows = (await rebuildCounts(log, openSqliteViewStorage({ dir: viewDir }), events)).rows;
    });
    // Not timed: the view counts every order once, and their total.
    let orders = 0;
    let cents = 0;
    for (const row of rows.values()) {
      orders += row.orders;
      cents += row.totalCents;
    }
    if (orders !== events || cents !== appendedCents || rows.size > job.customers) {
      throw new Error(`scale: the view counts ${orders} orders of ${cents} cents in ${rows.size} rows, ${events} of ${appendedCents} were appended`);
    }
    if (say !== '') progress(`${say}: rebuild into a SQLite view ${formatInteger(events / rebuild.seconds)} events/s (${formatInteger(rows.size)} rows checked)`);
    return { events, logBytes, append, openSeconds, replay, rebuild };
  } finally {
    await log.close();
  }
}

serveWorker(scaleJobSchema, async (job) => {
  const startRssMb = process.memoryUsage.rss() / 1024 / 1024;
  if (job.warmupEvents > 0) {
    const warm = path.join(job.dir, 'warmup');
    await runSize(warm, job.warmupEvents, job, '');
    rmSync(warm, { recursive: true, force: true });
  }
  const result = await runSize(path.join(job.dir, 'measured'), job.events, job, formatInteger(job.events));
  return { ...result, startRssMb, peakRssMb: peakRssMb() } satisfies ScaleResult;
});
