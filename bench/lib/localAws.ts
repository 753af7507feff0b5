/**
 * Local AWS for the bench: kinesalite and DynamoDB Local on random ports of 127.0.0.1, started as
 * test/aws/globalSetup.ts starts them (same options, same JVM flags), each in its own process.
 * The credentials are placeholders: DynamoDB Local accepts only alphanumeric access keys.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { startDynamoDbLocal as startDynamoDbLocalProcess } from '../../infra/local/dynamoDbLocal.ts';
import { stopChild } from '../../infra/local/processes.ts';

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

/** DynamoDB Local (Java 17+) on a free port, started as the tests start it. */
export async function startDynamoDbLocal(): Promise<LocalServer> {
  const began = performance.now();
  const server = await startDynamoDbLocalProcess();
  return { endpoint: `http://127.0.0.1:${server.port}`, startupMs: Math.round(performance.now() - began), stop: () => server.stop() };
}
