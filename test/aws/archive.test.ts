import { PutObjectCommand, DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SplitShardCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createArchivedKinesisEventLog, createKinesisArchiver, type KinesisArchiverOptions } from '../../src/aws/archive/index.ts';
import { listSegments, type ArchiveLocation } from '../../src/aws/archive/archiveStore.ts';
import { createKinesisEventLog } from '../../src/aws/index.ts';
import { isUnilogError, type EventEnvelope, type StoredEvent } from '../../src/index.ts';
import { envelope } from '../support/events.ts';
import { archiveContents, countingFold, createTestBucket, kinesisClientFor, readAll, s3rverClient, shardIds, shardRecords, waitActive } from '../fixtures/archiveSupport.ts';
import { awsEndpoints } from './endpoints.ts';
import { createTestStream } from './kinesisStreams.ts';
import { startAtomicS3Proxy } from './atomicS3Proxy.ts';
import { startRetentionProxy, type RetentionProxy } from './retentionProxy.ts';
import { z } from 'zod';
import { createDynamoViewStorage, createKinesisWorker, leaseTableName, rebuildKinesisView } from '../../src/aws/index.ts';
import { kinesisPositions } from '../../src/aws/kinesis/positions.ts';
import { defineEvent, defineProjection } from '../../src/index.ts';
import { dynamoClient, uniquePrefix } from './workerSetup.ts';

/** The envelopes of test/support/events.ts, as a projection reads them. */
const Happened = defineEvent({ type: 'test.happened', schema: z.object({ n: z.number() }).loose(), key: () => 'unused' });
/** The counting fold of archiveSupport.ts as a projection: per key, count, sum of n, last n. */
const countingProjection = defineProjection({
  name: 'counting',
  version: 1,
  events: [Happened],
  tables: { keys: { row: z.object({ key: z.string(), count: z.number(), sum: z.number(), last: z.number() }), key: 'key' } },
}).on({
  'test.happened': async (event, view) => {
    const row = (await view.keys.get(event.subject)) ?? { key: event.subject, count: 0, sum: 0, last: -1 };
    view.keys.put({ ...row, count: row.count + 1, sum: row.sum + event.data.n, last: event.data.n });
  },
});

const direct = kinesisClientFor(awsEndpoints().kinesis);
// Reads run while the archiver writes: through this proxy, s3rver shows whole objects only, as S3 does.
const atomic = await startAtomicS3Proxy(awsEndpoints().s3);
const s3 = s3rverClient(atomic.endpoint);
afterAll(async () => {
  direct.destroy();
  s3.destroy();
  await atomic.close();
  expect(atomic.errors, 'the atomic S3 proxy itself failed').toEqual([]);
});

/** Moves a clock past the stream's 24-hour retention, as it must have moved for records to be trimmed. */
const dayLater = () => Date.now() + 25 * 3_600_000;

interface Setup {
  streamName: string;
  bucket: string;
  /** Reads through the retention proxy: the stream as it looks after trimming. */
  trimmed: KinesisClient;
  proxy: RetentionProxy;
  location: ArchiveLocation;
  /** Appends through kinesalite directly and remembers the order. */
  append: (events: readonly EventEnvelope[]) => Promise<void>;
  appended: EventEnvelope[];
  archiver: (options?: Partial<KinesisArchiverOptions>) => ReturnType<typeof createKinesisArchiver>;
  reader: (now?: () => number) => ReturnType<typeof createArchivedKinesisEventLog>;
}

