import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { createKinesisArchiver } from '../../src/aws/archive/index.ts';
import { createKinesisEventLog } from '../../src/aws/index.ts';
import { seededRandom } from './faultProxy.ts';
import { envelope } from '../support/events.ts';
import { archiveContents, createTestBucket, kinesisClientFor, s3rverClient, shardIds, shardRecords } from '../fixtures/archiveSupport.ts';
import { startAtomicS3Proxy } from './atomicS3Proxy.ts';
import { awsEndpoints } from './endpoints.ts';
import { createTestStream } from './kinesisStreams.ts';

// As many as the outbox relay's crash test: each child needs seconds to load tsx and the SDK on a shared 2-core machine.
const kills = 12;
const fixture = new URL('../fixtures/archiveChild.ts', import.meta.url).pathname;
const kinesis = kinesisClientFor(awsEndpoints().kinesis);
// S3 stores an object whole or not at all; s3rver keeps the part of a PUT that a killed child sent, unless this proxy holds it back.
const atomic = await startAtomicS3Proxy(awsEndpoints().s3);
const s3 = s3rverClient(atomic.endpoint);
afterAll(async () => {
  kinesis.destroy();
  s3.destroy();
  await atomic.close();
});

/** The number of segments in the archive. */
async function segmentCount(bucket: string): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'archive/', ...(token === undefined ? {} : { ContinuationToken: token }) }));
    count += (page.Contents ?? []).filter((o) => o.Key?.endsWith('.seg') === true).length;
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return count;
}

/** Starts the archiver child, waits until it has written a segment, SIGKILLs it `ms` later, and waits for it to exit. */
async function runAndKill(streamName: string, bucket: string, s3Endpoint: string, ms: number): Promise<void> {
  const aws = awsEndpoints();
  const env = { ...process.env, AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey };
  const segmentsBefore = await segmentCount(bucket);
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, aws.kinesis, s3Endpoint, aws.region, streamName, bucket], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => { resolve(); }));
  let ready = false;
  for await (const line of createInterface({ input: child.stdout })) {
    if (line !== 'ready') continue;
    ready = true;
    // Killed while it archives, however slowly this machine runs it: only after its first segment.
    while (child.exitCode === null && (await segmentCount(bucket)) === segmentsBefore) await new Promise((resolve) => setTimeout(resolve, 20));
    setTimeout(() => child.kill('SIGKILL'), ms);
  }
  await exited;
  if (!ready) throw new Error(`the archiver child never started: ${stderr}`);
  expect(stderr, 'the archiver child failed before it was killed').not.toContain('archiver:');
}

describe('crash: SIGKILL a Kinesis archiver at random moments', () => {
  it(`S3 holds every record exactly once, in shard order, across ${kills} kills while events arrive`, async () => {
    const seed = Number(process.env.UNILOG_CRASH_SEED ?? Date.now() % 100_000);
    console.log(`archive crash seed ${seed} (UNILOG_CRASH_SEED replays the kill times)`);
    const random = seededRandom(seed);
    const stream = await createTestStream(kinesis, 2);
    const { bucket, remove } = await createTestBucket(s3);
    const log = createKinesisEventLog({ client: kinesis, streamName: stream.streamName });
    let appended = 0;
    let appending = true;
    const appender = (async () => {
      while (appending) {
        await log.append(Array.from({ length: 4 }, (_, i) => envelope(appended + i, `key-${(appended + i) % 8}`)));
        appended += 4;
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    })();
    for (let run = 0; run < kills; run++) await runAndKill(stream.streamName, bucket, atomic.endpoint, Math.floor(random() * 400));
    expect(atomic.errors, 'the atomic S3 proxy itself failed').toEqual([]);
    console.log(`archive crash: ${atomic.dropped} requests cut off by a kill`);
    appending = false;
    await appender;
    const location = { s3, bucket, prefix: 'archive/' };
    const shards = await shardIds(kinesis, stream.streamName);
    const before = [...(await archiveContents(location, shards)).values()].reduce((sum, c) => sum + c.ids.length, 0);
    expect(before, 'the killed archivers archived records before dying').toBeGreaterThanOrEqual(kills);
    // A last archiver, in-process, archives what is left.
    await createKinesisArchiver({ kinesis, s3, streamName: stream.streamName, bucket, prefix: 'archive' }).runOnce();
    const contents = await archiveContents(location, shards);
    let total = 0;
    for (const [shardId, content] of contents) {
      const inStream = await shardRecords(kinesis, stream.streamName, shardId);
      expect(content.sequences, `${shardId}: the archive is the shard, each record once, in order`).toEqual(inStream.map((r) => r.sequence));
      expect(content.ids).toEqual(inStream.map((r) => r.id));
      expect(content.firstIndexes, `${shardId}: segments join`).toEqual(content.counts.map((_, i) => content.counts.slice(0, i).reduce((a, b) => a + b, 0)));
      total += content.ids.length;
    }
    expect(total).toBe(appended);
    await log.close();
    await remove();
    await stream.remove();
  }, 300_000);
});
