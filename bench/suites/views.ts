/**
 * The `views` suite: rebuilding a projection's view from the file log, against a hand-written fold, and the
 * latency of a running consumer on a SQLite view.
 *
 *   baseline          log.read pages of 1000, folded into a plain Map by hand (no runtime, no checkpoints)
 *   rebuild memory    consumer.rebuild() into createMemoryViewStorage()             target >= 0.70 × baseline
 *   rebuild sqlite    consumer.rebuild() into openSqliteViewStorage({ dir })        target >= 0.35 × baseline
 *   latency           a started consumer on a SQLite view while single events are published at a steady
 *                     1,000 events/s: publish → waitFor(position) resolves           target p99 <= 10 ms
 *
 * Options: `--events N` (events in the log, default 1,000,000), `--seconds S` (latency phase, default 30),
 * `--rounds N` (rebuild cases run N times interleaved, the fastest counts; default 3).
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import {
  createConsumer,
  createMemoryViewStorage,
  createPublisher,
  defineProjection,
  openFileEventLog,
  openSqliteViewStorage,
  type FileEventLog,
  type ViewStorage,
} from '../../src/index.ts';
import { parseNumberFlags, type SuiteArgs } from '../lib/args.ts';
import { benchSource, createDataGenerator, OrderPlaced, type OrderData } from '../lib/events.ts';
import { measureRounds, round, secondsSince, type Measurement } from '../lib/measure.ts';
import { collectGarbage } from '../lib/memory.ts';
import { progress } from '../lib/progress.ts';
import type { SuiteReport } from '../lib/suite.ts';
import { formatInteger } from '../lib/table.ts';
import { withTempRoot, type TempRoot } from '../lib/tempDir.ts';

/** Events in the log when `--events` is not given. */
const defaultEvents = 1_000_000;
/** Orders are spread over this many customers: the view has about this many rows. */
const customers = 10_000;
/** The log is written with publishBatch of this many events: setup, not measured. */
const writeBatch = 1000;
const pageSize = 1000;
const defaultRounds = 3;
/** The latency phase publishes this many single events per second... */
const latencyRate = 1000;
/** ...for this many seconds (`--seconds`), after {@link latencyWarmupSeconds} not recorded. */
const defaultLatencySeconds = 30;
const latencyWarmupSeconds = 1;
/** Every this many latency events, the row is also read back from the view and checked. */
const latencyReadEvery = 50;
/** A waitFor that takes this long fails the suite: something is stuck, not slow. */
const waitTimeoutMs = 60_000;

const targets = {
  rebuildMemory: 0.7,
  rebuildSqlite: 0.35,
  latencyP99Ms: 10,
} as const;

// ---- the projection and the same fold by hand ----------------------------------------------------------------------

const customerRow = z.object({
  customerId: z.string(),
  orders: z.number().int(),
  totalCents: z.number().int(),
  tier: z.enum(['bronze', 'silver', 'gold', 'platinum']),
});
type CustomerRow = z.output<typeof customerRow>;
type Tier = CustomerRow['tier'];
const tiers: readonly Tier[] = ['bronze', 'silver', 'gold', 'platinum'];

/** The tier of a customer's total spend: the indexed field, which changes as orders come in. */
function tierOf(totalCents: number): Tier {
  return totalCents < 100_000 ? 'bronze' : totalCents < 1_000_000 ? 'silver' : totalCents < 10_000_000 ? 'gold' : 'platinum';
}

/** One order applied to a customer's row: the fold both the baseline and the projection run. */
function applyOrder(row: CustomerRow | undefined, order: OrderData): CustomerRow {
  const orders = (row?.orders ?? 0) + 1;
  const totalCents = (row?.totalCents ?? 0) + order.totalCents;
  return { customerId: order.customerId, orders, totalCents, tier: tierOf(totalCents) };
}

const customerTotals = defineProjection({
  name: 'customer-totals',
  version: 1,
  events: [OrderPlaced],
  tables: { customers: { row: customerRow, key: 'customerId', indexes: ['tier'] } },
}).on({
  'order.placed': async (event, view) => {
    view.customers.put(applyOrder(await view.customers.get(event.data.customerId), event.data));
  },
});

/** Order data like the log suite's, with the customer drawn from {@link customers} (same size, ~300 bytes per event). */
function createOrderGenerator(): () => OrderData {
  const next = createDataGenerator(7);
  return () => {
    const data = next();
    const customer = Number(data.customerId.slice('cus-'.length)) % customers;
    return { ...data, customerId: `cus-${String(customer).padStart(6, '0')}` };
  };
}