let cleanups: (() => Promise<void>)[] = [];
beforeEach(() => { cleanups = []; });
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function setup(shardCount: number): Promise<Setup> {
  const stream = await createTestStream(direct, shardCount);
  const { bucket, remove } = await createTestBucket(s3);
  const proxy = await startRetentionProxy(awsEndpoints().kinesis);
  const trimmed = kinesisClientFor(proxy.endpoint);
  const writer = createKinesisEventLog({ client: direct, streamName: stream.streamName });
  const appended: EventEnvelope[] = [];
  const logs: { close(): Promise<void> }[] = [writer];
  cleanups.push(async () => {
    for (const log of logs) await log.close();
    trimmed.destroy();
    await proxy.close();
    expect(proxy.errors, 'the retention proxy itself failed').toEqual([]);
    await remove();
    await stream.remove();
  });
  return {
    streamName: stream.streamName,
    bucket,
    trimmed,
    proxy,
    location: { s3, bucket, prefix: 'archive/' },
    appended,
    append: async (events) => {
      await writer.append(events);
      appended.push(...events);
    },
    archiver: (options = {}) => createKinesisArchiver({ kinesis: trimmed, s3, streamName: stream.streamName, bucket, prefix: 'archive', maxRecords: 16, ...options }),
    reader: (now) => {
      const log = createArchivedKinesisEventLog({ kinesis: trimmed, s3, streamName: stream.streamName, bucket, prefix: 'archive', pollIntervalMs: 20, ...(now ? { now } : {}) });
      logs.push(log);
      return log;
    },
  };
}

/** Events of `n` over `keys` keys, numbered from `from`: event n belongs to key n % keys. */
const batch = (count: number, from: number, keys: number) => Array.from({ length: count }, (_, i) => envelope(from + i, `key-${(from + i) % keys}`));

/** Every appended event exactly once, each key in append order, and the counting fold equal to the reference. */
function expectSameEvents(read: readonly StoredEvent[], appended: readonly EventEnvelope[]): void {
  const ids = read.map((s) => s.event.id);
  expect(new Set(ids).size, 'no event is read twice').toBe(ids.length);
  expect([...ids].sort(), 'every appended event is read').toEqual(appended.map((e) => e.id).sort());
  const keys = new Set(appended.map((e) => e.subject));
  for (const key of keys) {
    expect(read.filter((s) => s.event.subject === key).map((s) => s.event.id), `${key} in append order`).toEqual(appended.filter((e) => e.subject === key).map((e) => e.id));
  }
  expect(countingFold(read.map((s) => s.event)), 'the rebuilt fold equals the reference fold').toEqual(countingFold(appended));
}

/** Trims each shard after its `keep(records)`-th record (as kinesalite holds them) and returns the trimmed ids. */
async function trim(s: Setup, cut: (records: { sequence: string; id: string }[], shardId: string) => number): Promise<Set<string>> {
  const gone = new Set<string>();
  for (const shardId of await shardIds(direct, s.streamName)) {
    const records = await shardRecords(direct, s.streamName, shardId);
    const count = cut(records, shardId);
    if (count === 0) continue;
    s.proxy.trim(shardId, (records[count - 1] as { sequence: string }).sequence);
    for (const record of records.slice(0, count)) gone.add(record.id);
  }
  return gone;
}

