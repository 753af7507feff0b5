import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';
import { UnilogError } from '../../errors.ts';
import type { EventEnvelope } from '../../events/envelope.ts';
import { parseLimit } from '../../log/embedded/positions.ts';
import type { EventLog, Position, ReadResult, StoredEvent, Subscription } from '../../log/eventLog.ts';
import { createKinesisEventLog, type KinesisRetryOptions } from '../kinesis/index.ts';
import { formatCut, kinesisPositions, parseCut, recordPosition, type Cut, type ShardCursor } from '../kinesis/positions.ts';
import { compareSequences, normalizeArchivePrefix, shardFolder, type ArchivedRecord, type SegmentRef, type Watermark } from './archiveFormat.ts';
import { loadSnapshot, objectUrl, readSegment, type ArchiveLocation, type ArchiveSnapshot, type LoadedSegment } from './archiveStore.ts';
import { archiveGap, firstRetainedSequence, listStreamShards, parentsOf, proveSeam, retainedSince, retentionPeriodMs, watermarkProves, type SeamClock, type SeamFacts } from './seam.ts';
import { pollingSubscription, waitForWake } from '../kinesis/pollingSubscription.ts';

/** Options of {@link createArchivedKinesisEventLog}. */
export interface ArchivedKinesisEventLogOptions {
  /** The client for the stream; the caller owns it (use `NodeHttpHandler` with kinesalite). */
  readonly kinesis: KinesisClient;
  /** The client for the archive; the caller owns it. */
  readonly s3: S3Client;
  /** The archived stream; appends go to it. */
  readonly streamName: string;
  /** The archive's bucket and prefix, as given to the archiver. */
  readonly bucket: string;
  /** @default '' (the bucket's root) */
  readonly prefix?: string;
  /** How often a subscription with nothing to deliver polls. @default 1000 */
  readonly pollIntervalMs?: number;
  /** Retries of records that PutRecords reports failed, as in `createKinesisEventLog`. */
  readonly retry?: KinesisRetryOptions;
  /** The clock difference allowed between archiver and reader when a watermark proves a handover. @default 300000 */
  readonly clockToleranceMs?: number;
  /** The clock, in ms since the epoch (tests move it past the retention period). @default Date.now */
  readonly now?: () => number;
}

/** One shard as the archive holds it, with what the reader needs. */
interface ShardView {
  readonly shardId: string;
  readonly parents: readonly string[];
  readonly complete: boolean;
  readonly segments: readonly SegmentRef[];
  /** The last archived sequence number. */
  readonly last: string | undefined;
  readonly watermark: Watermark | undefined;
}

interface Snapshot {
  readonly archive: ArchiveSnapshot;
  readonly shards: ReadonlyMap<string, ShardView>;
}

/** How the stream takes over a shard: after the archive's last record (dropping any id the archive's last segment holds), or the whole shard. */
interface Seam {
  readonly last: string | undefined;
  readonly start: 'after-last' | 'trim-horizon' | 'whole-shard' | 'gone';
  readonly ids: ReadonlySet<string>;
}

interface FetchedRecord {
  readonly shardId: string;
  readonly sequence: string;
  readonly arrival: number;
  readonly stored: StoredEvent;
}

/** Attempts at listing a consistent archive while the archiver writes it (a child's first segment with its parent seen unfinished). */
const snapshotAttempts = 3;
/** Decoded segments kept for paging through them. */
const segmentCacheSize = 16;
/** A listing of the archive, and the handovers proven on it, are used this long; then the archive is listed again. */
const snapshotTtlMs = 60_000;

/**
 * An event log over a Kinesis stream and its S3 archive (see `createKinesisArchiver`): each shard is read from the
 * archive, then from the stream after the archive's last record, with no gap and no duplicate; a handover that
 * cannot be proven gapless throws `LogCorrupted`. Positions are the Kinesis log's cuts; appends go to the stream.
 * @example
 * const log = createArchivedKinesisEventLog({ kinesis, s3, streamName: 'events', bucket: 'shop-archive' });
 * const { events, next } = await log.read();
 * @see docs/aws-archive.md
 */
