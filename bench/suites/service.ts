/**
 * The `service` suite: POST /events of the HTTP service on loopback, against publishing in-process.
 *
 *   baseline        in-process publisher.publishBatch of 100 on a file log, each awaited (the same event shape)
 *   http batch 100  POST /events with an array of 100 events, keep-alive, 8 connections     target >= 0.50 × baseline
 *   (the same, 1)   the same with 1 connection: one producer awaiting each batch, as the baseline does (no target)
 *   http single     POST /events with one event, keep-alive, 64 connections                 target >= 5,000 events/s
 *
 * The service (startService, a fresh data folder and key per run, no projections) runs in the bench process; the load
 * comes from autocannon in a child process (bench/lib/load.ts), so that the two do not share an event loop. Every
 * HTTP run is checked: the log must have grown by the events of the 2xx responses (plus at most the requests in flight
 * when the load stopped), and its last event must be the body's last event. Errors, timeouts and non-2xx responses,
 * in the warm-up or the measured time, fail the case.
 *
 * Options: `--events N` (baseline events per run, default 200,000), `--seconds S` (measured time per HTTP run, default
 * 5), `--warmup S` (load before each HTTP run, not measured, default 2), `--rounds N` (every case N times, interleaved;
 * the fastest run of each counts, default 3), `--batch-connections N` (default 8), `--single-connections N` (default 64).
 */
import os from 'node:os';
import pino from 'pino';
import { z } from 'zod';
import { createPublisher, defineConfig, openFileEventLog } from '../../src/index.ts';
import { createKey } from '../../src/service/keys.ts';
import { startService } from '../../src/service/server.ts';
import { parseNumberFlags, type SuiteArgs } from '../lib/args.ts';
import { benchSource, chunk, createDataGenerator, OrderPlaced, type OrderData } from '../lib/events.ts';
import { loadGeneratorDescription, runLoad, type LoadPhase, type LoadReport } from '../lib/load.ts';
import { round, secondsSince } from '../lib/measure.ts';
import { progress } from '../lib/progress.ts';
import type { SuiteReport } from '../lib/suite.ts';
import { formatInteger } from '../lib/table.ts';
import { withTempRoot, type TempRoot } from '../lib/tempDir.ts';

/** Events per baseline run when `--events` is not given. */
const defaultBaselineEvents = 200_000;
const batchSize = 100;
const defaultRounds = 3;
const defaultSeconds = 5;
const defaultWarmupSeconds = 2;
const defaultBatchConnections = 8;
const defaultSingleConnections = 64;
/** The baseline is warmed up on this many events before the rounds. */
const warmupEvents = 5000;

const targets = {
  httpBatchVsInProcess: 0.5,
  singleEventsPerSecond: 5000,
} as const;

const config = defineConfig({ events: [OrderPlaced] });

interface Options {
  readonly baselineEvents: number;
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly batchConnections: number;
  readonly singleConnections: number;
}

type Item = { readonly type: typeof OrderPlaced.type; readonly data: OrderData };

