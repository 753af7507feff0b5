/**
 * One measured job in a fresh child process (`node --import tsx <worker file>`), so that its peak RSS is its own and
 * nothing of an earlier job (heap, JIT, page cache of its own making aside) is left in the process.
 * The parent sends one job over IPC; the worker answers once with its result or its error and exits.
 */
import { fork, type Serializable } from 'node:child_process';
import type { z } from 'zod';

/** The same tsx loader `npm run bench` runs under, by absolute URL so that it resolves from any working directory. */
const tsxLoader = import.meta.resolve('tsx');

interface Reply {
  readonly ok: boolean;
  readonly result?: Serializable;
  readonly error?: string;
}

/**
 * Forks `file`, sends it `job` and resolves with its result, parsed with `schema`. The worker's stdout and stderr go to
 * this process's stderr, so that `--json` output stays one line.
 */
export function runWorker<T>(file: string, job: Serializable, schema: z.ZodType<T>, limitMs: number): Promise<T> {
  const child = fork(file, [], { execArgv: ['--import', tsxLoader], stdio: ['ignore', 2, 2, 'ipc'], serialization: 'json' });
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | undefined, result?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        if (child.exitCode === null) child.kill('SIGTERM');
        reject(error);
      } else {
        resolve(result as T);
      }
    };
    const timer = setTimeout(() => {
      finish(new Error(`${file}: no result after ${Math.round(limitMs / 1000)} s`));
    }, limitMs);
    child.once('message', (message: unknown) => {
      const reply = message as Reply | null;
      if (reply === null || typeof reply !== 'object') {
        finish(new Error(`${file}: unexpected message ${JSON.stringify(message)}`));
      } else if (!reply.ok) {
        finish(new Error(`${file}: ${reply.error ?? 'failed without a message'}`));
      } else {
        const parsed = schema.safeParse(reply.result);
        if (parsed.success) finish(undefined, parsed.data);
        else finish(new Error(`${file}: unexpected result ${parsed.error.message}`));
      }
    });
    child.once('error', (error) => {
      finish(error);
    });
    child.once('close', (code, signal) => {
      finish(new Error(`${file} exited (${signal ?? `code ${code ?? '?'}`}) without a result`));
    });
    child.send(job);
  });
}

/** In a worker: takes the one job, parses it with `schema`, runs `work` and sends its result (or its error) back. */
export function serveWorker<J>(schema: z.ZodType<J>, work: (job: J) => Promise<Serializable>): void {
  const reply = (message: Reply): void => {
    if (!process.send) throw new Error('a bench worker runs as a child process of runWorker (bench/lib/worker.ts), with an IPC channel');
    process.send(message, undefined, {}, () => {
      process.disconnect();
      // A handle a library leaves open (a pool, a timer) must not keep the finished worker alive.
      setTimeout(() => process.exit(0), 2000).unref();
    });
  };
  process.once('message', (message: unknown) => {
    const parsed = schema.safeParse(message);
    if (!parsed.success) {
      reply({ ok: false, error: `bad job: ${parsed.error.message}` });
      return;
    }
    work(parsed.data).then(
      (result) => {
        reply({ ok: true, result });
      },
      (error: unknown) => {
        reply({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      },
    );
  });
}

/** The process's peak resident set size so far (the kernel's ru_maxrss), in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}