export function createArchivedKinesisEventLog(options: ArchivedKinesisEventLogOptions): EventLog {
  const { kinesis, streamName } = options;
  const location: ArchiveLocation = { s3: options.s3, bucket: options.bucket, prefix: normalizeArchivePrefix(options.prefix) };
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const toleranceMs = options.clockToleranceMs ?? 300_000;
  const now = options.now ?? Date.now;
  const live = createKinesisEventLog({ client: kinesis, streamName, pollIntervalMs, ...(options.retry === undefined ? {} : { retry: options.retry }) });

  let snapshot: Promise<Snapshot> | undefined;
  let snapshotAt = 0;
  const seams = new Map<string, Seam>();
  const segments = new Map<string, Promise<LoadedSegment>>();
  /** Per shard, the last segment decoded and its shard-wide index range, to check that the next one joins it. */
  const lastRanges = new Map<string, { key: string; firstIndex: number; count: number }>();
  let listing: { at: number; shards: Promise<Shard[]> } | undefined;
  const firstRetained = new Map<string, Promise<string | undefined>>();
  let retention: Promise<number> | undefined;
  const clock = async (): Promise<SeamClock> => ({ now: now(), retentionMs: await (retention ??= retentionPeriodMs(kinesis, streamName)), toleranceMs });
  const subscriptions = new Set<Subscription>();
  const wakers = new Set<() => void>();
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new UnilogError('LogClosed', `The archived Kinesis event log of stream ${streamName} is closed: create a new one.`, {});
  };
  const shardUrl = (shardId: string) => objectUrl(location, shardFolder(location.prefix, shardId));

  /** Lists the archive until it is consistent: every parent of a shard with segments is complete in it. */
  async function loadConsistent(): Promise<Snapshot> {
    for (let attempt = 1; ; attempt++) {
      const archive = await loadSnapshot(location);
      const shards = new Map<string, ShardView>();
      let consistent = true;
      for (const shard of archive.shards.values()) {
        const { meta } = shard;
        if (meta === undefined) {
          if (shard.segments.length === 0) continue;
          throw new UnilogError('LogCorrupted', `Archive shard ${shardUrl(shard.shardId)} has segments but no shard.json: only the archiver should write under this prefix; restore the object.`, { segment: shardUrl(shard.shardId), offset: 0, reason: 'shard.json missing' });
        }
        shards.set(shard.shardId, { shardId: shard.shardId, parents: meta.parents, complete: meta.complete, segments: shard.segments, last: shard.segments.at(-1)?.last, watermark: meta.checked });
      }
      for (const view of shards.values()) {
        if (view.segments.length === 0) continue;
        for (const parent of view.parents) if (shards.has(parent) && shards.get(parent)?.complete !== true) consistent = false;
      }
      if (consistent) return { archive, shards };
      if (attempt >= snapshotAttempts) {
        throw new UnilogError('LogCorrupted', `The archive ${objectUrl(location, location.prefix)} holds a shard's segments while its parent is unfinished: only one archiver should write under this prefix.`, { segment: objectUrl(location, location.prefix), offset: 0, reason: 'child archived before its parent' });
      }
    }
  }
  /**
   * The archive as listed, with the handovers proven on it; listed again after `snapshotTtlMs`, so a long-lived log
   * reads what the archiver wrote since from S3 rather than trust a proof that the stream's retention may outrun.
   */
  const currentSnapshot = () => {
    if (snapshot && performance.now() - snapshotAt > snapshotTtlMs) forgetSnapshot();
    snapshotAt = snapshot ? snapshotAt : performance.now();
    return (snapshot ??= loadConsistent().catch((error: unknown) => {
      snapshot = undefined;
      throw error;
    }));
  };
  const forgetSnapshot = () => {
    snapshot = undefined;
    seams.clear();
    firstRetained.clear();
  };

  /** A decoded segment, checked to follow the segment before it when that one was read. */
  async function loadSegment(view: ShardView, i: number): Promise<LoadedSegment> {
    const ref = view.segments[i] as SegmentRef;
    let loading = segments.get(ref.key);
    if (!loading) {
      loading = readSegment(location, view.shardId, ref);
      segments.set(ref.key, loading);
      void loading.catch(() => segments.delete(ref.key));
      if (segments.size > segmentCacheSize) segments.delete(segments.keys().next().value as string);
    }
    const segment = await loading;
    const previous = lastRanges.get(view.shardId);
    const before = i === 0 ? { firstIndex: 0, count: 0 } : previous?.key === view.segments[i - 1]?.key ? previous : undefined;
    lastRanges.set(view.shardId, { key: ref.key, firstIndex: segment.firstIndex, count: segment.records.length });
    if (before !== undefined && before.firstIndex + before.count !== segment.firstIndex) {
      const where = objectUrl(location, ref.key);
      const reason = i === 0 ? `the shard's archive starts at record ${segment.firstIndex}, not 0` : `starts at record ${segment.firstIndex}, the segment before ends at ${before.firstIndex + before.count - 1}`;
      throw new UnilogError('LogCorrupted', `Archive segment ${where} does not join the one before it (${reason}): segments are missing; restore them from a backup or a versioned copy.`, { segment: where, offset: 0, reason });
    }
    return segment;
  }

  function toStored(shardId: string, segmentKey: string, record: ArchivedRecord): FetchedRecord {
    let event: EventEnvelope;
    try {
      event = JSON.parse(record.data) as EventEnvelope;
    } catch (cause) {
      const where = objectUrl(location, segmentKey);
      throw new UnilogError('LogCorrupted', `Archived record ${record.sequence} in ${where} is not a unilog event (${(cause as Error).message}): only unilog should write to the stream.`, { segment: where, offset: 0, reason: `sequence ${record.sequence}: not JSON` }, { cause });
    }
    return { shardId, sequence: record.sequence, arrival: record.arrival, stored: { position: recordPosition(shardId, record.sequence), event } };
  }

  /** Up to `limit` archived records of a shard after its cursor, and whether they reach the archive's end. */
  async function archivedAfter(view: ShardView, cursor: ShardCursor | undefined, limit: number): Promise<{ records: FetchedRecord[]; exhausted: boolean }> {
    const beyond = (sequence: string) => cursor === undefined || cursor.kind === 'end' || (cursor.kind === 'at' ? compareSequences(sequence, cursor.sequence) >= 0 : compareSequences(sequence, cursor.sequence) > 0);
    // The first segment whose last record is beyond the cursor: segments are in sequence order.
    let lo = 0;
    let hi = view.segments.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (beyond((view.segments[mid] as SegmentRef).last)) hi = mid;
      else lo = mid + 1;
    }
    const records: FetchedRecord[] = [];
    for (let i = lo; i < view.segments.length && records.length < limit; i++) {
      const segment = await loadSegment(view, i);
      const key = (view.segments[i] as SegmentRef).key;
      for (const record of segment.records) {
        if (records.length >= limit) break;
        if (beyond(record.sequence)) records.push(toStored(view.shardId, key, record));
      }
    }
    const lastTaken = records.at(-1)?.sequence;
    return { records, exhausted: records.length === 0 || lastTaken === view.last };
  }

  /** True while the archive holds records of the shard after its cursor. */
  function archivePending(view: ShardView, cursor: ShardCursor | undefined): boolean {
    if (view.last === undefined) return false;
    if (cursor === undefined) return true;
    if (cursor.kind === 'end') return false;
    const order = compareSequences(cursor.sequence, view.last);
    return cursor.kind === 'at' ? order <= 0 : order < 0;
  }

  /** One page from the archive: readable shards (parents finished) merged by arrival time, then shard id, as the Kinesis log merges. */
  async function readArchive(snap: Snapshot, cut: Map<string, ShardCursor>, limit: number): Promise<{ events: StoredEvent[]; ended: boolean }> {
    const finished = (id: string) => !snap.shards.has(id) || cut.get(id)?.kind === 'end';
    const readable = [...snap.shards.values()].filter((view) => archivePending(view, cut.get(view.shardId)) && view.parents.every(finished));
    if (readable.length === 0) {
      throw new UnilogError('LogCorrupted', `The archive ${objectUrl(location, location.prefix)} has records no shard order allows reading (a child before its unfinished parent).`, { segment: objectUrl(location, location.prefix), offset: 0, reason: 'lineage' });
    }
    const fetched = await Promise.all(readable.map(async (view) => ({ view, ...(await archivedAfter(view, cut.get(view.shardId), limit)) })));
    const heads = fetched.map(() => 0);
    const events: StoredEvent[] = [];
    while (events.length < limit) {
      let best = -1;
      for (let i = 0; i < fetched.length; i++) {
        const candidate = fetched[i]?.records[heads[i] ?? 0];
        const current = best < 0 ? undefined : fetched[best]?.records[heads[best] ?? 0];
        if (candidate && (!current || candidate.arrival < current.arrival || (candidate.arrival === current.arrival && candidate.shardId < current.shardId))) best = i;
      }
      const record = fetched[best]?.records[heads[best] ?? 0];
      if (!record) break;
      heads[best] = (heads[best] ?? 0) + 1;
      events.push(record.stored);
      cut.set(record.shardId, { kind: 'after', sequence: record.sequence });
    }
    let ended = false;
    for (const [i, { view, records, exhausted }] of fetched.entries()) {
      if (exhausted && heads[i] === records.length && view.complete) {
        cut.set(view.shardId, { kind: 'end' });
        ended = true;
      }
    }
    return { events, ended };
  }

  /** Shards complete in the archive and read to their last record are `end`, so their children may be read. */
  function normalize(snap: Snapshot, cut: Map<string, ShardCursor>): void {
    for (const view of snap.shards.values()) {
      if (view.complete && !archivePending(view, cut.get(view.shardId))) cut.set(view.shardId, { kind: 'end' });
    }
  }

  const firstRetainedOf = (shardId: string) => {
    let probe = firstRetained.get(shardId);
    if (!probe) {
      probe = firstRetainedSequence(kinesis, streamName, shardId);
      firstRetained.set(shardId, probe);
      void probe.catch(() => firstRetained.delete(shardId));
    }
    return probe;
  };

  /** The stream's shards by id; cached for a second, as the Kinesis log caches them: a polling subscription asks on every read. */
  async function listedShards(): Promise<Map<string, Shard>> {
    if (!listing || performance.now() - listing.at > 1000) {
      const shardsNow = listStreamShards(kinesis, streamName);
      listing = { at: performance.now(), shards: shardsNow };
      void shardsNow.catch(() => { listing = undefined; });
    }
    const shards = await listing.shards;
    return new Map(shards.filter((s) => s.ShardId !== undefined).map((s) => [s.ShardId as string, s]));
  }

  /** The ids of the archive's last segment of a shard: the stream's copies of them are dropped after the seam. */
  async function tailIds(view: ShardView): Promise<Set<string>> {
    if (view.segments.length === 0) return new Set();
    const segment = await loadSegment(view, view.segments.length - 1);
    const key = (view.segments.at(-1) as SegmentRef).key;
    return new Set(segment.records.map((record) => toStored(view.shardId, key, record).stored.event.id));
  }

  /**
   * Proves the handover of every shard the stream will now be read for, once per shard: returns the shard whose
   * proof failed, or undefined. Shards past their seam (a cursor after the archive's end) need no proof.
   */
  async function proveSeams(snap: Snapshot, cut: Cut): Promise<{ shardId: string; facts: SeamFacts; firstRetained: string | undefined; hint: string } | undefined> {
    const listed = await listedShards();
    for (const view of snap.shards.values()) {
      if (view.complete || seams.has(view.shardId)) continue;
      const cursor = cut.get(view.shardId);
      const atSeam = cursor === undefined ? view.last === undefined : cursor.kind === 'after' && cursor.sequence === view.last;
      if (!atSeam) continue;
      const facts: SeamFacts = { streamName, shardId: view.shardId, last: view.last, watermark: view.watermark };
      if (!listed.has(view.shardId)) {
        // Gone from the stream: only a watermark can say the shard had nothing after its archive.
        if (!watermarkProves(facts, await clock())) return { shardId: view.shardId, facts, firstRetained: undefined, hint: 'The stream no longer lists this shard.' };
        seams.set(view.shardId, { last: view.last, start: 'gone', ids: new Set() });
        continue;
      }
      const proof = await proveSeam(kinesis, facts, clock);
      if (proof.start === undefined && view.last === undefined && (await newerThanArchive(snap, view.shardId, view.parents, listed))) {
        seams.set(view.shardId, { last: undefined, start: 'whole-shard', ids: new Set() });
        continue;
      }
      if (proof.start === undefined) return { shardId: view.shardId, facts, firstRetained: proof.firstRetained, hint: 'Run the archiver: if it reports the same gap, those records are lost.' };
      seams.set(view.shardId, { last: view.last, start: proof.start, ids: await tailIds(view) });
    }
    for (const [shardId, shard] of listed) {
      if (snap.shards.has(shardId) || seams.has(shardId) || cut.has(shardId)) continue;
      if (await newerThanArchive(snap, shardId, parentsOf(shard), listed)) {
        seams.set(shardId, { last: undefined, start: 'whole-shard', ids: new Set() });
        continue;
      }
      const facts: SeamFacts = { streamName, shardId, last: undefined, watermark: undefined };
      return { shardId, facts, firstRetained: await firstRetainedOf(shardId), hint: 'The archiver has not reached this shard yet: run it, then read again.' };
    }
    return undefined;
  }

  /**
   * True when a shard the archive lacks still has every record it ever had: it was created after the archiver's
   * last listing (within the retention period), or each parent still retains a record, and a child's records are
   * all younger than its parents'.
   */
  async function newerThanArchive(snap: Snapshot, shardId: string, parents: readonly string[], listed: ReadonlyMap<string, unknown>): Promise<boolean> {
    const { stream } = snap.archive;
    if (stream && !stream.shards.includes(shardId) && retainedSince(stream.listedAt, await clock())) return true;
    if (parents.length === 0 || !parents.every((parent) => listed.has(parent))) return false;
    for (const parent of parents) if ((await firstRetainedOf(parent)) === undefined) return false;
    return true;
  }

  /** The cut the stream is read with: a shard handed over at TRIM_HORIZON is not named until the stream delivers from it. */
  function toLiveCut(cut: Cut): Map<string, ShardCursor> {
    const liveCut = new Map(cut);
    for (const [shardId, seam] of seams) {
      const cursor = liveCut.get(shardId);
      if (seam.start === 'trim-horizon' && cursor?.kind === 'after' && cursor.sequence === seam.last) liveCut.delete(shardId);
    }
    return liveCut;
  }

  function fromLiveCut(liveNext: Cut): Map<string, ShardCursor> {
    const cut = new Map(liveNext);
    for (const [shardId, seam] of seams) {
      if (seam.start === 'trim-horizon' && seam.last !== undefined && !cut.has(shardId)) cut.set(shardId, { kind: 'after', sequence: seam.last });
    }
    return cut;
  }

  /** False for the stream's copy of an archived event: at or before the archive's end, or an id of its last segment. */
  function isNew(stored: StoredEvent): boolean {
    const [shardId, cursor] = [...parseCut(stored.position)][0] ?? [];
    const seam = shardId === undefined ? undefined : seams.get(shardId);
    if (!seam || seam.last === undefined || cursor?.kind !== 'at') return true;
    return compareSequences(cursor.sequence, seam.last) > 0 && !seam.ids.has(stored.event.id);
  }

  async function read(from: Position | undefined, limitOption: number | undefined): Promise<ReadResult> {
    assertOpen();
    let cut = new Map(parseCut(from));
    const limit = parseLimit(limitOption);
    const unchanged = from ?? formatCut(cut);
    let reloaded = false;
    for (;;) {
      const snap = await currentSnapshot();
      normalize(snap, cut);
      if ([...snap.shards.values()].some((view) => archivePending(view, cut.get(view.shardId)))) {
        const { events, ended } = await readArchive(snap, cut, limit);
        if (events.length > 0) return { events, next: formatCut(cut) };
        if (ended) continue;
      }
      const failed = await proveSeams(snap, cut);
      if (failed) {
        // The archiver may have written past this seam since the archive was listed: list it once more.
        if (!reloaded) {
          reloaded = true;
          forgetSnapshot();
          continue;
        }
        throw archiveGap(shardUrl(failed.shardId), failed.facts, failed.firstRetained, failed.hint);
      }
      const page = await live.read({ from: formatCut(toLiveCut(cut)), limit });
      const events = page.events.filter(isNew);
      if (events.length > 0) return { events, next: formatCut(fromLiveCut(parseCut(page.next))) };
      if (page.events.length === 0) return { events: [], next: unchanged };
      // Only copies of archived events: read on after them.
      cut = fromLiveCut(parseCut(page.next));
    }
  }

  const waitForRecords = (ms: number, signal: AbortSignal) => waitForWake(wakers, ms, signal);


  const log: EventLog = {
    capabilities: { ordering: 'per-key', positions: kinesisPositions },
    async append(batch) {
      assertOpen();
      const result = await live.append(batch);
      for (const wake of [...wakers]) wake();
      return result;
    },
    read(readOptions = {}) {
      return read(readOptions.from, readOptions.limit);
    },
    subscribe(subscribeOptions) {
      assertOpen();
      return pollingSubscription(subscribeOptions, { read, wait: waitForRecords, pollIntervalMs, subscriptions });
    },
    async head() {
      assertOpen();
      const [head, snap] = await Promise.all([live.head(), currentSnapshot()]);
      const cut = new Map(parseCut(head));
      // The stream's head leaves out shards it holds no record of (expired ones included); unnamed, a cut would read
      // their archive from the start. After their last archived record, as the live head names shards, so that a
      // reader that folded event positions (a consumer's checkpoint) reaches it; one with no record stays unnamed.
      for (const view of snap.shards.values()) {
        if (cut.has(view.shardId)) continue;
        if (view.last !== undefined) cut.set(view.shardId, { kind: 'after', sequence: view.last });
      }
      return formatCut(cut);
    },
    async close() {
      if (closed) return;
      await Promise.all([...subscriptions].map((s) => s.stop()));
      closed = true;
      await live.close();
    },
  };
  return log;
}