// ---- the suite -------------------------------------------------------------------------------------------------------

interface Options {
  readonly rounds: number;
  readonly latencySeconds: number;
}

export async function run(args: SuiteArgs): Promise<SuiteReport> {
  const options = parseOptions(args.rest);
  const count = args.events ?? defaultEvents;
  return withTempRoot('unilog-bench-views-', async (root) => {
    progress(`temp dir ${root.path}`);
    const logDir = root.fresh('log');
    const setup = await writeLog(logDir, count);
    const log = await openFileEventLog({ dir: logDir });
    try {
      const rebuild = await rebuildCases(root, log, count, options.rounds);
      const latency = await latencyCase(log, rebuild.sqliteDir, rebuild.expected, options.latencySeconds);
      return report(count, options, setup, rebuild, latency);
    } finally {
      await log.close();
    }
  });
}

function parseOptions(rest: readonly string[]): Options {
  const { rounds, seconds } = parseNumberFlags('views', rest, [
    { name: 'rounds', default: defaultRounds, min: 1, max: 10 },
    { name: 'seconds', default: defaultLatencySeconds, min: 1, max: 600 },
  ]);
  return { rounds, latencySeconds: seconds };
}

interface Setup {
  readonly eventBytes: number;
  readonly logBytes: number;
  readonly seconds: number;
}

/** Setup: `count` orders published with publishBatch of {@link writeBatch} to a fresh file log. */
async function writeLog(dir: string, count: number): Promise<Setup> {
  progress(`setup: publishing ${formatInteger(count)} events in batches of ${writeBatch}`);
  const nextOrder = createOrderGenerator();
  const log = await openFileEventLog({ dir });
  const start = performance.now();
  let sampleBytes = 0;
  let sampled = 0;
  try {
    const publisher = createPublisher({ log, catalog: [OrderPlaced], source: benchSource });
    const step = Math.max(writeBatch, Math.round(count / 10 / writeBatch) * writeBatch);
    for (let written = 0; written < count; ) {
      const n = Math.min(writeBatch, count - written);
      const items = new Array<{ type: typeof OrderPlaced.type; data: OrderData }>(n);
      for (let i = 0; i < n; i++) items[i] = { type: OrderPlaced.type, data: nextOrder() };
      const results = await publisher.publishBatch(items);
      if (sampled < 10_000) {
        for (const { event } of results) sampleBytes += Buffer.byteLength(JSON.stringify(event));
        sampled += results.length;
      }
      written += n;
      if (written % step === 0 && written < count) progress(`  ${formatInteger(written)} published`);
    }
  } finally {
    await log.close();
  }
  const seconds = secondsSince(start);
  const logBytes = readdirSync(dir)
    .filter((name) => name.endsWith('.seg'))
    .reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0);
  progress(`setup: ${formatInteger(count)} events in ${seconds.toFixed(1)} s, ${(logBytes / 1024 / 1024).toFixed(0)} MiB of segments`);
  return { eventBytes: sampleBytes / sampled, logBytes, seconds };
}

interface RebuildResults {
  readonly baseline: Measurement;
  readonly memory: Measurement;
  readonly sqlite: Measurement;
  /** The baseline fold of the whole log: what every view must hold. */
  readonly expected: ReadonlyMap<string, CustomerRow>;
  /** The SQLite views folder of the last sqlite run, kept for the latency case. */
  readonly sqliteDir: string;
}

async function rebuildCases(root: TempRoot, log: FileEventLog, count: number, rounds: number): Promise<RebuildResults> {
  let expected: Map<string, CustomerRow> | undefined;
  let sqliteDir: string | undefined;
  const checked = { memory: false, sqlite: false };
  const views = root.folder('views');
  const [baseline, memory, sqlite] = (await measureRounds(
    [
      {
        name: `baseline: log.read pages of ${pageSize} folded into a Map`,
        events: count,
        once: async () => {
          const result = await baselineOnce(log, count);
          expected = result.rows;
          return result.seconds;
        },
      },
      {
        name: 'rebuild into the memory view store',
        events: count,
        once: async () => {
          const storage = createMemoryViewStorage();
          const seconds = await rebuildOnce(log, storage, count);
          // Every run is checked: the check is cheap next to the rebuild (10,000 rows).
          await checkView('memory', storage, expected as Map<string, CustomerRow>, !checked.memory);
          checked.memory = true;
          return seconds;
        },
      },
      {
        name: 'rebuild into a SQLite view',
        events: count,
        once: async () => {
          // The previous run's folder goes first: only the last is kept, for the latency case.
          if (sqliteDir !== undefined) rmSync(sqliteDir, { recursive: true, force: true });
          const dir = views.fresh('sqlite');
          const storage = openSqliteViewStorage({ dir });
          const seconds = await rebuildOnce(log, storage, count);
          await checkView('sqlite', storage, expected as Map<string, CustomerRow>, !checked.sqlite);
          checked.sqlite = true;
          sqliteDir = dir;
          return seconds;
        },
      },
    ],
    rounds,
  )) as [Measurement, Measurement, Measurement];
  return { baseline, memory, sqlite, expected: expected as Map<string, CustomerRow>, sqliteDir: sqliteDir as string };
}

