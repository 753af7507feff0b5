import { setTimeout as sleep } from 'node:timers/promises';
import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';
import { UnilogError } from '../../errors.ts';
import { compareSequences, normalizeArchivePrefix, shardFolder, type ArchivedRecord, type ShardMeta, type Watermark } from './archiveFormat.ts';
import { listSegments, objectUrl, readSegmentIndex, readShardMeta, writeSegment, writeShardMeta, writeStreamMeta, type ArchiveLocation } from './archiveStore.ts';
import { archiveGap, kinesisSdk, listStreamShards, parentsOf, proveSeam, retentionPeriodMs, watermarkProves, type SeamClock, type SeamFacts } from './seam.ts';

/** Options of {@link createKinesisArchiver}. */
export interface KinesisArchiverOptions {
  /** The client to read the stream with; the caller owns it (use `NodeHttpHandler` with kinesalite). */
  readonly kinesis: KinesisClient;
  /** The client to write the archive with; the caller owns it. */
  readonly s3: S3Client;
  /** The stream to archive. */
  readonly streamName: string;
  /** The bucket to archive to; it must exist. */
  readonly bucket: string;
  /** A folder-like prefix of every archive object, such as `archive/events`. @default '' (the bucket's root) */
  readonly prefix?: string;
  /** A segment holds at most this many records. @default 1000 */
  readonly maxRecords?: number;
  /** A segment holds at most this many bytes of records (one larger record makes a segment of its own). @default 8388608 (8 MiB) */
  readonly maxBytes?: number;
  /** `start()` writes a segment once its oldest record was read this long ago, however small it is. @default 60000 */
  readonly maxAgeMs?: number;
  /** `start()` polls a shard that had nothing new this often. AWS allows 5 GetRecords per second per shard. @default 1000 */
  readonly pollIntervalMs?: number;
  /** `start()` rewrites a shard's watermark and the shard listing at most this often. @default 60000 */
  readonly watermarkIntervalMs?: number;
  /** The clock difference allowed between archiver and Kinesis when a watermark proves a resume. @default 300000 */
  readonly clockToleranceMs?: number;
  /** The clock, in ms since the epoch (tests move it past the retention period). @default Date.now */
  readonly now?: () => number;
  /** Called when the `start()` worker fails and stops; `stop()` then rejects with the same error. */
  readonly onError?: (error: unknown) => void;
}

/** What {@link KinesisArchiver.runOnce} wrote. */
export interface ArchiveRunResult {
  /** Records written to S3 by this run. */
  readonly records: number;
  /** Segments written by this run. */
  readonly segments: number;
  /** Shards this run found closed and finished archiving. */
  readonly completed: readonly string[];
}

/** Copies a Kinesis stream to S3, shard by shard, in sequence order; the archive itself is its checkpoint. */
export interface KinesisArchiver {
  /** Archives everything the stream holds now (parents before children) and returns; for tests and cron-style runs. */
  runOnce(): Promise<ArchiveRunResult>;
  /** Starts archiving in the background until `stop()`; a failure stops it and goes to `onError`. */
  start(): void;
  /** Stops the worker after writing what it has read; rejects with the error that stopped it, if one did. */
  stop(): Promise<void>;
}

