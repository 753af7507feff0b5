/**
 * Where the archive of a shard meets the stream: the Kinesis reads that find the retained part of a shard, and the
 * proof that nothing between the archive's last record and the stream's first retained one was trimmed unarchived.
 * Shared by the archiver (resuming) and the reader (handing over).
 * @module
 */
import type * as KinesisSdk from '@aws-sdk/client-kinesis';
import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';
import { UnilogError } from '../../errors.ts';
import { compareSequences, type Watermark } from './archiveFormat.ts';

let sdkPromise: Promise<typeof KinesisSdk> | undefined;
/** The Kinesis SDK, loaded on first use like the other AWS adapters. */
export const kinesisSdk = (): Promise<typeof KinesisSdk> => (sdkPromise ??= import('@aws-sdk/client-kinesis'));

/** GetRecords follows empty pages of a shard's trimmed start at most this many times while it reports being behind. */
const maxEmptyFollows = 20;

/** Every shard of the stream (parents too, while retained), all pages of ListShards. */
export async function listStreamShards(kinesis: KinesisClient, streamName: string): Promise<Shard[]> {
  const { ListShardsCommand } = await kinesisSdk();
  const shards: Shard[] = [];
  let nextToken: string | undefined;
  do {
    const page = await kinesis.send(new ListShardsCommand(nextToken === undefined ? { StreamName: streamName } : { NextToken: nextToken }));
    shards.push(...(page.Shards ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return shards;
}

/** The parents of a shard (ParentShardId, AdjacentParentShardId), which are read before it. */
export const parentsOf = (shard: Shard): string[] => [shard.ParentShardId, shard.AdjacentParentShardId].filter((id) => id !== undefined);

/** The stream's retention period in ms (DescribeStreamSummary). */
export async function retentionPeriodMs(kinesis: KinesisClient, streamName: string): Promise<number> {
  const { DescribeStreamSummaryCommand } = await kinesisSdk();
  const { StreamDescriptionSummary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
  // 24 hours is both the default and the minimum, so it is the safe reading of a missing field.
  return (StreamDescriptionSummary?.RetentionPeriodHours ?? 24) * 3_600_000;
}

/**
 * The sequence number of the oldest record the stream still holds in a shard (TRIM_HORIZON), or undefined when it
 * holds none. Kinesis trims a shard from its start, so a record is retained exactly when it is not before this one.
 */
export async function firstRetainedSequence(kinesis: KinesisClient, streamName: string, shardId: string): Promise<string | undefined> {
  const { GetShardIteratorCommand, GetRecordsCommand } = await kinesisSdk();
  let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
  for (let follows = 0; iterator !== undefined && follows <= maxEmptyFollows; follows++) {
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1 }));
    const first = page.Records?.[0]?.SequenceNumber;
    if (first !== undefined) return first;
    if ((page.MillisBehindLatest ?? 0) === 0) return undefined;
    iterator = page.NextShardIterator;
  }
  // Still behind after many empty pages: nothing proves that a record is retained, and the caller treats it so.
  return undefined;
}

/** How the stream continues a shard after its archive: from after the archive's last record, or from TRIM_HORIZON. */
export type SeamStart = 'after-last' | 'trim-horizon';

/** What is known of a shard's archive at the seam. */
export interface SeamFacts {
  readonly streamName: string;
  readonly shardId: string;
  /** The last archived sequence number, or undefined when nothing of the shard is archived. */
  readonly last: string | undefined;
  /** The archiver's latest watermark for the shard. */
  readonly watermark: Watermark | undefined;
}

/** The clock a proof reads: now, the stream's retention, and the clock difference allowed between archiver and reader. */
export interface SeamClock {
  readonly now: number;
  readonly retentionMs: number;
  readonly toleranceMs: number;
}

/** True when a record that arrived after `at` is still retained now. */
export const retainedSince = (at: number, clock: SeamClock): boolean => clock.now < at + clock.retentionMs - clock.toleranceMs;

/**
 * Proves that the stream continues the shard's archive with no record lost in between, or returns undefined.
 * - The archive's last record is still retained (the shard's first retained record is not after it): read after it.
 * - Else the archiver's watermark says nothing followed `through` (at or before the archive's last) at `at`, and a
 *   record arriving after `at` cannot have been trimmed yet: what is retained is exactly what follows the archive.
 */
export async function proveSeam(kinesis: KinesisClient, facts: SeamFacts, clock: () => Promise<SeamClock>): Promise<{ start: SeamStart | undefined; firstRetained: string | undefined }> {
  const firstRetained = await firstRetainedSequence(kinesis, facts.streamName, facts.shardId);
  if (facts.last !== undefined && firstRetained !== undefined && compareSequences(firstRetained, facts.last) <= 0) return { start: 'after-last', firstRetained };
  return { start: watermarkProves(facts, await clock()) ? 'trim-horizon' : undefined, firstRetained };
}

/** The second proof alone (for a shard the stream no longer lists): the watermark covers the archive's end and is recent enough. */
export function watermarkProves(facts: SeamFacts, clock: SeamClock): boolean {
  const { watermark } = facts;
  if (watermark === undefined) return false;
  const covers = watermark.through === null || (facts.last !== undefined && compareSequences(watermark.through, facts.last) <= 0);
  return covers && retainedSince(watermark.at, clock);
}

/** The error for a seam that cannot be proven: records of the shard may have been trimmed before they were archived. */
export function archiveGap(where: string, facts: SeamFacts, firstRetained: string | undefined, hint: string): UnilogError<'LogCorrupted'> {
  const archived = facts.last === undefined ? 'The archive holds nothing of it' : `The archive of it ends at sequence ${facts.last}`;
  const retained = firstRetained === undefined ? 'the stream retains none of its records' : `the stream's oldest retained record is ${firstRetained}`;
  const reason = `gap: archive ends at ${facts.last ?? 'nothing'}, stream retains from ${firstRetained ?? 'nothing'}`;
  return new UnilogError('LogCorrupted', `Cannot hand over from the archive to stream ${facts.streamName} in shard ${facts.shardId}: ${archived}, ${retained}, and no watermark of the archiver proves that nothing between them was trimmed before it was archived. ${hint}`, {
    segment: where,
    offset: 0,
    reason,
  });
}
