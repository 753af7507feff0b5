import { spawnSync } from 'node:child_process';
import { PutRecordsCommand, SplitShardCommand, DescribeStreamSummaryCommand, type KinesisClient, type PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { afterAll, describe, expect, it } from 'vitest';
import { createKinesisEventLog } from '../../src/aws/index.ts';
import { isUnilogError, type EventLog, type StoredEvent } from '../../src/index.ts';
import { envelope } from '../support/events.ts';
import { createTestStream, kinesaliteClient } from './kinesisStreams.ts';

const client = kinesaliteClient();
afterAll(() => { client.destroy(); });

/** A client whose PutRecords fails the records `fails` picks, as Kinesis does under throttling: the request succeeds, those records carry an ErrorCode. */
function faultyClient(fails: (partitionKey: string) => boolean): { client: KinesisClient; failed: () => number } {
  const faulty = kinesaliteClient();
  const send = faulty.send.bind(faulty) as (command: unknown) => Promise<unknown>;
  let failed = 0;
  // Replaces `send` on this one instance; the overloaded SDK signature cannot be re-declared, hence the cast.
  (faulty as unknown as { send: (command: unknown) => Promise<unknown> }).send = async (command) => {
    if (!(command instanceof PutRecordsCommand)) return send(command);
    const records = command.input.Records ?? [];
    const failing = records.map((r) => fails(r.PartitionKey ?? ''));
    const passing = records.filter((_, i) => !failing[i]);
    const output = passing.length === 0 ? { Records: [] } : ((await send(new PutRecordsCommand({ ...command.input, Records: passing }))) as PutRecordsCommandOutput);
    const results = [...(output.Records ?? [])];
    failed += failing.filter(Boolean).length;
    return {
      ...output,
      FailedRecordCount: failing.filter(Boolean).length,
      Records: failing.map((fail) => (fail ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard (injected)' } : results.shift())),
    };
  };
  return { client: faulty, failed: () => failed };
}

async function readAll(log: EventLog): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  let from: string | undefined;
  for (;;) {
    const page = await log.read({ ...(from === undefined ? {} : { from }), limit: 50 });
    if (page.events.length === 0) return all;
    all.push(...page.events);
    from = page.next;
  }
}

const numbersOfKey = (events: readonly StoredEvent[], key: string) => events.filter((e) => e.event.subject === key).map((e) => (e.event.data as { n: number }).n);

describe('Kinesis event log (kinesalite)', () => {
  it('retries only the failed records, and no key overtakes itself', async () => {
    const stream = await createTestStream(client, 2);
    // A seeded generator: a failing run replays the same faults.
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const faulty = faultyClient(() => random() < 0.3);
    const log = createKinesisEventLog({ client: faulty.client, streamName: stream.streamName, retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 50 } });
    // 30 concurrent appends of 10 events over 5 keys: each key's events must land in call order.
    const calls = Array.from({ length: 30 }, (_, c) => log.append(Array.from({ length: 10 }, (_, i) => envelope(c * 10 + i, `key-${(c + i) % 5}`))));
    await Promise.all(calls);
    expect(faulty.failed(), 'the fault injector failed some records').toBeGreaterThan(50);
    const read = await readAll(log);
    expect(read).toHaveLength(300);
    for (let k = 0; k < 5; k++) {
      const ns = numbersOfKey(read, `key-${k}`);
      expect(ns, `key-${k} in append order`).toEqual([...ns].sort((a, b) => a - b));
    }
    await log.close();
    faulty.client.destroy();
    await stream.remove();
  });

  it('gives up after its attempts with AppendIncomplete, naming the unwritten events', async () => {
    const stream = await createTestStream(client, 2);
    const faulty = faultyClient((key) => key === 'bad');
    const log = createKinesisEventLog({ client: faulty.client, streamName: stream.streamName, retry: { baseDelayMs: 1, maxAttempts: 3 } });
    const batch = [envelope(0, 'good'), envelope(1, 'bad'), envelope(2, 'good'), envelope(3, 'bad')];
    const error: unknown = await log.append(batch).catch((e: unknown) => e);
    expect(isUnilogError(error, 'AppendIncomplete'), String(error)).toBe(true);
    if (!isUnilogError(error, 'AppendIncomplete')) return;
    expect(error.details).toMatchObject({ total: 4, unwritten: [1, 3] });
    expect(error.details.reason).toContain('ProvisionedThroughputExceededException');
    expect((await readAll(log)).map((e) => e.event.id)).toEqual(['evt-0', 'evt-2']);
    await log.close();
    faulty.client.destroy();
    await stream.remove();
  });

  it('reads a split shard to its end before its children, and head() covers all', async () => {
    const stream = await createTestStream(client, 1);
    const log = createKinesisEventLog({ client, streamName: stream.streamName });
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    await log.append(Array.from({ length: 12 }, (_, n) => envelope(n, keys[n % 6])));
    const seen: StoredEvent[] = [];
    const subscription = log.subscribe({ handler: (stored) => void seen.push(stored) });
    await client.send(new SplitShardCommand({ StreamName: stream.streamName, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }));
    for (let i = 0; ; i++) {
      const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: stream.streamName }));
      if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
      if (i > 200) throw new Error('the split did not finish');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const { positions } = await log.append(Array.from({ length: 12 }, (_, n) => envelope(12 + n, keys[n % 6])));
    expect(new Set(positions.map((p) => p.split('=')[0])).size, 'the second batch went to the two children').toBe(2);
    const read = await readAll(log);
    expect(read).toHaveLength(24);
    for (const key of keys) expect(numbersOfKey(read, key), `key ${key} in order across the split`).toEqual([0, 1, 2, 3].map((i) => keys.indexOf(key) + 6 * i));
    const head = await log.head();
    expect((await log.read({ from: head })).events).toEqual([]);
    while (seen.length < 24) await new Promise((resolve) => setTimeout(resolve, 20));
    await subscription.stop();
    for (const key of keys) expect(numbersOfKey(seen, key), `subscription: key ${key} in order`).toEqual(numbersOfKey(read, key));
    await log.close();
    await stream.remove();
  });

  it('the root entry loads no AWS SDK module', () => {
    const probe = (entry: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `await import(${JSON.stringify(entry)}); const { createRequire } = await import('node:module'); const cache = createRequire(import.meta.url).cache; console.log(Object.keys(cache).filter((f) => f.includes('@aws-sdk')).length);`], { encoding: 'utf8' });
    const root = probe('./src/index.ts');
    expect(root.status, root.stderr).toBe(0);
    expect(root.stdout.trim()).toBe('0');
    // The probe must see the SDK when it is loaded, or the check above proves nothing.
    const aws = probe('@aws-sdk/client-kinesis');
    expect(Number(aws.stdout.trim()), aws.stderr).toBeGreaterThan(0);
  });
});
