import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { AwsTestEndpoints } from './endpoints.ts';
import { startDynamoDbLocal } from '../../infra/local/dynamoDbLocal.ts';
import { startKinesalite } from '../../infra/local/kinesalite.ts';
import { startS3rver } from '../../infra/local/s3rver.ts';
import { startLazyServer, type LazyServer } from './lazyServer.ts';

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
    // In memory, no CREATING delay and a high shard limit: each test can create its own stream.
    startLazyServer(startKinesalite),
    // A temporary folder, removed when it stops.
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