/** The archiver's view of one shard it is archiving. */
interface ShardState {
  readonly shardId: string;
  readonly parents: readonly string[];
  /** `shard.json` as last written (or read). */
  meta: ShardMeta;
  /** The last archived record and the segment holding it. */
  archivedLast: string | undefined;
  tailKey: string | undefined;
  /** The shard-wide index of the next record to archive. */
  nextIndex: number;
  /** The last record read (archived or buffered): reading resumes after it. */
  readLast: string | undefined;
  iterator: string | undefined;
  buffer: ArchivedRecord[];
  bufferBytes: number;
  bufferSince: number | undefined;
  /** The latest caught-up read: nothing after `through` at `at`. */
  observed: Watermark | undefined;
  /** A watermark that covers the archive as written (everything read is archived). */
  provable: Watermark | undefined;
  closed: boolean;
  complete: boolean;
  /** When `shard.json` was last written by this archiver, and when the shard was last polled (both by `now()`, ms). */
  metaWrittenAt: number;
  polledAt: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
/** The least time between two GetRecords of one shard (AWS allows 5 per second per shard). */
const minPollGapMs = 200;

/**
 * An archiver of a Kinesis stream into S3: per shard, in sequence order, segments of file-log framed records
 * (`<prefix><shardId>/<first sequence, zero-padded>-<last sequence>.seg`, with a `.seq.json` index). A restart
 * resumes after the last segment, so no separate checkpoint is kept and S3 holds each record once.
 * @example
 * const archiver = createKinesisArchiver({ kinesis, s3, streamName: 'events', bucket: 'shop-archive' });
 * await archiver.runOnce();
 * @see docs/aws-archive.md
 */
export function createKinesisArchiver(options: KinesisArchiverOptions): KinesisArchiver {
  const { kinesis, streamName } = options;
  const location: ArchiveLocation = { s3: options.s3, bucket: options.bucket, prefix: normalizeArchivePrefix(options.prefix) };
  const maxRecords = positive('maxRecords', options.maxRecords ?? 1000);
  const maxBytes = positive('maxBytes', options.maxBytes ?? 8 * 1024 * 1024);
  const maxAgeMs = positive('maxAgeMs', options.maxAgeMs ?? 60_000);
  const pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? 1000);
  const watermarkIntervalMs = positive('watermarkIntervalMs', options.watermarkIntervalMs ?? 60_000);
  const toleranceMs = options.clockToleranceMs ?? 300_000;
  const now = options.now ?? Date.now;

  /** Shards being archived; cleared after a failure, so the next run starts again from what S3 holds. */
  const states = new Map<string, ShardState>();
  /** Parents gone from the stream before the archiver reached them: their children start the archive. */
  const neverArchived = new Set<string>();
  let retention: Promise<number> | undefined;
  const clock = async (): Promise<SeamClock> => ({ now: now(), retentionMs: await (retention ??= retentionPeriodMs(kinesis, streamName)), toleranceMs });
  let busy = false;
  let worker: { stopper: AbortController; done: Promise<void>; failure: { error: unknown } | undefined } | undefined;
  let streamMetaWritten: { at: number; shards: string } | undefined;

  const claim = (what: string) => {
    if (busy) throw new UnilogError('InvalidArgument', `The archiver of stream ${streamName} is already running: ${what} waits until runOnce() returns or stop() is called.`, { argument: what, reason: 'already running' });
    busy = true;
  };

  /** Lists the shards and records the listing in `stream.json`, which lets a reader trust shards created after it. */
  async function listShards(force: boolean): Promise<Shard[]> {
    const listedAt = now();
    const shards = await listStreamShards(kinesis, streamName);
    const ids = shards.map((s) => s.ShardId).filter((id) => id !== undefined);
    const key = ids.join(',');
    if (force || streamMetaWritten?.shards !== key || listedAt - streamMetaWritten.at >= watermarkIntervalMs) {
      await writeStreamMeta(location, { format: 1, streamName, listedAt, shards: ids });
      streamMetaWritten = { at: listedAt, shards: key };
    }
    return shards;
  }

  /** Loads a shard's state from the archive: `shard.json` and the segments after its recorded tail. */
  async function openShard(shardId: string, listedParents: readonly string[]): Promise<ShardState> {
    const known = states.get(shardId);
    if (known) return known;
    const meta = await readShardMeta(location, shardId);
    const segments = meta?.complete === true ? [] : await listSegments(location, shardId, meta?.tail?.key);
    let archivedLast = meta?.tail?.sequence;
    let tailKey = meta?.tail?.key;
    let nextIndex = meta?.tail?.nextIndex ?? 0;
    const lastSegment = segments.at(-1);
    if (lastSegment) {
      const index = await readSegmentIndex(location, shardId, lastSegment);
      archivedLast = lastSegment.last;
      tailKey = lastSegment.key;
      nextIndex = index.firstIndex + index.records.length;
    }
    const base: ShardMeta = meta ?? { format: 1, shardId, parents: [...listedParents], complete: false };
    // Written before the shard's first segment: a reader needs the lineage even of a shard the stream no longer lists.
    if (!meta) await writeShardMeta(location, base);
    const state: ShardState = {
      shardId,
      parents: base.parents,
      meta: base,
      archivedLast,
      tailKey,
      nextIndex,
      readLast: archivedLast,
      iterator: undefined,
      buffer: [],
      bufferBytes: 0,
      bufferSince: undefined,
      observed: undefined,
      provable: undefined,
      closed: false,
      complete: base.complete,
      metaWrittenAt: -Infinity,
      polledAt: -Infinity,
    };
    states.set(shardId, state);
    return state;
  }