export async function run(args: SuiteArgs): Promise<SuiteReport> {
  const flags = parseNumberFlags('service', args.rest, [
    { name: 'rounds', default: defaultRounds, min: 1, max: 10 },
    { name: 'seconds', default: defaultSeconds, min: 1, max: 600 },
    { name: 'warmup', default: defaultWarmupSeconds, min: 0, max: 60 },
    { name: 'batch-connections', default: defaultBatchConnections, min: 1, max: 1000 },
    { name: 'single-connections', default: defaultSingleConnections, min: 1, max: 1000 },
  ]);
  const options: Options = {
    baselineEvents: args.events ?? defaultBaselineEvents,
    rounds: flags.rounds,
    seconds: flags.seconds,
    warmupSeconds: flags.warmup,
    batchConnections: flags['batch-connections'],
    singleConnections: flags['single-connections'],
  };
  const loadBefore = os.loadavg();
  return withTempRoot('unilog-bench-service-', async (root) => {
    progress(`temp dir ${root.path}; load average ${loadBefore.map((l) => l.toFixed(2)).join(', ')}`);
    const nextData = createDataGenerator();
    const items: Item[] = Array.from({ length: options.baselineEvents }, () => ({ type: OrderPlaced.type, data: nextData() }));
    const batches = chunk(items, batchSize);
    const batchBody = batches[0] as Item[];
    const singleBody = items[0] as Item;
    const bodyBytes = { batch: Buffer.byteLength(JSON.stringify(batchBody)), single: Buffer.byteLength(JSON.stringify(singleBody)) };

    progress('warming up the in-process publisher');
    await baselineOnce(root, batches.slice(0, warmupEvents / batchSize));

    const baselineRuns: BaselineRun[] = [];
    const batchRuns: HttpRun[] = [];
    const sequentialRuns: HttpRun[] = [];
    const singleRuns: HttpRun[] = [];
    for (let r = 1; r <= options.rounds; r++) {
      const of = `round ${r}/${options.rounds}`;
      const baseline = await baselineOnce(root, batches);
      baselineRuns.push(baseline);
      progress(`baseline: in-process publishBatch of ${batchSize}, ${of}: ${formatInteger(baseline.events)} events in ${baseline.seconds.toFixed(2)} s, ${formatInteger(baseline.eventsPerSecond)} events/s, p50 ${baseline.p50Ms.toFixed(2)} ms, p99 ${baseline.p99Ms.toFixed(2)} ms`);
      const batch = await httpOnce(root, 'batch', batchBody, batchSize, options.batchConnections, options);
      batchRuns.push(batch);
      progress(`HTTP POST batches of ${batchSize}, ${options.batchConnections} connections, ${of}: ${describe(batch)}`);
      const sequential = await httpOnce(root, 'batch-1conn', batchBody, batchSize, 1, options);
      sequentialRuns.push(sequential);
      progress(`HTTP POST batches of ${batchSize}, 1 connection, ${of}: ${describe(sequential)}`);
      const single = await httpOnce(root, 'single', singleBody, 1, options.singleConnections, options);
      singleRuns.push(single);
      progress(`HTTP POST single events, ${options.singleConnections} connections, ${of}: ${describe(single)}`);
    }
    const loadAfter = os.loadavg();
    return report(options, bodyBytes, baselineRuns, batchRuns, sequentialRuns, singleRuns, loadBefore, loadAfter);
  });
}

// ---- the baseline --------------------------------------------------------------------------------------------------

