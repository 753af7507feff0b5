/**
 * HTTP load from a second process: {@link runLoad} forks bench/lib/loadWorker.ts (under tsx), which runs autocannon
 * against a URL for a warm-up and then for the measured time, and sends back what it saw. The load generator thus
 * never shares the event loop of a server that runs in the bench process.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { z } from 'zod';

/** What the parent asks the worker to do: keep-alive POSTs of one fixed body, from `connections` connections. */
export const loadJobSchema = z.object({
  url: z.string(),
  method: z.literal('POST'),
  headers: z.record(z.string(), z.string()),
  body: z.string(),
  connections: z.number().int().positive(),
  /** Seconds of load whose results are thrown away (same URL, body and connections). */
  warmupSeconds: z.number().nonnegative(),
  /** Seconds of load that are measured. */
  seconds: z.number().positive(),
});
export type LoadJob = z.output<typeof loadJobSchema>;

/** What one phase (warm-up or measured) of a job saw. */
export const loadPhaseSchema = z.object({
  /** Seconds, as autocannon measured them (from the first connection to the last sample). */
  seconds: z.number(),
  /** Responses with a 2xx status. */
  ok: z.number(),
  /** Responses with any other status, by status. */
  non2xx: z.number(),
  statuses: z.record(z.string(), z.number()),
  /** Connection errors, including timeouts. */
  errors: z.number(),
  timeouts: z.number(),
  /** Latency of the 2xx responses in milliseconds (from the request written to the response read), to the µs. */
  latencyMs: z.object({ p50: z.number(), p90: z.number(), p99: z.number(), max: z.number(), mean: z.number() }),
  /** CPU seconds the worker process used during the phase (user + system). */
  cpuSeconds: z.number(),
});
export type LoadPhase = z.output<typeof loadPhaseSchema>;

export const loadReportSchema = z.object({
  warmup: loadPhaseSchema.nullable(),
  measured: loadPhaseSchema,
  /** The autocannon version that generated the load. */
  autocannon: z.string(),
});
export type LoadReport = z.output<typeof loadReportSchema>;

/** The worker's only message: its report, or why it failed. */
export const loadReplySchema = z.union([z.object({ ok: z.literal(true), report: loadReportSchema }), z.object({ ok: z.literal(false), error: z.string() })]);
export type LoadReply = z.output<typeof loadReplySchema>;

const workerFile = path.join(import.meta.dirname, 'loadWorker.ts');
/** The same tsx loader `npm run bench` runs under, by absolute URL so that it resolves from any working directory. */
const tsxLoader = import.meta.resolve('tsx');

/** How the load generator is run, for table headers. */
export const loadGeneratorDescription = 'autocannon in a child process (node --import tsx bench/lib/loadWorker.ts)';

/**
 * Runs `job` in a fresh worker process and resolves with its report. The worker's stdout and stderr go to this
 * process's stderr, so that `--json` output stays one line.
 */
export function runLoad(job: LoadJob): Promise<LoadReport> {
  const child = fork(workerFile, [], { execArgv: ['--import', tsxLoader], stdio: ['ignore', 2, 2, 'ipc'], serialization: 'json' });
  const limitMs = (job.warmupSeconds + job.seconds) * 1000 + 60_000;
  return new Promise<LoadReport>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | undefined, report?: LoadReport): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        if (child.exitCode === null) child.kill();
        reject(error);
      } else {
        resolve(report as LoadReport);
      }
    };
    const timer = setTimeout(() => {
      finish(new Error(`load worker: no report after ${limitMs / 1000} s`));
    }, limitMs);
    child.once('message', (message: unknown) => {
      const reply = loadReplySchema.safeParse(message);
      if (!reply.success) finish(new Error(`load worker: unexpected message ${JSON.stringify(message)}`));
      else if (!reply.data.ok) finish(new Error(`load worker: ${reply.data.error}`));
      else finish(undefined, reply.data.report);
    });
    child.once('error', (error) => {
      finish(error);
    });
    child.once('close', (code, signal) => {
      finish(new Error(`load worker exited (${signal ?? `code ${code ?? '?'}`}) without a report`));
    });
    child.send(job);
  });
}