  const factsOf = (state: ShardState): SeamFacts => ({ streamName, shardId: state.shardId, last: state.archivedLast, watermark: state.meta.checked });
  const gapHint = 'The archiver stops rather than archive past a gap: records after the archive\'s end were trimmed before they were archived. Archive the stream to a new prefix to start a new archive.';

  /** Where reading resumes: after the archive's last record if the stream still has it, else from TRIM_HORIZON if a watermark proves nothing was lost. */
  async function startIterator(state: ShardState): Promise<string | undefined> {
    const { GetShardIteratorCommand } = await kinesisSdk();
    let start: { ShardIteratorType: 'TRIM_HORIZON' } | { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER'; StartingSequenceNumber: string } = { ShardIteratorType: 'TRIM_HORIZON' };
    // A shard the archive never vouched for starts wherever the stream's retention is now: that is where its archive begins.
    if (state.archivedLast !== undefined || state.meta.checked !== undefined) {
      const facts = factsOf(state);
      const proof = await proveSeam(kinesis, facts, clock);
      if (proof.start === undefined) throw archiveGap(objectUrl(location, shardFolder(location.prefix, state.shardId)), facts, proof.firstRetained, gapHint);
      if (proof.start === 'after-last' && state.archivedLast !== undefined) start = { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: state.archivedLast };
    }
    state.readLast = state.archivedLast;
    state.iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: state.shardId, ...start }))).ShardIterator;
    if (state.iterator === undefined) state.closed = true;
    return state.iterator;
  }

  /**
   * One GetRecords of a shard into its buffer: `atTip` when the page reached the shard's tip, `caughtUp` when it
   * was also empty (or the shard is closed and read to its end).
   */
  async function poll(state: ShardState, stats?: RunStats): Promise<{ records: number; atTip: boolean; caughtUp: boolean }> {
    const iterator = state.iterator ?? (await startIterator(state));
    if (iterator === undefined) return { records: 0, atTip: true, caughtUp: true };
    const { GetRecordsCommand } = await kinesisSdk();
    // AWS allows 5 GetRecords per second per shard.
    const wait = state.polledAt + minPollGapMs - performance.now();
    if (wait > 0) await sleep(wait);
    state.polledAt = performance.now();
    const at = now();
    let page;
    try {
      page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
    } catch (error) {
      if ((error as { name?: unknown } | null)?.name !== 'ExpiredIteratorException') throw error;
      // An iterator unused for 5 minutes expires: write what was read, then prove the resume again from the archive.
      await flush(state, true, stats);
      state.iterator = undefined;
      return { records: 0, atTip: false, caughtUp: false };
    }
    let records = 0;
    for (const record of page.Records ?? []) {
      const sequence = record.SequenceNumber;
      if (sequence === undefined || (state.readLast !== undefined && compareSequences(sequence, state.readLast) <= 0)) continue;
      let data: string;
      try {
        data = decoder.decode(record.Data);
      } catch (cause) {
        throw notAnEvent(state.shardId, sequence, 'not UTF-8', cause);
      }
      if (data.length === 0) throw notAnEvent(state.shardId, sequence, 'empty');
      state.buffer.push({ sequence, arrival: record.ApproximateArrivalTimestamp?.getTime() ?? 0, data });
      state.bufferBytes += Buffer.byteLength(data);
      state.bufferSince ??= at;
      state.readLast = sequence;
      records++;
    }
    state.iterator = page.NextShardIterator;
    if (state.iterator === undefined) state.closed = true;
    const atTip = (page.MillisBehindLatest ?? 0) === 0;
    const caughtUp = atTip && (page.Records?.length ?? 0) === 0;
    if (caughtUp) state.observed = { through: state.readLast ?? null, at };
    if (state.buffer.length === 0 && state.observed) state.provable = state.observed;
    return { records, atTip: atTip || state.closed, caughtUp: caughtUp || state.closed };
  }

  const notAnEvent = (shardId: string, sequence: string, reason: string, cause?: unknown) =>
    new UnilogError('LogCorrupted', `Record ${sequence} of shard ${shardId} in stream ${streamName} is not a unilog event (${reason}): only unilog should write to this stream.`, {
      segment: `${streamName}/${shardId}`,
      offset: 0,
      reason: `sequence ${sequence}: ${reason}`,
    }, { cause });

  /** Writes buffered records as segments: all of them when `force`, else only full segments and a buffer older than `maxAgeMs`. */
  async function flush(state: ShardState, force: boolean, stats?: RunStats): Promise<void> {
    while (state.buffer.length > 0) {
      const full = state.buffer.length >= maxRecords || state.bufferBytes >= maxBytes;
      const old = state.bufferSince !== undefined && now() - state.bufferSince >= maxAgeMs;
      if (!force && !full && !old) break;
      let count = 0;
      let bytes = 0;
      for (const record of state.buffer) {
        const size = Buffer.byteLength(record.data);
        if (count > 0 && (count >= maxRecords || bytes + size > maxBytes)) break;
        count++;
        bytes += size;
      }
      const chunk = state.buffer.slice(0, count);
      const ref = await writeSegment(location, state.shardId, state.nextIndex, chunk);
      state.buffer.splice(0, count);
      state.bufferBytes -= bytes;
      state.bufferSince = state.buffer.length > 0 ? now() : undefined;
      state.archivedLast = ref.last;
      state.tailKey = ref.key;
      state.nextIndex += count;
      if (stats) {
        stats.records += count;
        stats.segments++;
      }
    }
    if (state.buffer.length === 0 && state.observed) state.provable = state.observed;
  }

  /** Rewrites `shard.json` with the latest watermark and tail, when they changed; unless `force`, at most every `watermarkIntervalMs`. */
  async function writeMeta(state: ShardState, force: boolean): Promise<void> {
    if (!force && now() - state.metaWrittenAt < watermarkIntervalMs) return;
    const checked = state.provable ?? state.meta.checked;
    const meta: ShardMeta = {
      format: 1,
      shardId: state.shardId,
      parents: [...state.parents],
      complete: state.complete,
      ...(checked === undefined ? {} : { checked }),
      ...(state.tailKey === undefined || state.archivedLast === undefined ? {} : { tail: { key: state.tailKey, sequence: state.archivedLast, nextIndex: state.nextIndex } }),
    };
    if (JSON.stringify(meta) === JSON.stringify(state.meta)) return;
    await writeShardMeta(location, meta);
    state.meta = meta;
    state.metaWrittenAt = now();
  }

  /** A closed shard whose records are all archived: marked complete, which lets its children start. */
  async function complete(state: ShardState, stats?: RunStats): Promise<void> {
    state.complete = true;
    await writeMeta(state, true);
    stats?.completed.push(state.shardId);
  }

  /**
   * True when a parent no longer holds its child back: archived to its end, or gone from the stream. A parent gone
   * with its archive unfinished is complete only if its watermark proves it had nothing more; else records are lost.
   */
  async function parentDone(parentId: string, listed: ReadonlySet<string>): Promise<boolean> {
    const known = states.get(parentId);
    if (known?.complete === true || neverArchived.has(parentId)) return true;
    if (listed.has(parentId)) return false;
    const meta = known?.meta ?? (await readShardMeta(location, parentId));
    if (meta === undefined) neverArchived.add(parentId);
    if (meta === undefined || meta.complete) return true;
    const state = await openShard(parentId, meta.parents);
    const facts = factsOf(state);
    if (!watermarkProves(facts, await clock())) throw archiveGap(objectUrl(location, shardFolder(location.prefix, parentId)), facts, undefined, `${gapHint} (The stream no longer lists shard ${parentId}.)`);
    await complete(state);
    return true;
  }

  /** The listed shards that are not complete and whose parents are. */
  async function readyShards(shards: readonly Shard[]): Promise<{ shard: Shard; shardId: string }[]> {
    const listed = new Set(shards.map((s) => s.ShardId).filter((id) => id !== undefined));
    const ready: { shard: Shard; shardId: string }[] = [];
    for (const shard of shards) {
      const shardId = shard.ShardId;
      if (shardId === undefined || states.get(shardId)?.complete === true) continue;
      let parentsDone = true;
      for (const parent of parentsOf(shard)) parentsDone &&= await parentDone(parent, listed);
      if (parentsDone) ready.push({ shard, shardId });
    }
    return ready;
  }

  /**
   * Reads a shard to its tip (or its end), writes it all, then its watermark or completion. A shard that keeps
   * growing ends the run after its second page at the tip, so `runOnce` returns under a steady load.
   */
  async function drain(state: ShardState, stats: RunStats): Promise<void> {
    if (state.complete) return;
    for (let tipPages = 0; ;) {
      const { caughtUp, atTip } = await poll(state, stats);
      await flush(state, false, stats);
      if (caughtUp || (atTip && ++tipPages >= 2)) break;
    }
    await flush(state, true, stats);
    if (state.closed) await complete(state, stats);
    else await writeMeta(state, true);
  }

  async function runOnce(): Promise<ArchiveRunResult> {
    claim('runOnce');
    const stats: RunStats = { records: 0, segments: 0, completed: [] };
    try {
      const shards = await listShards(true);
      const drained = new Set<string>();
      for (;;) {
        const ready = (await readyShards(shards)).filter(({ shardId }) => !drained.has(shardId));
        if (ready.length === 0) break;
        await settleAll(ready.map(async ({ shard, shardId }) => {
          drained.add(shardId);
          await drain(await openShard(shardId, parentsOf(shard)), stats);
        }));
      }
      return stats;
    } catch (error) {
      states.clear();
      throw error;
    } finally {
      busy = false;
    }
  }

  /** The `start()` loop: one poll of every ready shard per round, segments by size and age, watermarks by interval. */
  async function work(stopper: AbortSignal): Promise<void> {
    let shards: Shard[] = [];
    let listedAt = -Infinity;
    while (!stopper.aborted) {
      if (now() - listedAt >= watermarkIntervalMs) {
        shards = await listShards(false);
        listedAt = now();
      }
      const ready = await readyShards(shards);
      const read = await settleAll(ready.map(async ({ shard, shardId }) => {
        const state = await openShard(shardId, parentsOf(shard));
        const { records } = await poll(state);
        await flush(state, false);
        if (state.closed) {
          await flush(state, true);
          await complete(state);
          // Its children are ready now: list again to find them.
          listedAt = -Infinity;
        } else {
          await writeMeta(state, false);
        }
        return records;
      }));
      // While records flow, `poll` spaces the reads of a shard; an idle round waits `pollIntervalMs`. The sleep
      // rejects only when `stop()` aborts it, which ends the loop.
      if (!read.some((n) => n > 0)) await sleep(pollIntervalMs, undefined, { signal: stopper }).catch(() => undefined);
    }
    for (const state of states.values()) {
      if (state.complete) continue;
      await flush(state, true);
      if (state.closed) await complete(state);
      else await writeMeta(state, true);
    }
  }

  return {
    runOnce,
    start() {
      claim('start');
      const stopper = new AbortController();
      const run: NonNullable<typeof worker> = { stopper, done: Promise.resolve(), failure: undefined };
      run.done = work(stopper.signal).catch((error: unknown) => {
        run.failure = { error };
        states.clear();
        options.onError?.(error);
      });
      worker = run;
    },
    async stop() {
      const run = worker;
      if (!run) return;
      run.stopper.abort();
      await run.done;
      worker = undefined;
      busy = false;
      if (run.failure) throw run.failure.error;
    },
  };
}

interface RunStats {
  records: number;
  segments: number;
  completed: string[];
}

/** Like Promise.all, but waits for every shard before throwing the first failure, so no write outlives a failed run. */
async function settleAll<T>(work: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(work);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}

function positive(argument: string, value: number): number {
  if (Number.isSafeInteger(value) && value >= 1) return value;
  throw new UnilogError('InvalidArgument', `The archiver option ${argument} must be a whole number from 1, not ${JSON.stringify(value)}.`, { argument, reason: 'not a positive integer' });
}
