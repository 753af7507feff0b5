// createConsumer on the Kinesis log (per-key order) with DynamoDB views: the single-process consumer the demo uses
// on the AWS backend. Checkpoints are cuts, waits compare cuts shard by shard, lag is counted by reading.
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createKinesisEventLog } from '../../src/aws/index.ts';
import { createConsumer, createPublisher, defineEvent, defineProjection, defineReactor, isUnilogError } from '../../src/index.ts';
import { numberedBatch, numberedProjection, Numbered } from '../support/numbered.ts';
import { createTestStream, kinesaliteClient } from './kinesisStreams.ts';
import { createDynamoViewStorage, dynamoClient, numberedRows, uniquePrefix } from './workerSetup.ts';

const kinesis = kinesaliteClient();
const dynamodb = dynamoClient();
afterAll(() => {
  kinesis.destroy();
  dynamodb.destroy();
});

const fast = { pollIntervalMs: 50 } as const;

describe('createConsumer on the Kinesis log (kinesalite + DynamoDB Local)', () => {
  it('builds the view from three shards in per-key order, waits by position and by head, and resumes from its cut with nothing twice', async () => {
    const stream = await createTestStream(kinesis, 3);
    const log = createKinesisEventLog({ client: kinesis, streamName: stream.streamName, ...fast });
    const storage = createDynamoViewStorage({ client: dynamodb, tablePrefix: uniquePrefix() });
    const publisher = createPublisher({ log, catalog: [Numbered], source: 'consumer-test' });
    const next = new Map<string, number>();
    try {
      await publisher.publishBatch(numberedBatch(150, 12, next).map((data) => ({ type: 'test.numbered' as const, data })));
      const consumer = createConsumer(numberedProjection, { log, storage, batchSize: 40 });
      await consumer.start();
      await consumer.catchUp(await log.head(), { timeoutMs: 30_000 });
      let rows = await numberedRows(storage);
      expect([...rows.values()].reduce((sum, r) => sum + r.count, 0)).toBe(150);
      expect([...rows].every(([key, r]) => r.outOfOrder === 0 && r.last === next.get(key))).toBe(true);
      const caughtUp = await consumer.status();
      expect(caughtUp.position).toMatch(/^kinesis:/);
      expect(caughtUp.lagEvents).toBe(0);

      // Read-your-writes by the position append returned.
      const late = await publisher.publish('test.numbered', { key: 'key-0', n: (next.get('key-0') ?? 0) + 1 });
      next.set('key-0', (next.get('key-0') ?? 0) + 1);
      await consumer.waitFor(late.position, { timeoutMs: 30_000 });
      expect((await consumer.view.keys.get('key-0'))?.['last']).toBe(next.get('key-0'));
      await consumer.stop();

      // Stopped: the lag is counted by reading from the checkpoint; a new consumer goes on from the cut.
      await publisher.publishBatch(numberedBatch(60, 12, next, 5).map((data) => ({ type: 'test.numbered' as const, data })));
      const resumed = createConsumer(numberedProjection, { log, storage, batchSize: 40 });
      expect((await resumed.status()).lagEvents).toBe(60);
      await resumed.start();
      await resumed.catchUp(await log.head(), { timeoutMs: 30_000 });
      rows = await numberedRows(storage);
      expect([...rows.values()].reduce((sum, r) => sum + r.count, 0)).toBe(211);
      expect([...rows].every(([key, r]) => r.outOfOrder === 0 && r.last === next.get(key))).toBe(true);

      // A rebuild reads the whole stream again into a fresh copy and switches: the same view.
      const rebuilt = await resumed.rebuild();
      expect(rebuilt.events).toBe(211);
      rows = await numberedRows(storage);
      expect([...rows.values()].reduce((sum, r) => sum + r.count, 0)).toBe(211);
      expect([...rows.values()].every((r) => r.outOfOrder === 0)).toBe(true);

      // Positions of another log are refused with their code.
      const refused = await resumed.waitFor('17').catch((error: unknown) => error);
      expect(isUnilogError(refused, 'InvalidPosition')).toBe(true);
      await resumed.stop();
      const stopped = await resumed.catchUp(await log.head()).then(
        () => 'reached',
        (error: unknown) => error,
      );
      // Everything was processed before the stop, so a stopped consumer has reached the head already.
      expect(stopped).toBe('reached');
    } finally {
      await log.close();
      await stream.remove();
    }
  });

  it('parks a poison key with its Kinesis position and applies it and the parked events on retry', async () => {
    const stream = await createTestStream(kinesis, 2);
    const log = createKinesisEventLog({ client: kinesis, streamName: stream.streamName, ...fast });
    const storage = createDynamoViewStorage({ client: dynamodb, tablePrefix: uniquePrefix() });
    const Priced = defineEvent({ type: 'test.priced', schema: z.object({ sku: z.string(), price: z.number() }), key: (e) => e.sku });
    let broken = true;
    const prices = defineProjection({ name: 'prices', version: 1, events: [Priced], tables: { skus: { row: z.object({ sku: z.string(), price: z.number(), changes: z.number() }), key: 'sku' } } }).on({
      'test.priced': async (event, view) => {
        if (broken && event.data.price < 0) throw new Error('negative price');
        const row = await view.skus.get(event.data.sku);
        view.skus.put({ sku: event.data.sku, price: event.data.price, changes: (row?.changes ?? 0) + 1 });
      },
    });
    const publisher = createPublisher({ log, catalog: [Priced], source: 'consumer-test' });
    const consumer = createConsumer(prices, { log, storage, retry: { attempts: 1 } });
    try {
      await consumer.start();
      await publisher.publishBatch([
        { type: 'test.priced', data: { sku: 'a', price: 1 } },
        { type: 'test.priced', data: { sku: 'b', price: -1 } },
        { type: 'test.priced', data: { sku: 'b', price: 3 } },
        { type: 'test.priced', data: { sku: 'c', price: 4 } },
      ]);
      await consumer.catchUp(await log.head(), { timeoutMs: 30_000 });
      expect(await consumer.view.skus.get('b')).toBeUndefined();
      expect((await consumer.view.skus.get('c'))?.price).toBe(4);
      const [letter, ...more] = await consumer.deadLetters.list();
      expect(more).toEqual([]);
      expect(letter?.position).toMatch(/^kinesis:shardId-/);
      broken = false;
      const retried = await consumer.deadLetters.retry(letter?.position ?? '');
      expect(retried).toEqual({ applied: true, released: 1 });
      expect(await consumer.view.skus.get('b')).toEqual({ sku: 'b', price: 3, changes: 2 });
      expect(await consumer.deadLetters.list()).toEqual([]);
    } finally {
      await consumer.stop();
      await log.close();
      await stream.remove();
    }
  });

  it('runs a reactor from the start of the stream: every event once, each key in order, across a restart', async () => {
    const stream = await createTestStream(kinesis, 2);
    const log = createKinesisEventLog({ client: kinesis, streamName: stream.streamName, ...fast });
    const storage = createDynamoViewStorage({ client: dynamodb, tablePrefix: uniquePrefix() });
    const seen: { key: string; n: number; id: string }[] = [];
    const reactor = defineReactor({ name: 'numbered-reactor', events: [Numbered], startFrom: 'start' }).on({
      'test.numbered': (event, { idempotencyKey }) => {
        seen.push({ ...event.data, id: idempotencyKey });
      },
    });
    const publisher = createPublisher({ log, catalog: [Numbered], source: 'consumer-test' });
    const next = new Map<string, number>();
    try {
      await publisher.publishBatch(numberedBatch(20, 4, next).map((data) => ({ type: 'test.numbered' as const, data })));
      const first = createConsumer(reactor, { log, storage });
      await first.start();
      await first.catchUp(await log.head(), { timeoutMs: 30_000 });
      await first.stop();
      await publisher.publishBatch(numberedBatch(20, 4, next, 1).map((data) => ({ type: 'test.numbered' as const, data })));
      const second = createConsumer(reactor, { log, storage });
      await second.start();
      await second.catchUp(await log.head(), { timeoutMs: 30_000 });
      await second.stop();
      expect(new Set(seen.map((s) => s.id)).size).toBe(40);
      expect(seen).toHaveLength(40);
      for (const [key, last] of next) expect(seen.filter((s) => s.key === key).map((s) => s.n)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    } finally {
      await log.close();
      await stream.remove();
    }
  });
});
