import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, describe, expect, it } from 'vitest';
import { createKinesisEventLog } from '../../src/aws/index.ts';
import type { EventEnvelope } from '../../src/index.ts';
import { envelope } from '../support/events.ts';
import { awsEndpoints } from './endpoints.ts';
import { seededRandom, startFaultProxy, type Fault, type FaultPlan } from './faultProxy.ts';
import { createTestStream, kinesaliteClient } from './kinesisStreams.ts';

const direct = kinesaliteClient();
afterAll(() => { direct.destroy(); });

/** The client's own timeout (`throwOnRequestTimeout`, else it only warns): a held request ends after it, and the SDK retries it. */
const requestTimeoutMs = 400;

/** A client through the proxy; whole-request faults are the SDK's to retry, with its standard strategy. */
function proxiedClient(endpoint: string): KinesisClient {
  const aws = awsEndpoints();
  return new KinesisClient({ endpoint, region: aws.region, credentials: aws.credentials, requestHandler: new NodeHttpHandler({ requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true }), maxAttempts: 10 });
}

/** Every event of the stream, read from kinesalite itself (not through the proxy or the adapter), per shard in sequence order. */
async function readStream(streamName: string): Promise<EventEnvelope[]> {
  const { Shards = [] } = await direct.send(new ListShardsCommand({ StreamName: streamName }));
  const events: EventEnvelope[] = [];
  for (const shard of Shards) {
    let iterator = (await direct.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (iterator !== undefined) {
      const page = await direct.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const record of page.Records ?? []) events.push(JSON.parse(new TextDecoder().decode(record.Data)) as EventEnvelope);
      if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return events;
}

const numberOf = (event: EventEnvelope) => (event.data as { n: number }).n;
const keyOf = (n: number) => `key-${n % 20}`;

/** The numbers of each key, in stream order. */
function byKey(events: readonly EventEnvelope[]): Map<string, number[]> {
  const keys = new Map<string, number[]>();
  for (const event of events) keys.set(event.subject, [...(keys.get(event.subject) ?? []), numberOf(event)]);
  return keys;
}

/** Concurrent appends of `calls` × `size` events over 20 keys; event n is `evt-n`, so append order per key is ascending n. */
async function appendAll(log: ReturnType<typeof createKinesisEventLog>, calls: number, size: number): Promise<void> {
  await Promise.all(Array.from({ length: calls }, (_, c) => log.append(Array.from({ length: size }, (_, i) => envelope(c * size + i, keyOf(c * size + i))))));
}

describe('Kinesis event log under injected faults (loopback proxy to kinesalite)', () => {
  it('writes every event exactly once, each key in append order, through throttling, 500s, timeouts, resets and partial failures', { timeout: 30_000 }, async () => {
    const seed = Number(process.env.UNILOG_FAULT_SEED ?? 20261201);
    const random = seededRandom(seed);
    // Only PutRecords is faulted; a fault either replaces forwarding or forwards less, so kinesalite holds each record at most once.
    // The first requests meet each whole-request fault once, so every kind is exercised whatever the seed; then chance.
    const opening: ('throttle' | 'error500' | 'timeout' | 'reset')[] = ['throttle', 'error500', 'timeout', 'reset'];
    const plan: FaultPlan = (target, recordCount): Fault => {
      if (!target.endsWith('.PutRecords')) return { kind: 'pass' };
      const first = opening.shift();
      if (first !== undefined) return { kind: first };
      const r = random();
      if (r < 0.08) return { kind: 'throttle' };
      if (r < 0.16) return { kind: 'error500' };
      if (r < 0.2) return { kind: 'timeout' };
      if (r < 0.26) return { kind: 'reset' };
      if (r < 0.56) {
        const failed = Array.from({ length: recordCount }, (_, i) => i).filter(() => random() < 0.3);
        return { kind: 'partial', failed: failed.length > 0 ? failed : [Math.floor(random() * recordCount)] };
      }
      return { kind: 'pass' };
    };
    const stream = await createTestStream(direct, 3);
    const proxy = await startFaultProxy(awsEndpoints().kinesis, plan);
    const client = proxiedClient(proxy.endpoint);
    const log = createKinesisEventLog({ client, streamName: stream.streamName, retry: { baseDelayMs: 5, maxDelayMs: 50, maxAttempts: 40 } });
    try {
      // 40 concurrent appends of 10 events: 400 events, 20 per key, keys spread over the calls.
      await appendAll(log, 40, 10);
      const context = `seed ${seed} (set UNILOG_FAULT_SEED to replay), injected ${JSON.stringify(proxy.injected)}`;
      expect(proxy.errors, `the proxy itself failed; ${context}`).toEqual([]);
      // The faults must have happened, or a pass proves nothing.
      for (const kind of ['partial', 'throttle', 'error500', 'timeout', 'reset'] as const) expect(proxy.injected[kind], `${kind} faults injected; ${context}`).toBeGreaterThan(0);

      const stored = await readStream(stream.streamName);
      const ids = stored.map((e) => e.id);
      const duplicates = ids.filter((id, i) => ids.indexOf(id) !== i);
      expect(duplicates, `events stored twice; ${context}`).toEqual([]);
      expect([...ids].sort(), `every event stored; ${context}`).toEqual(Array.from({ length: 400 }, (_, n) => `evt-${n}`).sort());
      const keys = byKey(stored);
      expect(keys.size).toBe(20);
      for (const [key, numbers] of keys) expect(numbers, `${key} in append order; ${context}`).toEqual([...numbers].sort((a, b) => a - b));
    } finally {
      await log.close();
      client.destroy();
      await proxy.close();
      await stream.remove();
    }
  });

  it('a response lost after the write is outside exactly-once: the SDK retry stores that request twice, still in key order', { timeout: 30_000 }, async () => {
    let putRecords = 0;
    // The third PutRecords is written, then its connection is reset, so the client never learns it succeeded.
    const proxy = await startFaultProxy(awsEndpoints().kinesis, (target) => (target.endsWith('.PutRecords') && ++putRecords === 3 ? { kind: 'lostResponse' } : { kind: 'pass' }));
    const stream = await createTestStream(direct, 2);
    const client = proxiedClient(proxy.endpoint);
    const log = createKinesisEventLog({ client, streamName: stream.streamName });
    try {
      await appendAll(log, 4, 20);
      expect(proxy.errors).toEqual([]);
      expect(proxy.injected.lostResponse).toBe(1);
      const stored = await readStream(stream.streamName);
      const ids = stored.map((e) => e.id);
      expect(new Set(ids).size, 'at least once: every event is there').toBe(80);
      // The third request carries the head of each of the 20 keys: exactly those are stored twice.
      expect(ids.length - new Set(ids).size, 'the lost request is duplicated, nothing else').toBe(20);
      // Ascending with repeats: first copies in append order, and each duplicate right after its original.
      for (const [key, numbers] of byKey(stored)) expect(numbers, `${key} in append order, duplicates adjacent`).toEqual([...numbers].sort((a, b) => a - b));
    } finally {
      await log.close();
      client.destroy();
      await proxy.close();
      await stream.remove();
    }
  });
});
