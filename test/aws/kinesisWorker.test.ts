import { ListShardsCommand, SplitShardCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { afterAll, describe, expect, it } from 'vitest';
import { createKinesisWorker, type KinesisWorker } from '../../src/aws/index.ts';
import { leaseTableName } from '../../src/aws/resources.ts';
import { LeaseTable } from '../../src/aws/leases/leaseTable.ts';
import { numberedBatch, numberedProjection } from '../support/numbered.ts';
import { createTestStream, kinesaliteClient } from './kinesisStreams.ts';
import { createDynamoViewStorage, dynamoClient, numberedPublisher, uniquePrefix, untilViewHas } from './workerSetup.ts';

const kinesis = kinesaliteClient();
const dynamodb = dynamoClient();
afterAll(() => {
  kinesis.destroy();
  dynamodb.destroy();
});

const until = async (check: () => boolean | Promise<boolean>, what: string, ms = 30_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

const errors: unknown[] = [];
const worker = (streamName: string, prefix: string, workerId: string): KinesisWorker =>
  createKinesisWorker({
    projection: numberedProjection,
    storage: createDynamoViewStorage({ client: dynamodb, tablePrefix: prefix }),
    kinesis,
    dynamodb,
    streamName,
    leaseTableName: leaseTableName(prefix),
    workerId,
    leaseDurationMs: 1500,
    shardSyncIntervalMs: 500,
    pollIntervalMs: 100,
    onError: (error) => errors.push(error),
  });

describe('distributed Kinesis workers (kinesalite + DynamoDB Local)', () => {
  it('two workers share four shards two and two, and build the view with every event once, in per-key order', async () => {
    const stream = await createTestStream(kinesis, 4);
    const prefix = uniquePrefix();
    const publisher = numberedPublisher(kinesis, stream.streamName);
    const next = new Map<string, number>();
    await publisher.publish(numberedBatch(300, 24, next));
    const a = worker(stream.streamName, prefix, 'worker-a');
    const b = worker(stream.streamName, prefix, 'worker-b');
    try {
      await until(() => a.status().shards.length === 2 && b.status().shards.length === 2, 'a fair share of the leases (2 + 2)');
      await publisher.publish(numberedBatch(300, 24, next, 300));
      const rows = await untilViewHas(createDynamoViewStorage({ client: dynamodb, tablePrefix: prefix }), next);
      for (const [key, n] of next) expect(rows.get(key), key).toEqual({ key, count: n, last: n, outOfOrder: 0 });
      expect(new Set([...a.status().shards, ...b.status().shards].map((s) => s.shardId)).size).toBe(4);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await publisher.close();
      await stream.remove();
    }
  });

  it('a stopped worker releases its leases and the other takes them at once', async () => {
    const stream = await createTestStream(kinesis, 2);
    const prefix = uniquePrefix();
    const a = worker(stream.streamName, prefix, 'worker-a');
    const b = worker(stream.streamName, prefix, 'worker-b');
    try {
      await until(() => a.status().shards.length === 1 && b.status().shards.length === 1, 'one lease each');
      await a.stop();
      const leases = new LeaseTable(dynamodb, leaseTableName(prefix), numberedProjection.name);
      expect((await leases.list()).filter((lease) => lease.owner === 'worker-a')).toEqual([]);
      // Well before the lease duration would have let it take an expired lease.
      await until(() => b.status().shards.length === 2, 'worker-b holding both leases', 1400);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await stream.remove();
    }
  });

  it('splitting a shard while consuming keeps every key in order: children are read after their parent', async () => {
    const stream = await createTestStream(kinesis, 2);
    const prefix = uniquePrefix();
    const publisher = numberedPublisher(kinesis, stream.streamName);
    const next = new Map<string, number>();
    const a = worker(stream.streamName, prefix, 'worker-a');
    try {
      await publisher.publish(numberedBatch(200, 16, next));
      const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: stream.streamName }));
      const parent = Shards[0]!;
      const start = BigInt(parent.HashKeyRange!.StartingHashKey!);
      const end = BigInt(parent.HashKeyRange!.EndingHashKey!);
      await kinesis.send(new SplitShardCommand({ StreamName: stream.streamName, ShardToSplit: parent.ShardId!, NewStartingHashKey: ((start + end) / 2n).toString() }));
      await until(async () => (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream.streamName }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE', 'the split');
      // These land in the children; keys of the parent continue there.
      await publisher.publish(numberedBatch(200, 16, next, 200));
      const rows = await untilViewHas(createDynamoViewStorage({ client: dynamodb, tablePrefix: prefix }), next);
      for (const [key, n] of next) expect(rows.get(key), key).toEqual({ key, count: n, last: n, outOfOrder: 0 });
      const leases = new LeaseTable(dynamodb, leaseTableName(prefix), numberedProjection.name);
      const parentLease = (await leases.list()).find((lease) => lease.shard === parent.ShardId);
      expect(parentLease?.ended, 'the parent lease is finished').toBe(true);
    } finally {
      await a.stop();
      await publisher.close();
      await stream.remove();
    }
  });
});