/** Baseline: page through the log and fold every order into a Map, by hand. */
async function baselineOnce(log: FileEventLog, expected: number): Promise<{ seconds: number; rows: Map<string, CustomerRow> }> {
  const rows = new Map<string, CustomerRow>();
  let count = 0;
  let from = '0';
  const start = performance.now();
  for (;;) {
    const page = await log.read({ from, limit: pageSize });
    if (page.events.length === 0) break;
    for (const { event } of page.events) {
      if (event.type !== OrderPlaced.type) continue;
      const order = event.data as OrderData;
      rows.set(order.customerId, applyOrder(rows.get(order.customerId), order));
    }
    count += page.events.length;
    from = page.next;
  }
  const seconds = secondsSince(start);
  if (count !== expected) throw new Error(`baseline: read ${count} events, expected ${expected}`);
  return { seconds, rows };
}

/** A stopped consumer's rebuild() into `storage`, timed. */
async function rebuildOnce(log: FileEventLog, storage: ViewStorage, expected: number): Promise<number> {
  const consumer = createConsumer(customerTotals, { log, storage });
  const start = performance.now();
  const result = await consumer.rebuild();
  const seconds = secondsSince(start);
  if (result.events !== expected) throw new Error(`rebuild: processed ${result.events} events, expected ${expected}`);
  return seconds;
}

/**
 * Not timed: the current copy of the view must hold exactly the baseline's rows (every row read with get, the
 * row count by scanning), and each tier's index query must return exactly the rows of that tier.
 */
