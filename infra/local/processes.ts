import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

// Child processes of the local AWS stand-ins (tests, benchmarks): free ports, readiness, stopping.

/** Polls until the URL answers with any HTTP status; fails at once if the process exits, with its last output. */
export async function waitUntilAnswers(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  let output = '';
  const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2000));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = `exited (${signal ?? code ?? '?'})`));
  child.once('error', (error) => (exit = `could not start (${error.message})`));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exit !== undefined) throw new Error(`DynamoDB Local ${exit}: ${output.trim()}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      child.stdout?.off('data', collect);
      child.stderr?.off('data', collect);
      // Drain the pipes so a chatty JVM never blocks on a full buffer.
      child.stdout?.resume();
      child.stderr?.resume();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms: ${output.trim()}`);
}

/** Asks the child to end (SIGTERM unless `ask` says otherwise), and kills it if it has not exited 5 s later. */
export async function stopChild(child: ChildProcess, ask: () => void = () => child.kill('SIGTERM')): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
  ask();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => {
        if (address !== null && typeof address !== 'string') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Puts environment variables back as they were (undefined: removed). */
export function restoreEnv(saved: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
}

/** Throws when something already listens on `port` (any interface): a server given a fixed port must not answer for another. */
export function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new Error(`Port ${port} is in use: stop what listens there, or choose other ports.`) : error);
    });
    probe.listen(port, () => probe.close(() => { resolve(); }));
  });
}
