import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { AwsTestEndpoints } from './endpoints.ts';
import { startDynamoDbLocal } from '../../infra/local/dynamoDbLocal.ts';
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


