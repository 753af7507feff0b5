import { DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoViewStorage, createKinesisEventLog, createKinesisHandler, type KinesisStreamEvent, type KinesisStreamRecord } from '../../src/aws/index.ts';
import { createMemoryViewStorage, createPublisher, type ViewStorage, type ViewStore } from '../../src/index.ts';
import { cartProjection, foldCarts, ItemAdded, ItemRemoved } from '../support/cart.ts';
import { createTestStream, kinesaliteClient } from './kinesisStreams.ts';
import { dynamoClient, uniquePrefix } from './workerSetup.ts';

const client = kinesaliteClient();
afterAll(() => { client.destroy(); });

/** Publishes cart events to a fresh 2-shard stream; returns them in publish order and the Lambda event Lambda would build from the stream. */
async function streamWithEvents(count: number): Promise<{ events: { type: string; data: unknown }[]; lambdaEvent: KinesisStreamEvent }> {
  const stream = await createTestStream(client, 2);
  const log = createKinesisEventLog({ client, streamName: stream.streamName });
  const publish = createPublisher({ log, catalog: [ItemAdded, ItemRemoved], source: 'cart-service' });
  const events: { type: string; data: unknown }[] = [];
  for (let i = 0; i < count; i++) {
    const data = i % 7 === 6 ? { cartId: `c${i % 5}`, productId: `p${i - 5}` } : { cartId: `c${i % 5}`, productId: `p${i}`, quantity: 1 + (i % 3) };
    const type = 'quantity' in data ? 'cart.item-added' : 'cart.item-removed';
    await (type === 'cart.item-added' ? publish.publish('cart.item-added', data as { cartId: string; productId: string; quantity: number }) : publish.publish('cart.item-removed', data));
    events.push({ type, data });
  }
  await log.close();
  const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: stream.streamName }));
  const arn = StreamDescriptionSummary?.StreamARN ?? '';
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: stream.streamName }));
  const Records: KinesisStreamRecord[] = [];
  for (const shard of Shards) {
    const shardId = shard.ShardId ?? '';
    const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: stream.streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
    const { Records: raw = [] } = await client.send(new GetRecordsCommand({ ShardIterator, Limit: 10_000 }));
    // The payload as Lambda builds it for a Kinesis event source mapping.
    for (const r of raw) {
      Records.push({
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: r.PartitionKey ?? '',
          sequenceNumber: r.SequenceNumber ?? '',
          data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
          approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp?.getTime() ?? 0) / 1000,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `${shardId}:${r.SequenceNumber ?? ''}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: 'arn:aws:iam::123456789012:role/lambda-role',
        awsRegion: 'us-east-1',
        eventSourceARN: arn,
      });
    }
  }
  await stream.remove();
  expect(Records, 'every published event is in the payload').toHaveLength(count);
  expect(new Set(Records.map((r) => r.eventID.split(':')[0])).size, 'the events span both shards').toBe(2);
  return { events, lambdaEvent: { Records } };
}

async function rows(storage: ViewStorage): Promise<Map<string, unknown>> {
  const copy = await storage.current('carts');
  if (copy === undefined) return new Map();
  const store = await storage.open('carts', copy, cartProjection().layout);
  const page = await store.scan('carts', { limit: 1000 });
  return new Map(page.map((row) => [row['cartId'] as string, { ...row }]));
}

/** Storage whose stores fail every commit while `failing.on` is set. */
function failingStorage(failing: { on: boolean }): ViewStorage {
  const storage = createMemoryViewStorage();
  return {
    ...storage,
    open: async (projection, copy, layout) => {
      const store = await storage.open(projection, copy, layout);
      const commit: ViewStore['commit'] = (changes, checkpoint) => (failing.on ? Promise.reject(new Error('store unavailable (injected)')) : store.commit(changes, checkpoint));
      return { ...store, commit } satisfies ViewStore;
    },
  };
}

describe('Lambda Kinesis handler (kinesalite payloads)', () => {
  it('applies a payload like the reference fold, and a second invocation changes nothing', async () => {
    const { events, lambdaEvent } = await streamWithEvents(40);
    const storage = createMemoryViewStorage();
    const handler = createKinesisHandler({ projection: cartProjection(), storage });
    expect(await handler(lambdaEvent)).toEqual({ batchItemFailures: [] });
    const view = await rows(storage);
    expect(view, 'the view is the fold of the events').toEqual(foldCarts(events));
    expect(await handler(lambdaEvent), 'a retried batch succeeds').toEqual({ batchItemFailures: [] });
    expect(await rows(storage), 'a retried batch is not applied twice').toEqual(view);
  });

  it('keeps the view in DynamoDB (Local): concurrent invocations of two shards race for the checkpoint and both apply once', async () => {
    const { events, lambdaEvent } = await streamWithEvents(40);
    const dynamodb = dynamoClient();
    try {
      const prefix = uniquePrefix();
      const storage = createDynamoViewStorage({ client: dynamodb, tablePrefix: prefix });
      // Two containers, one per shard, invoked at the same time as Lambda does with one batch per shard.
      const byShard = new Map<string, KinesisStreamRecord[]>();
      for (const r of lambdaEvent.Records) byShard.set(r.eventID.split(':')[0] ?? '', [...(byShard.get(r.eventID.split(':')[0] ?? '') ?? []), r]);
      const invocations = [...byShard.values()].map((Records) => createKinesisHandler({ projection: cartProjection(), storage: createDynamoViewStorage({ client: dynamodb, tablePrefix: prefix }) })({ Records }));
      expect(await Promise.all(invocations)).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
      expect(await rows(storage)).toEqual(foldCarts(events));
      expect(await createKinesisHandler({ projection: cartProjection(), storage })(lambdaEvent), 'a retried payload').toEqual({ batchItemFailures: [] });
      expect(await rows(storage), 'is not applied twice').toEqual(foldCarts(events));
    } finally {
      dynamodb.destroy();
    }
  });

  it('reports the first record of a shard whose commit fails, applies nothing, and applies it all on the retry', async () => {
    const { events, lambdaEvent } = await streamWithEvents(20);
    const failing = { on: true };
    const storage = failingStorage(failing);
    const handler = createKinesisHandler({ projection: cartProjection(), storage, onError: () => undefined });
    const firsts = new Map<string, string>();
    for (const r of lambdaEvent.Records) if (!firsts.has(r.eventID.split(':')[0] ?? '')) firsts.set(r.eventID.split(':')[0] ?? '', r.kinesis.sequenceNumber);
    const result = await handler(lambdaEvent);
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort(), 'each shard reports its first record').toEqual([...firsts.values()].sort());
    expect((await rows(storage)).size, 'nothing was applied').toBe(0);
    failing.on = false;
    expect(await handler(lambdaEvent)).toEqual({ batchItemFailures: [] });
    expect(await rows(storage)).toEqual(foldCarts(events));
  });

  it('sends a poison event to the dead letters and applies the rest', async () => {
    const { events, lambdaEvent } = await streamWithEvents(30);
    const storage = createMemoryViewStorage();
    const poison = (cartId: string, productId: string) => cartId === 'c2' && productId === 'p7';
    const handler = createKinesisHandler({ projection: cartProjection(1, poison), storage, onPoison: 'skip', retry: { attempts: 2, initialDelayMs: 1 } });
    expect(await handler(lambdaEvent), 'a poison event is not a batch failure').toEqual({ batchItemFailures: [] });
    expect(await rows(storage)).toEqual(foldCarts(events, poison));
    const store = await storage.open('carts', (await storage.current('carts')) ?? '', cartProjection().layout);
    const letters = await store.deadLetters();
    expect(letters.map((d) => [d.event.data, d.attempts, d.error.message])).toEqual([[{ cartId: 'c2', productId: 'p7', quantity: 2 }, 2, 'cannot add p7']]);
    expect(letters[0]?.position, 'the dead letter has the record position').toMatch(/^kinesis:shardId-\d+=at\.\d+$/);
  });
});