describe('Kinesis archive in S3 (kinesalite, s3rver, simulated retention)', () => {
  it('a rebuild reads the archive, then the stream after it, and equals the reference fold', async () => {
    const s = await setup(2);
    await s.append(batch(200, 0, 10));
    const run = await s.archiver().runOnce();
    expect(run.records, 'the first run archives every record').toBe(200);
    expect(run.segments, 'segments hold at most maxRecords').toBeGreaterThanOrEqual(13);
    await s.append(batch(100, 200, 10));
    // Half of each shard's archived records leave the stream.
    const archived = new Set(s.appended.slice(0, 200).map((e) => e.id));
    const gone = await trim(s, (records) => Math.floor(records.filter((r) => archived.has(r.id)).length / 2));
    expect(gone.size).toBeGreaterThan(80);

    const stream = createKinesisEventLog({ client: s.trimmed, streamName: s.streamName });
    expect((await readAll(stream)).length, 'the stream alone has lost the trimmed events').toBe(300 - gone.size);
    await stream.close();

    const log = s.reader();
    const read = await readAll(log);
    expectSameEvents(read, s.appended);
    expect(read.filter((e) => gone.has(e.event.id)).length, 'the trimmed events come from the archive').toBe(gone.size);
    expect((await log.read({ from: await log.head() })).events, 'nothing after the head').toEqual([]);

    // A subscription delivers the archive, the stream, then new appends, each once.
    const seen: StoredEvent[] = [];
    const subscription = log.subscribe({ handler: (e) => { seen.push(e); }, batchSize: 50 });
    while (seen.length < 300) await new Promise((resolve) => setTimeout(resolve, 20));
    const more = batch(20, 300, 10);
    await log.append(more);
    s.appended.push(...more);
    while (seen.length < 320) await new Promise((resolve) => setTimeout(resolve, 20));
    await subscription.stop();
    expectSameEvents(seen, s.appended);
  });

  it('drops the stream\'s copy of an archived event (same id) after the seam', async () => {
    const s = await setup(1);
    await s.append(batch(20, 0, 4));
    await s.archiver().runOnce();
    // A producer retry wrote the last archived event again, after the archive's end.
    const copy = s.appended.at(-1) as EventEnvelope;
    await createKinesisEventLog({ client: direct, streamName: s.streamName }).append([copy]);
    await s.append(batch(5, 20, 4));
    const stream = createKinesisEventLog({ client: s.trimmed, streamName: s.streamName });
    expect((await readAll(stream)).filter((e) => e.event.id === copy.id).length, 'the stream holds the event twice').toBe(2);
    await stream.close();
    expectSameEvents(await readAll(s.reader()), s.appended);
  });

  it('archives while events are appended: S3 holds each record once, in order', async () => {
    const s = await setup(2);
    const archiver = s.archiver({ maxAgeMs: 50, pollIntervalMs: 20, watermarkIntervalMs: 50 });
    archiver.start();
    for (let i = 0; i < 20; i++) {
      await s.append(batch(15, i * 15, 6));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const shards = await shardIds(direct, s.streamName);
    let contents = await archiveContents(s.location, shards);
    const total = () => [...contents.values()].reduce((sum, c) => sum + c.ids.length, 0);
    while (total() < 300) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      contents = await archiveContents(s.location, shards);
    }
    await archiver.stop();
    contents = await archiveContents(s.location, shards);
    expect(total(), 'nothing archived twice').toBe(300);
    for (const [shardId, content] of contents) {
      const inStream = await shardRecords(direct, s.streamName, shardId);
      expect(content.sequences, `${shardId}: the archive is the shard, in order`).toEqual(inStream.map((r) => r.sequence));
      expect(content.firstIndexes, `${shardId}: segments join`).toEqual(content.counts.map((_, i) => content.counts.slice(0, i).reduce((a, b) => a + b, 0)));
    }
    // The stream retains nothing now: the stopped archiver's watermark proves the archive is all there was.
    await trim(s, (records) => records.length);
    expectSameEvents(await readAll(s.reader()), s.appended);
  });

  it('a restarted archiver resumes where the archive ends: after crashes between objects, S3 holds each record once', async () => {
    const s = await setup(2);
    await s.append(batch(60, 0, 6));
    for (const crashAfter of [1, 2, 3, 5, 8, 13]) {
      const archiver = s.archiver({ s3: crashingS3(crashAfter), maxRecords: 7 });
      const error: unknown = await archiver.runOnce().then(() => undefined, (e: unknown) => e);
      expect(String(error), `the archiver crashed after ${crashAfter} writes`).toContain('simulated crash');
      await s.append(batch(10, s.appended.length, 6));
    }
    const finish = await s.archiver({ maxRecords: 7 }).runOnce();
    expect(finish.records, 'the clean run archived only what the crashed runs had not').toBeLessThan(120);
    expect((await s.archiver().runOnce()).records, 'a second run finds nothing new').toBe(0);
    const shards = await shardIds(direct, s.streamName);
    const contents = await archiveContents(s.location, shards);
    const ids = [...contents.values()].flatMap((c) => c.ids);
    expect(ids.length, 'every record archived once').toBe(120);
    expect(new Set(ids).size).toBe(120);
    for (const [shardId, content] of contents) {
      expect(content.sequences, `${shardId}: in stream order`).toEqual((await shardRecords(direct, s.streamName, shardId)).map((r) => r.sequence));
      expect(content.firstIndexes, `${shardId}: segments join`).toEqual(content.counts.map((_, i) => content.counts.slice(0, i).reduce((a, b) => a + b, 0)));
    }
  });

  it('a gap (the stream trimmed past the archive\'s end, a day later) fails clearly', async () => {
    const s = await setup(1);
    await s.append(batch(50, 0, 5));
    await s.archiver().runOnce();
    await s.append(batch(50, 50, 5));
    await trim(s, () => 75);
    const error: unknown = await readAll(s.reader(dayLater)).then(() => undefined, (e: unknown) => e);
    expect(isUnilogError(error, 'LogCorrupted'), String(error)).toBe(true);
    if (!isUnilogError(error, 'LogCorrupted')) return;
    expect(error.details.reason).toMatch(/^gap: archive ends at \d+, stream retains from \d+$/);
    expect(error.message).toContain('shardId-000000000000');
    expect(error.details.segment).toBe(`s3://${s.bucket}/archive/shardId-000000000000/`);
    const archiverError: unknown = await s.archiver({ now: dayLater }).runOnce().then(() => undefined, (e: unknown) => e);
    expect(isUnilogError(archiverError, 'LogCorrupted'), `the archiver refuses to archive past the gap: ${String(archiverError)}`).toBe(true);
  });

  it('a trim within the archive hands over a day later; a quiet shard relies on the watermark, which expires', async () => {
    const s = await setup(1);
    await s.append(batch(50, 0, 5));
    await s.archiver().runOnce();
    await s.append(batch(10, 50, 5));
    await trim(s, () => 25);
    expectSameEvents(await readAll(s.reader(dayLater)), s.appended);

    // Nothing new for a while and everything trimmed: only the archiver's watermark shows nothing was lost.
    await s.archiver().runOnce();
    await trim(s, (records) => records.length);
    expectSameEvents(await readAll(s.reader()), s.appended);
    const error: unknown = await readAll(s.reader(dayLater)).then(() => undefined, (e: unknown) => e);
    expect(isUnilogError(error, 'LogCorrupted'), `a watermark older than the retention proves nothing: ${String(error)}`).toBe(true);
  });

  it('rebuildKinesisView builds a DynamoDB view from the archive and the stream; a worker then goes on from its checkpoint on the live stream', async () => {
    const s = await setup(2);
    await s.append(batch(120, 0, 6));
    await s.archiver().runOnce();
    await s.append(batch(60, 120, 6));
    // Everything archived leaves the stream: the first 120 events exist only in S3.
    const archived = new Set(s.appended.slice(0, 120).map((e) => e.id));
    const gone = await trim(s, (records) => records.filter((r) => archived.has(r.id)).length);
    expect(gone.size).toBe(120);
    const dynamodb = dynamoClient();
    const prefix = uniquePrefix();
    const storage = createDynamoViewStorage({ client: dynamodb, tablePrefix: prefix });
    const rows = async () => {
      const store = await storage.open(countingProjection.name, (await storage.current(countingProjection.name)) ?? '', countingProjection.layout);
      const all = await store.scan('keys', { limit: 1000 });
      await store.close();
      return Object.fromEntries(all.map((row) => [row['key'] as string, { count: row['count'], sum: row['sum'], last: row['last'] }]));
    };
    try {
      const progress: number[] = [];
      const rebuilt = await rebuildKinesisView({ projection: countingProjection, storage, log: s.reader(), batchSize: 50, onProgress: (n) => progress.push(n) });
      expect(rebuilt.events).toBe(180);
      expect(progress.at(-1)).toBe(180);
      expect(await storage.current(countingProjection.name), 'the rebuilt copy serves reads').toBe(rebuilt.copy);
      expect(await rows(), 'the view rebuilt from archive and stream equals the reference fold').toEqual(countingFold(s.appended));

      // The handover to live processing: a worker reads on from the copy's checkpoint, nothing twice, nothing skipped.
      const worker = createKinesisWorker({ projection: countingProjection, storage, kinesis: s.trimmed, dynamodb, streamName: s.streamName, leaseTableName: leaseTableName(prefix), leaseDurationMs: 1500, pollIntervalMs: 50, onError: () => undefined });
      try {
        await s.append(batch(60, 180, 6));
        const deadline = Date.now() + 30_000;
        while (JSON.stringify(await rows()) !== JSON.stringify(countingFold(s.appended)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
        expect(await rows()).toEqual(countingFold(s.appended));
      } finally {
        await worker.stop();
      }
    } finally {
      dynamodb.destroy();
    }
  });

  it('a resharded stream: the parent is archived before its children, and a rebuild keeps each key in order across the split', async () => {
    const s = await setup(1);
    await s.append(batch(24, 0, 6));
    await split(s);
    await s.append(batch(24, 24, 6));
    const { client: recording, keys } = recordingS3();
    const run = await s.archiver({ s3: recording, maxRecords: 5 }).runOnce();
    expect(run.completed, 'the split parent is complete').toEqual(['shardId-000000000000']);
    const parentDone = keys.map((k, i) => ({ k, i })).filter(({ k }) => k.endsWith('shardId-000000000000/shard.json')).at(-1)?.i ?? -1;
    const parentSegments = keys.filter((k) => k.includes('shardId-000000000000/') && k.endsWith('.seg'));
    const childSegments = keys.map((k, i) => ({ k, i })).filter(({ k }) => !k.includes('shardId-000000000000/') && k.endsWith('.seg'));
    expect(parentSegments.length).toBeGreaterThan(0);
    expect(childSegments.length).toBeGreaterThan(0);
    expect(Math.min(...childSegments.map(({ i }) => i)), 'every child segment is written after the parent is marked complete').toBeGreaterThan(parentDone);
    expect(parentDone, 'the parent is marked complete after its last segment').toBeGreaterThan(Math.max(...parentSegments.map((k) => keys.indexOf(k))));
    await s.append(batch(12, 48, 6));

    // The parent passes retention (gone from ListShards) and the children lose their first half.
    s.proxy.hideShard('shardId-000000000000');
    await trim(s, (records, shardId) => (shardId === 'shardId-000000000000' ? 0 : Math.floor(records.length / 2)));
    const reader = s.reader();
    const all = await readAll(reader, 7);
    expectSameEvents(all, s.appended);
    // A consumer's checkpoint folds event positions: having read everything, it has reached the head, the expired parent included.
    let at = kinesisPositions.start;
    for (const stored of all) at = kinesisPositions.after(at, stored.position);
    expect(kinesisPositions.reached(at, await reader.head())).toBe(true);
  });

  it('the running archiver follows a split: the parent completes, then the children are archived', async () => {
    const s = await setup(1);
    const archiver = s.archiver({ maxAgeMs: 50, pollIntervalMs: 20, watermarkIntervalMs: 100 });
    archiver.start();
    await s.append(batch(30, 0, 6));
    await split(s);
    await s.append(batch(30, 30, 6));
    const shards = await shardIds(direct, s.streamName);
    expect(shards).toHaveLength(3);
    const archived = async () => [...(await archiveContents(s.location, shards)).values()].reduce((sum, c) => sum + c.ids.length, 0);
    while ((await archived()) < 60) await new Promise((resolve) => setTimeout(resolve, 100));
    await archiver.stop();
    const contents = await archiveContents(s.location, shards);
    for (const shardId of shards) expect(contents.get(shardId)?.sequences, `${shardId}: archived whole, in order`).toEqual((await shardRecords(direct, s.streamName, shardId)).map((r) => r.sequence));
    s.proxy.hideShard('shardId-000000000000');
    await trim(s, (records, shardId) => (shardId === 'shardId-000000000000' ? 0 : records.length));
    expectSameEvents(await readAll(s.reader()), s.appended);
  });

  it('shards created after the archiver\'s last listing are read whole from the stream, within the retention period', async () => {
    const s = await setup(1);
    await s.append(batch(12, 0, 4));
    await s.archiver().runOnce();
    await split(s);
    await s.append(batch(12, 12, 4));
    // The parent retains nothing: its watermark hands it over, and the children are newer than the archiver's listing.
    await trim(s, (records, shardId) => (shardId === 'shardId-000000000000' ? records.length : 0));
    expectSameEvents(await readAll(s.reader()), s.appended);
    const error: unknown = await readAll(s.reader(dayLater)).then(() => undefined, (e: unknown) => e);
    expect(isUnilogError(error, 'LogCorrupted'), `a day later nothing proves the children whole: ${String(error)}`).toBe(true);
  });

  it('a shard the archiver listed but has not reached is read whole while its parent retains a record, else refused until archived', async () => {
    const s = await setup(1);
    await s.append(batch(12, 0, 4));
    await s.archiver().runOnce();
    await split(s);
    await s.append(batch(12, 12, 4));
    // The archiver lists the children (stream.json), then dies before it archives anything more.
    const crashed: unknown = await s.archiver({ s3: crashingS3(1) }).runOnce().then(() => undefined, (e: unknown) => e);
    expect(String(crashed)).toContain('simulated crash');
    expectSameEvents(await readAll(s.reader()), s.appended);

    await trim(s, (records, shardId) => (shardId === 'shardId-000000000000' ? records.length : 0));
    const error: unknown = await readAll(s.reader()).then(() => undefined, (e: unknown) => e);
    expect(isUnilogError(error, 'LogCorrupted'), `nothing proves the children whole: ${String(error)}`).toBe(true);
    expect(String(error)).toContain('has not reached this shard yet');
    await s.archiver().runOnce();
    expectSameEvents(await readAll(s.reader()), s.appended);
  });

  it('a damaged or missing segment is LogCorrupted, naming the object', async () => {
    const s = await setup(1);
    await s.append(batch(40, 0, 4));
    await s.archiver({ maxRecords: 10 }).runOnce();
    const segments = await listSegments(s.location, 'shardId-000000000000');
    expect(segments).toHaveLength(4);
    const second = segments[1]!;
    await s3.send(new DeleteObjectCommand({ Bucket: s.bucket, Key: second.key }));
    const missing: unknown = await readAll(s.reader()).then(() => undefined, (e: unknown) => e);
    expect(isUnilogError(missing, 'LogCorrupted') && missing.details.reason, String(missing)).toMatch(/^starts at record 20, the segment before ends at 9$/);

    const third = segments[2]!;
    const body = Buffer.from(JSON.stringify(envelope(999)));
    await s3.send(new PutObjectCommand({ Bucket: s.bucket, Key: third.key, Body: body }));
    const damaged: unknown = await readAll(s.reader(), 1000, `kinesis:shardId-000000000000=after.${second.last}`).then(() => undefined, (e: unknown) => e);
    expect(isUnilogError(damaged, 'LogCorrupted'), String(damaged)).toBe(true);
    if (isUnilogError(damaged, 'LogCorrupted')) expect(damaged.details.segment).toBe(`s3://${s.bucket}/${third.key}`);
  });
});

/** Splits the stream's first shard in two halves of the hash key range. */
async function split(s: Setup): Promise<void> {
  await direct.send(new SplitShardCommand({ StreamName: s.streamName, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }));
  await waitActive(direct, s.streamName);
}

/** An S3 client that fails its `crashAfter + 1`-th PutObject before sending it, as a process killed between two writes. */
function crashingS3(crashAfter: number): S3Client {
  const client = s3rverClient(atomic.endpoint);
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  let puts = 0;
  // Replaces `send` on this one instance; the overloaded SDK signature cannot be re-declared, hence the cast.
  (client as unknown as { send: (command: unknown) => Promise<unknown> }).send = async (command) => {
    if (command instanceof PutObjectCommand && ++puts > crashAfter) throw new Error(`simulated crash before write ${puts}`);
    return send(command);
  };
  cleanups.push(() => {
    client.destroy();
    return Promise.resolve();
  });
  return client;
}

/** An S3 client that records the key of every PutObject, in order. */
function recordingS3(): { client: S3Client; keys: string[] } {
  const client = s3rverClient(atomic.endpoint);
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  const keys: string[] = [];
  (client as unknown as { send: (command: unknown) => Promise<unknown> }).send = async (command) => {
    if (command instanceof PutObjectCommand) keys.push(command.input.Key ?? '');
    return send(command);
  };
  cleanups.push(() => {
    client.destroy();
    return Promise.resolve();
  });
  return { client, keys };
}
