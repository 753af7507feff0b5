import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { leaseTableName } from '../../src/aws/resources.ts';
import { LeaseTable } from '../../src/aws/leases/leaseTable.ts';
import { numberedBatch, numberedProjection } from '../support/numbered.ts';
import { awsEndpoints } from './endpoints.ts';
import { createTestStream, kinesaliteClient } from './kinesisStreams.ts';
import { createDynamoViewStorage, dynamoClient, numberedPublisher, uniquePrefix, untilViewHas } from './workerSetup.ts';

const fixture = new URL('../fixtures/kinesisWorkerChild.ts', import.meta.url).pathname;
const kinesis = kinesaliteClient();
const dynamodb = dynamoClient();
afterAll(() => {
  kinesis.destroy();
  dynamodb.destroy();
});

/** A worker child process and the shards it last said it holds. */
function startWorker(streamName: string, prefix: string, workerId: string): { child: ChildProcess; held: () => string[]; exited: Promise<void> } {
  const aws = awsEndpoints();
  if (!('endpoint' in aws.dynamodb)) throw new Error(aws.dynamodb.unavailable);
  const env = { ...process.env, AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey };
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, aws.kinesis, aws.dynamodb.endpoint, aws.region, streamName, prefix, workerId], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let held: string[] = [];
  void (async () => {
    for await (const line of createInterface({ input: child.stdout })) {
      if (line.startsWith('held ')) held = line.slice(5).split(',').filter((s) => s !== '');
    }
  })();
  child.stderr.resume();
  const exited = new Promise<void>((resolve) => child.on('exit', () => { resolve(); }));
  return { child, held: () => held, exited };
}

const until = async (check: () => boolean, what: string, ms = 60_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe('lease takeover: SIGKILL one of two worker processes', () => {
  it('the survivor takes the dead worker\'s shards after the lease duration; no event is skipped or applied twice', async () => {
    const stream = await createTestStream(kinesis, 4);
    const prefix = uniquePrefix();
    const publisher = numberedPublisher(kinesis, stream.streamName);
    const next = new Map<string, number>();
    const a = startWorker(stream.streamName, prefix, 'worker-a');
    const b = startWorker(stream.streamName, prefix, 'worker-b');
    try {
      await until(() => a.held().length === 2 && b.held().length === 2, 'two leases each');
      const killed = a.held();
      // Events keep arriving before, during and after the kill.
      let publishing = true;
      let sent = 0;
      const feed = (async () => {
        while (publishing) {
          await publisher.publish(numberedBatch(40, 32, next, sent));
          sent += 40;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      await until(() => sent >= 400, '400 events in');
      a.child.kill('SIGKILL');
      await a.exited;
      await until(() => b.held().length === 4, 'worker-b holding all four shards');
      expect(b.held()).toEqual(expect.arrayContaining(killed));
      await until(() => sent >= 1200, '1200 events in');
      publishing = false;
      await feed;

      const rows = await untilViewHas(createDynamoViewStorage({ client: dynamodb, tablePrefix: prefix }), next, 60_000);
      // count = n: nothing applied twice; outOfOrder = 0: nothing skipped or reordered within a key.
      for (const [key, n] of next) expect(rows.get(key), key).toEqual({ key, count: n, last: n, outOfOrder: 0 });
      const leases = await new LeaseTable(dynamodb, leaseTableName(prefix), numberedProjection.name).list();
      expect(leases.map((lease) => lease.owner)).toEqual(['worker-b', 'worker-b', 'worker-b', 'worker-b']);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
      await Promise.all([a.exited, b.exited]);
      await publisher.close();
      await stream.remove();
    }
  });
});