async function checkView(name: string, storage: ViewStorage, expected: ReadonlyMap<string, CustomerRow>, say: boolean): Promise<void> {
  const copy = await storage.current(customerTotals.name);
  if (copy === undefined) throw new Error(`${name} view: no current copy after the rebuild`);
  const store = await storage.open(customerTotals.name, copy, customerTotals.layout);
  try {
    for (const [key, want] of expected) {
      const got = await store.get('customers', key);
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${name} view: row ${key} is ${JSON.stringify(got)}, the baseline has ${JSON.stringify(want)}`);
    }
    let rows = 0;
    for (let page = await store.scan('customers', { limit: pageSize }); page.length > 0; ) {
      rows += page.length;
      page = await store.scan('customers', { after: (page[page.length - 1] as CustomerRow).customerId, limit: pageSize });
    }
    if (rows !== expected.size) throw new Error(`${name} view: ${rows} rows, the baseline has ${expected.size}`);
    for (const tier of tiers) {
      const want = [...expected.values()].filter((row) => row.tier === tier).map((row) => row.customerId).sort();
      const got = (await store.query('customers', { index: 'tier', value: tier, limit: customers * 10 })).map((row) => String(row.customerId)).sort();
      if (got.join(',') !== want.join(',')) {
        const wrong = (await Promise.all(got.map((key) => store.get('customers', key)))).filter((row) => (row as CustomerRow | undefined)?.tier !== tier).length;
        throw new Error(`${name} view: query tier = ${tier} returned ${got.length} rows (${wrong} of another tier), the baseline has ${want.length}`);
      }
    }
    if (say) progress(`  ${name} view checked: ${formatInteger(rows)} rows equal the baseline's, tier index queries match`);
  } finally {
    await store.close();
  }
}

interface LatencyResults {
  readonly events: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Of which: publish until durable in the log (the publish promise resolved), p50 and p99. */
  readonly publishP50Ms: number;
  readonly publishP99Ms: number;
  /** How long the event loop was blocked (perf_hooks.monitorEventLoopDelay), p99 and max, in ms. */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  /** How late the publisher fired against its schedule, at most, in ms. */
  readonly maxScheduleLagMs: number;
  readonly reads: number;
}

/**
 * A started consumer on the SQLite view of the last rebuild (caught up to the head), while single events are
 * published at {@link latencyRate} per second on a fixed schedule: event i is due at start + i / rate, whatever
 * happened before it. Each event's latency runs from just before publish until waitFor(its position) resolves.
 */
async function latencyCase(log: FileEventLog, sqliteDir: string, baseline: ReadonlyMap<string, CustomerRow>, seconds: number): Promise<LatencyResults> {
  const consumer = createConsumer(customerTotals, { log, storage: openSqliteViewStorage({ dir: sqliteDir }) });
  await consumer.start();
  const publisher = createPublisher({ log, catalog: [OrderPlaced], source: benchSource });
  const nextOrder = createOrderGenerator();
  // Continues the fold from the rebuilt rows: the expected view after each published event.
  const expected = new Map(baseline);
  const warmup = latencyWarmupSeconds * latencyRate;
  const total = warmup + seconds * latencyRate;
  const latencies = new Float64Array(total - warmup);
  const publishes = new Float64Array(total - warmup);
  const inFlight = new Set<Promise<void>>();
  let reads = 0;
  let maxScheduleLagMs = 0;
  let failure: Error | undefined;
  progress(`latency: publishing ${formatInteger(total)} single events at ${formatInteger(latencyRate)}/s (${latencyWarmupSeconds} s warm-up not recorded) to a started consumer on a SQLite view`);

  const fire = (i: number): void => {
    const order = nextOrder();
    const row = applyOrder(expected.get(order.customerId), order);
    expected.set(order.customerId, row);
    const begun = performance.now();
    const work = (async () => {
      const { position } = await publisher.publish(OrderPlaced.type, order);
      if (i >= warmup) publishes[i - warmup] = performance.now() - begun;
      await consumer.waitFor(position, { timeoutMs: waitTimeoutMs });
      const ms = performance.now() - begun;
      if (i >= warmup) latencies[i - warmup] = ms;
      if (i % latencyReadEvery === 0) {
        // Visible in the view: this event's order (and every earlier one of the customer) is counted.
        const got = await consumer.view.customers.get(order.customerId);
        if (!got || got.orders < row.orders) throw new Error(`latency: after waitFor(${position}) customer ${order.customerId} has ${got?.orders ?? 0} orders, expected at least ${row.orders}`);
        reads++;
      }
    })().catch((error: unknown) => {
      failure ??= error instanceof Error ? error : new Error(String(error));
    });
    inFlight.add(work);
    void work.then(() => inFlight.delete(work));
  };

  collectGarbage();
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  let measuring = false;
  const interval = 1000 / latencyRate;
  const step = latencyRate * 5;
  const start = performance.now();
  for (let i = 0; i < total && failure === undefined; ) {
    const now = performance.now();
    // Every event due by now goes out now: a late timer delays events, it does not drop them or shift the schedule.
    while (i < total && start + i * interval <= now) {
      if (i >= warmup) maxScheduleLagMs = Math.max(maxScheduleLagMs, now - (start + i * interval));
      fire(i++);
      if (i % step === 0 && i < total) progress(`  ${formatInteger(i)} published`);
    }
    if (i >= warmup && !measuring) {
      measuring = true;
      loopDelay.enable();
    }
    if (i < total) await sleep(Math.max(0, start + i * interval - performance.now()));
  }
  await Promise.all(inFlight);
  loopDelay.disable();
  const elapsed = secondsSince(start);
  try {
    if (failure !== undefined) throw failure;
    // The whole view must now be the baseline fold plus every event published here.
    for (const [key, want] of expected) {
      const got = await consumer.view.customers.get(key);
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`latency: row ${key} is ${JSON.stringify(got)} after the run, expected ${JSON.stringify(want)}`);
    }
  } finally {
    await consumer.stop();
  }
  const sorted = latencies.sort();
  const published = publishes.sort();
  const result = {
    events: sorted.length,
    seconds: elapsed,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] as number,
    publishP50Ms: percentile(published, 50),
    publishP99Ms: percentile(published, 99),
    // The histogram is in nanoseconds; the 1 ms sampling resolution is included in each figure.
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
    maxScheduleLagMs,
    reads,
  };
  progress(`latency: p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, max ${result.maxMs.toFixed(1)} ms (publish alone: p50 ${result.publishP50Ms.toFixed(2)} ms, p99 ${result.publishP99Ms.toFixed(2)} ms); event loop delay p99 ${result.loopDelayP99Ms.toFixed(1)} ms, max ${result.loopDelayMaxMs.toFixed(1)} ms; publisher at most ${maxScheduleLagMs.toFixed(1)} ms behind schedule; ${reads} view reads checked`);
  return result;
}

