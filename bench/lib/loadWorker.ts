/**
 * The load generator process of {@link runLoad} (bench/lib/load.ts): receives one job over IPC, runs autocannon for
 * the warm-up and then for the measured time (keep-alive connections, one request in flight on each), replies with a
 * report and exits. Latencies are taken from autocannon's per-response times (to the µs), not from its histogram,
 * which keeps whole milliseconds.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import autocannon from 'autocannon';
import { loadJobSchema, type LoadJob, type LoadPhase, type LoadReply } from './load.ts';

const require = createRequire(import.meta.url);

function autocannonVersion(): string {
  const file = path.join(path.dirname(require.resolve('autocannon')), 'package.json');
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const version = (parsed as { version?: unknown }).version;
  return typeof version === 'string' ? version : 'unknown';
}

/** The nearest-rank percentile of sorted values (0 when there are none). */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Latencies of 2xx responses, in a growing typed array. */
class Latencies {
  private values = new Float64Array(1 << 16);
  private count = 0;

  add(ms: number): void {
    if (this.count === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.count++] = ms;
  }

  summary(): LoadPhase['latencyMs'] {
    const sorted = this.values.slice(0, this.count).sort();
    let sum = 0;
    for (const ms of sorted) sum += ms;
    return {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: this.count === 0 ? 0 : (sorted[this.count - 1] as number),
      mean: this.count === 0 ? 0 : sum / this.count,
    };
  }
}

async function phase(job: LoadJob, seconds: number): Promise<LoadPhase> {
  const latencies = new Latencies();
  const cpuBefore = process.cpuUsage();
  const options: autocannon.Options = {
    url: job.url,
    method: job.method,
    headers: job.headers,
    body: job.body,
    connections: job.connections,
    pipelining: 1,
    duration: seconds,
    timeout: 30,
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error: unknown, done: autocannon.Result) => {
      if (error) reject(error instanceof Error ? error : new Error(`autocannon failed: ${JSON.stringify(error)}`));
      else resolve(done);
    });
    instance.on('response', (_client, statusCode, _bytes, ms) => {
      if (statusCode >= 200 && statusCode < 300) latencies.add(ms);
    });
  });
  const cpu = process.cpuUsage(cpuBefore);
  const statuses: Record<string, number> = {};
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) statuses[status] = stats.count ?? 0;
  return {
    seconds: result.duration,
    ok: result['2xx'],
    non2xx: result.non2xx,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: latencies.summary(),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

async function work(message: unknown): Promise<LoadReply> {
  const parsed = loadJobSchema.safeParse(message);
  if (!parsed.success) return { ok: false, error: `bad job: ${parsed.error.message}` };
  const job = parsed.data;
  const warmup = job.warmupSeconds > 0 ? await phase(job, job.warmupSeconds) : null;
  const measured = await phase(job, job.seconds);
  return { ok: true, report: { warmup, measured, autocannon: autocannonVersion() } };
}

function reply(message: LoadReply): void {
  if (!process.send) throw new Error('loadWorker.ts runs as a child process of runLoad (bench/lib/load.ts), with an IPC channel');
  process.send(message, undefined, {}, () => {
    process.disconnect();
  });
}

process.once('message', (message: unknown) => {
  work(message).then(reply, (error: unknown) => {
    reply({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  });
});