interface BaselineRun {
  readonly events: number;
  readonly requests: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly requestsPerSecond: number;
  /** Time of one publishBatch call. */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** A fresh file log; publishBatch of each batch, awaited one after another, each call timed. */
async function baselineOnce(root: TempRoot, batches: readonly (readonly Item[])[]): Promise<BaselineRun> {
  const log = await openFileEventLog({ dir: root.fresh('inprocess') });
  try {
    const publisher = createPublisher({ log, catalog: [OrderPlaced], source: benchSource });
    const times = new Float64Array(batches.length);
    const start = performance.now();
    for (let i = 0; i < batches.length; i++) {
      const begun = performance.now();
      await publisher.publishBatch(batches[i] as Item[]);
      times[i] = performance.now() - begun;
    }
    const seconds = secondsSince(start);
    const events = batches.reduce((sum, batch) => sum + batch.length, 0);
    const head = await log.head();
    if (head !== String(events)) throw new Error(`baseline: the log's head is ${head} after publishing ${events} events`);
    times.sort();
    return { events, requests: batches.length, seconds, eventsPerSecond: events / seconds, requestsPerSecond: batches.length / seconds, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
  } finally {
    await log.close();
  }
}

/** The nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

// ---- the HTTP cases ------------------------------------------------------------------------------------------------

interface HttpRun {
  readonly connections: number;
  readonly eventsPerRequest: number;
  readonly measured: LoadPhase;
  readonly warmup: LoadPhase | null;
  readonly requestsPerSecond: number;
  readonly eventsPerSecond: number;
  /** Errors, timeouts and non-2xx responses, warm-up included. */
  readonly failures: number;
  /** Events the log grew by during the run (warm-up included). */
  readonly appended: number;
  /** CPU seconds of the bench process (the server) and of the load process, over warm-up and measured time. */
  readonly serverCpuSeconds: number;
  readonly loadCpuSeconds: number;
  readonly autocannon: string;
}

const healthSchema = z.object({ ok: z.boolean(), head: z.string() });
const pageSchema = z.object({ events: z.array(z.object({ position: z.string(), event: z.object({ type: z.string(), source: z.string(), data: z.unknown() }) })) });

async function getJson<T>(url: string, schema: z.ZodType<T>, key?: string): Promise<T> {
  const response = await fetch(url, key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } });
  const body: unknown = await response.json();
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${JSON.stringify(body)}`);
  return schema.parse(body);
}

/**
 * A service on a fresh data folder (one event type, one key that may publish it and read), loaded from a child
 * process with `connections` keep-alive connections POSTing `body` for the warm-up and then the measured time.
 */
async function httpOnce(root: TempRoot, name: string, body: Item | readonly Item[], eventsPerRequest: number, connections: number, options: Options): Promise<HttpRun> {
  const dir = root.folder(`service-${name}`).path;
  const { key } = createKey(dir, { producer: benchSource, types: [OrderPlaced.type], read: true, admin: false });
  const service = await startService({ dir, config, port: 0, logger: pino({ level: 'silent' }) });
  try {
    const before = await getJson(`${service.url}/health`, healthSchema);
    const cpuBefore = process.cpuUsage();
    const load: LoadReport = await runLoad({
      url: `${service.url}/events`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
      connections,
      warmupSeconds: options.warmupSeconds,
      seconds: options.seconds,
    });
    const cpu = process.cpuUsage(cpuBefore);
    const after = await getJson(`${service.url}/health`, healthSchema);
    const { measured, warmup } = load;
    const phases = warmup === null ? [measured] : [warmup, measured];
    const failures = phases.reduce((sum, p) => sum + p.errors + p.timeouts + p.non2xx, 0);

    // The log grew by every 2xx response's events, and by at most the requests cut off when each phase stopped.
    const appended = Number(after.head) - Number(before.head);
    const answered = phases.reduce((sum, p) => sum + p.ok, 0) * eventsPerRequest;
    const cutOff = phases.length * connections * eventsPerRequest;
    if (appended < answered || appended > answered + cutOff) {
      throw new Error(`HTTP ${name}: the log grew by ${appended} events, but ${answered} were acknowledged (and at most ${cutOff} more were in flight)`);
    }
    if (appended > 0) {
      const last = await getJson(`${service.url}/events?from=${Number(after.head) - 1}&limit=1`, pageSchema, key);
      const event = last.events[0]?.event;
      const want = Array.isArray(body) ? (body[body.length - 1] as Item) : (body as Item);
      if (event?.type !== want.type || event.source !== benchSource || JSON.stringify(event.data) !== JSON.stringify(want.data)) {
        throw new Error(`HTTP ${name}: the log's last event is ${JSON.stringify(event)}, not the body's last event`);
      }
    }
    const requestsPerSecond = measured.ok / measured.seconds;
    return {
      connections,
      eventsPerRequest,
      measured,
      warmup,
      requestsPerSecond,
      eventsPerSecond: requestsPerSecond * eventsPerRequest,
      failures,
      appended,
      serverCpuSeconds: (cpu.user + cpu.system) / 1e6,
      loadCpuSeconds: phases.reduce((sum, p) => sum + p.cpuSeconds, 0),
      autocannon: load.autocannon,
    };
  } finally {
    await service.close();
  }
}

function describe(run: HttpRun): string {
  const m = run.measured;
  const failed = run.failures > 0 ? `, FAILED REQUESTS: ${failureText(run)}` : '';
  return `${formatInteger(m.ok)} requests in ${m.seconds.toFixed(2)} s, ${formatInteger(run.requestsPerSecond)} requests/s, ${formatInteger(run.eventsPerSecond)} events/s, p50 ${m.latencyMs.p50.toFixed(2)} ms, p99 ${m.latencyMs.p99.toFixed(2)} ms, max ${m.latencyMs.max.toFixed(1)} ms; CPU: server ${cpuPercent(run.serverCpuSeconds, run)}, load ${cpuPercent(run.loadCpuSeconds, run)}${failed}`;
}

function phaseSeconds(run: HttpRun): number {
  return run.measured.seconds + (run.warmup?.seconds ?? 0);
}

function cpuPercent(cpuSeconds: number, run: HttpRun): string {
  return `${((cpuSeconds / phaseSeconds(run)) * 100).toFixed(0)}%`;
}

function failureText(run: HttpRun): string {
  const phases = run.warmup === null ? [run.measured] : [run.warmup, run.measured];
  const sum = (pick: (p: LoadPhase) => number): number => phases.reduce((total, p) => total + pick(p), 0);
  const statuses = new Map<string, number>();
  for (const p of phases) for (const [status, count] of Object.entries(p.statuses)) if (!status.startsWith('2')) statuses.set(status, (statuses.get(status) ?? 0) + count);
  const byStatus = [...statuses].map(([status, count]) => `${count}× ${status}`).join(', ');
  return `${sum((p) => p.errors)} errors (${sum((p) => p.timeouts)} timeouts), ${sum((p) => p.non2xx)} non-2xx${byStatus === '' ? '' : ` (${byStatus})`}`;
}

// ---- the report ----------------------------------------------------------------------------------------------------

function fastest<T extends { readonly eventsPerSecond: number }>(runs: readonly T[]): T {
  return runs.reduce((best, run) => (run.eventsPerSecond > best.eventsPerSecond ? run : best));
}

function range(runs: readonly { readonly eventsPerSecond: number }[]): string {
  const values = runs.map((run) => run.eventsPerSecond);
  return `${formatInteger(Math.min(...values))}–${formatInteger(Math.max(...values))}`;
}

function report(
  options: Options,
  bodyBytes: { batch: number; single: number },
  baselineRuns: readonly BaselineRun[],
  batchRuns: readonly HttpRun[],
  sequentialRuns: readonly HttpRun[],
  singleRuns: readonly HttpRun[],
  loadBefore: readonly number[],
  loadAfter: readonly number[],
): SuiteReport {
  const baseline = fastest(baselineRuns);
  const batch = fastest(batchRuns);
  const sequential = fastest(sequentialRuns);
  const single = fastest(singleRuns);
  const batchFailures = batchRuns.reduce((sum, run) => sum + run.failures, 0);
  const sequentialFailures = sequentialRuns.reduce((sum, run) => sum + run.failures, 0);
  const singleFailures = singleRuns.reduce((sum, run) => sum + run.failures, 0);
  const ratio = batch.eventsPerSecond / baseline.eventsPerSecond;
  const sequentialRatio = sequential.eventsPerSecond / baseline.eventsPerSecond;
  const verdict = (failures: number, pass: boolean): string => (failures > 0 ? 'FAIL' : pass ? 'PASS' : 'MISS');
  const failuresCell = (runs: readonly HttpRun[]): string => {
    const all = runs.flatMap((run) => (run.warmup === null ? [run.measured] : [run.warmup, run.measured]));
    return `${all.reduce((sum, p) => sum + p.errors + p.timeouts, 0)} / ${all.reduce((sum, p) => sum + p.non2xx, 0)}`;
  };
  const httpRow = (name: string, run: HttpRun, runs: readonly HttpRun[], measured: string, target: string, result: string): string[] => [
    name,
    String(run.connections),
    String(runs.length),
    formatInteger(run.measured.ok),
    run.measured.seconds.toFixed(2),
    formatInteger(run.requestsPerSecond),
    formatInteger(run.eventsPerSecond),
    run.measured.latencyMs.p50.toFixed(2),
    run.measured.latencyMs.p99.toFixed(2),
    failuresCell(runs),
    measured,
    target,
    result,
  ];
  const rows = [
    [
      `baseline: in-process publishBatch of ${batchSize}`,
      '1',
      String(baselineRuns.length),
      formatInteger(baseline.requests),
      baseline.seconds.toFixed(2),
      formatInteger(baseline.requestsPerSecond),
      formatInteger(baseline.eventsPerSecond),
      baseline.p50Ms.toFixed(2),
      baseline.p99Ms.toFixed(2),
      '',
      '',
      '',
      '',
    ],
    httpRow(`HTTP: POST batches of ${batchSize}`, batch, batchRuns, `${ratio.toFixed(2)} × baseline`, `>= ${targets.httpBatchVsInProcess.toFixed(2)}`, verdict(batchFailures, ratio >= targets.httpBatchVsInProcess)),
    httpRow(`HTTP: POST batches of ${batchSize}, 1 connection`, sequential, sequentialRuns, `${sequentialRatio.toFixed(2)} × baseline`, '', sequentialFailures > 0 ? 'FAIL' : ''),
    httpRow(
      'HTTP: POST single events',
      single,
      singleRuns,
      `${formatInteger(single.eventsPerSecond)} events/s`,
      `>= ${formatInteger(targets.singleEventsPerSecond)} events/s`,
      verdict(singleFailures, single.eventsPerSecond >= targets.singleEventsPerSecond),
    ),
  ];
  const cpuLine = (name: string, runs: readonly HttpRun[]): string =>
    `${name}: server (bench process) ${runs.map((run) => cpuPercent(run.serverCpuSeconds, run)).join(', ')}; load generator ${runs.map((run) => cpuPercent(run.loadCpuSeconds, run)).join(', ')} of one core, per round`;
  const ratios = { http_batch100_vs_inprocess: ratio, http_batch100_1conn_vs_inprocess: sequentialRatio };
  const figures = {
    inprocess_batch100_events_per_sec: Math.round(baseline.eventsPerSecond),
    inprocess_batch100_p50_ms: round(baseline.p50Ms, 2),
    inprocess_batch100_p99_ms: round(baseline.p99Ms, 2),
    http_batch100_events_per_sec: Math.round(batch.eventsPerSecond),
    http_batch100_requests_per_sec: Math.round(batch.requestsPerSecond),
    http_batch100_p50_ms: round(batch.measured.latencyMs.p50, 2),
    http_batch100_p99_ms: round(batch.measured.latencyMs.p99, 2),
    http_batch100_1conn_events_per_sec: Math.round(sequential.eventsPerSecond),
    http_batch100_1conn_p50_ms: round(sequential.measured.latencyMs.p50, 2),
    http_batch100_1conn_p99_ms: round(sequential.measured.latencyMs.p99, 2),
    single_post_events_per_sec: Math.round(single.eventsPerSecond),
    single_post_requests_per_sec: Math.round(single.requestsPerSecond),
    single_post_p50_ms: round(single.measured.latencyMs.p50, 2),
    single_post_p99_ms: round(single.measured.latencyMs.p99, 2),
    http_failed_requests: batchFailures + sequentialFailures + singleFailures,
    load_average_1m_before: round(loadBefore[0] ?? 0, 2),
    load_average_1m_after: round(loadAfter[0] ?? 0, 2),
  };
  return {
    suite: 'service',
    preface: [
      `server: startService in the bench process on 127.0.0.1 (fresh data folder, one event type ${OrderPlaced.type}, a bearer key, no projections); load: ${loadGeneratorDescription}, autocannon ${batch.autocannon}, keep-alive, one request in flight per connection`,
      `bodies: a batch of ${batchSize} events is ${formatInteger(bodyBytes.batch)} bytes, a single event ${formatInteger(bodyBytes.single)} bytes (type and data, no id); baseline: ${formatInteger(options.baselineEvents)} events of the same shape per run`,
      `runs: ${options.rounds} round(s), every case once per round in table order; HTTP runs ${options.warmupSeconds} s warm-up then ${options.seconds} s measured; the fastest run of each case is shown`,
      `load average (1, 5, 15 min): ${loadBefore.map((l) => l.toFixed(2)).join(', ')} before, ${loadAfter.map((l) => l.toFixed(2)).join(', ')} after`,
    ],
    table: {
      headers: ['case', 'conns', 'runs', 'requests', 'seconds', 'requests/s', 'events/s', 'p50 ms', 'p99 ms', 'errors/non-2xx', 'measured', 'target', 'result'],
      numeric: [false, true, true, true, true, true, true, true, true, true, false, false, false],
      rows,
    },
    notes: [
      `latency: baseline, one publishBatch call; HTTP, from the request written to the response read, in the load process (2xx only); errors/non-2xx: all rounds, warm-ups included (any fails the case)`,
      `events/s of every round: baseline ${range(baselineRuns)}; HTTP batches ${range(batchRuns)}; HTTP batches on 1 connection ${range(sequentialRuns)}; HTTP single ${range(singleRuns)}`,
      cpuLine('CPU, HTTP batches', batchRuns),
      cpuLine('CPU, HTTP batches on 1 connection', sequentialRuns),
      cpuLine('CPU, HTTP single', singleRuns),
      `checked in every HTTP run: the log grew by the events of the 2xx responses (plus at most the requests in flight when the load stopped), and its last event is the body's last event`,
    ],
    ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, round(v, 3)])),
    figures,
  };
}