/** The nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

function report(count: number, options: Options, setup: Setup, rebuild: RebuildResults, latency: LatencyResults): SuiteReport {
  const ratios = {
    rebuild_memory_vs_baseline: rebuild.memory.eventsPerSecond / rebuild.baseline.eventsPerSecond,
    rebuild_sqlite_vs_baseline: rebuild.sqlite.eventsPerSecond / rebuild.baseline.eventsPerSecond,
  };
  const figures = {
    baseline_events_per_s: Math.round(rebuild.baseline.eventsPerSecond),
    rebuild_memory_events_per_s: Math.round(rebuild.memory.eventsPerSecond),
    rebuild_sqlite_events_per_s: Math.round(rebuild.sqlite.eventsPerSecond),
    latency_p50_ms: round(latency.p50Ms, 2),
    latency_p99_ms: round(latency.p99Ms, 2),
  };
  const row = (name: string, m: Measurement, measured?: { ratio: number; target: number }): string[] => [
    name,
    formatInteger(m.events),
    String(m.runs),
    m.seconds.toFixed(2),
    formatInteger(m.eventsPerSecond),
    measured ? `${measured.ratio.toFixed(2)} × baseline` : '',
    measured ? `>= ${measured.target.toFixed(2)}` : '',
    measured ? (measured.ratio >= measured.target ? 'PASS' : 'MISS') : '',
  ];
  // The recorded part of the run: the warm-up second is left out, the drain of the last events is kept.
  const latencySeconds = latency.seconds - latencyWarmupSeconds;
  const latencyRow = (name: string, ms: number, target?: number): string[] => [
    name,
    formatInteger(latency.events),
    '1',
    latencySeconds.toFixed(2),
    formatInteger(latency.events / latencySeconds),
    `${ms.toFixed(2)} ms`,
    target === undefined ? '' : `<= ${target} ms`,
    target === undefined ? '' : ms <= target ? 'PASS' : 'MISS',
  ];
  const rows = [
    row(`baseline: log.read pages of ${pageSize} + fold into a Map`, rebuild.baseline),
    row('rebuild: memory view store', rebuild.memory, { ratio: ratios.rebuild_memory_vs_baseline, target: targets.rebuildMemory }),
    row('rebuild: SQLite view', rebuild.sqlite, { ratio: ratios.rebuild_sqlite_vs_baseline, target: targets.rebuildSqlite }),
    latencyRow('latency: publish → visible in SQLite view, p50', latency.p50Ms),
    latencyRow('latency: publish → visible in SQLite view, p99', latency.p99Ms, targets.latencyP99Ms),
  ];
  return {
    suite: 'views',
    preface: [
      `events: ${formatInteger(count)} in the log (${(setup.logBytes / 1024 / 1024).toFixed(0)} MiB of segments, published in batches of ${writeBatch} in ${setup.seconds.toFixed(0)} s, not timed); ${setup.eventBytes.toFixed(0)} bytes per event as JSON; ${formatInteger(rebuild.expected.size)} customers (view rows)`,
      `runs: ${options.rounds} round(s) of the baseline and rebuild cases, every case once per round in table order; the fastest run of each case is shown`,
      `latency: ${formatInteger(latencyRate)} single events/s for ${options.latencySeconds} s on a fixed schedule (after ${latencyWarmupSeconds} s not recorded), consumer started on the rebuilt SQLite view`,
    ],
    table: {
      headers: ['case', 'events', 'runs', 'seconds', 'events/s', 'measured', 'target', 'result'],
      numeric: [false, true, true, true, true, false, false, false],
      rows,
    },
    notes: [
      `views checked (not timed): every rebuild's rows equal the baseline fold, and each tier's index query returns exactly that tier's rows`,
      `latency: max ${latency.maxMs.toFixed(1)} ms; publish alone (until durable in the log) p50 ${latency.publishP50Ms.toFixed(2)} ms, p99 ${latency.publishP99Ms.toFixed(2)} ms; event loop delay p99 ${latency.loopDelayP99Ms.toFixed(1)} ms, max ${latency.loopDelayMaxMs.toFixed(1)} ms; the publisher was at most ${latency.maxScheduleLagMs.toFixed(1)} ms behind its schedule; ${formatInteger(latency.reads)} rows read back from the view after waitFor, and the whole view checked at the end`,
    ],
    ratios: Object.fromEntries(Object.entries(ratios).map(([key, value]) => [key, round(value, 3)])),
    figures,
  };
}

