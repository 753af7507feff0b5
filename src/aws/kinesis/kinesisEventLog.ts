import type * as KinesisSdk from '@aws-sdk/client-kinesis';
import type { KinesisClient, Shard, _Record } from '@aws-sdk/client-kinesis';
import { UnilogError } from '../../errors.ts';
import type { EventEnvelope } from '../../events/envelope.ts';
// @debt serializeEvents and parseLimit are shared helpers that sit with the embedded logs; they belong in src/log/.
import { serializeEvents } from '../../log/embedded/encode.ts';
import { parseLimit } from '../../log/embedded/positions.ts';
import type { EventLog, Position, ReadResult, StoredEvent, Subscription } from '../../log/eventLog.ts';
import { KinesisAppender, type PutRecordResult, type RetryOptions } from './appender.ts';
import { compareSequences, formatCut, kinesisPositions, parseCut, type Cut, type ShardCursor } from './positions.ts';
import { pollingSubscription, waitForWake } from './pollingSubscription.ts';

/** Options of {@link createKinesisEventLog}: pass a `client`, or an `endpoint`/`region` to build one. */
export interface KinesisEventLogOptions {
  /** The stream to append to and read from; it must exist and be ACTIVE. */
  readonly streamName: string;
  /** A client to use; the log does not destroy it on `close()`. @default a client built from `endpoint`, `region`, `credentials` */
  readonly client?: KinesisClient;
  /** The Kinesis endpoint, e.g. kinesalite's `http://127.0.0.1:4567`. @default the AWS endpoint of `region` */
  readonly endpoint?: string;
  /** @default the SDK's (AWS_REGION) */
  readonly region?: string;
  /** @default the SDK's credential chain */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Retries of records that PutRecords reports failed (throttling, internal failures). */
  readonly retry?: RetryOptions;
  /** How often a subscription with nothing to deliver polls each shard. AWS allows 5 GetRecords per second per shard. @default 1000 */
  readonly pollIntervalMs?: number;
  /** The largest record (event JSON plus partition key), in bytes. @default 1048576 (1 MiB, the Kinesis limit) */
  readonly maxRecordBytes?: number;
}

/** A fetched record, decoded. */
interface FetchedRecord {
  readonly shardId: string;
  readonly sequence: string;
  readonly arrival: number;
  readonly stored: StoredEvent;
}

/** GetRecords follows an empty page this many times while the shard reports it is behind (gaps left by trimmed data). */
const maxEmptyFollows = 10;
const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * An event log on an Amazon Kinesis data stream: `per-key` ordering, one partition key per subject.
 * A position is a cut, one cursor per shard ({@link parseCut}); an event's own position names only its shard.
 * @example
 * const log = createKinesisEventLog({ streamName: 'events', region: 'eu-west-1' });
 * @see docs/aws.md
 */
export function createKinesisEventLog(options: KinesisEventLogOptions): EventLog {
  const { streamName } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const maxRecordBytes = options.maxRecordBytes ?? 1024 * 1024;
  const subscriptions = new Set<Subscription>();
  const wakers = new Set<() => void>();
  /** The last sequence number this log knows per open shard: `head()` scans on from there. */
  const tips = new Map<string, string>();
  /** Closed shards whose last record head() has found: they never change. */
  const finished = new Set<string>();
  let closed = false;
  /** Set by `close()` first: appends are refused while pending ones finish and subscriptions stop. */
  let closing = false;
  let shardCache: { shards: Shard[]; at: number } | undefined;

  // The SDK loads on first use, so creating a log (say, from a config that is never used) costs nothing.
  let sdkPromise: Promise<typeof KinesisSdk> | undefined;
  let clientPromise: Promise<KinesisClient> | undefined;
  const sdk = () => (sdkPromise ??= import('@aws-sdk/client-kinesis'));
  const client = () =>
    (clientPromise ??= (async () => {
      if (options.client) return options.client;
      const [{ KinesisClient }, { NodeHttpHandler }] = await Promise.all([sdk(), import('@smithy/node-http-handler')]);
      // Kinesis clients default to HTTP/2 (for SubscribeToShard, unused here); kinesalite and proxies speak HTTP/1.1.
      return new KinesisClient({
        requestHandler: new NodeHttpHandler(),
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        ...(options.region === undefined ? {} : { region: options.region }),
        ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      });
    })());

  const appender = new KinesisAppender(
    streamName,
    async (records) => {
      const [{ PutRecordsCommand }, kinesis] = await Promise.all([sdk(), client()]);
      const output = await kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: records.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data })) }));
      return (output.Records ?? []).map((r): PutRecordResult =>
        r.SequenceNumber !== undefined && r.ShardId !== undefined
          ? { shardId: r.ShardId, sequenceNumber: r.SequenceNumber }
          : { errorCode: r.ErrorCode ?? 'Unknown', errorMessage: r.ErrorMessage ?? '' });
    },
    (shardId, sequence) => {
      const tip = tips.get(shardId);
      if (tip === undefined || compareSequences(sequence, tip) > 0) tips.set(shardId, sequence);
      for (const wake of [...wakers]) wake();
    },
    options.retry,
  );

  const assertOpen = (refuse = closed) => {
    if (refuse) throw new UnilogError('LogClosed', `The Kinesis event log of stream ${streamName} is closed: create a new one.`, {});
  };

  /** Every shard of the stream, parents included; cached briefly, since a subscription asks on every poll. */
  async function listShards(fresh = false): Promise<Shard[]> {
    if (!fresh && shardCache && Date.now() - shardCache.at < 1000) return shardCache.shards;
    const [{ ListShardsCommand }, kinesis] = await Promise.all([sdk(), client()]);
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    do {
      const page = await kinesis.send(new ListShardsCommand(nextToken === undefined ? { StreamName: streamName } : { NextToken: nextToken }));
      shards.push(...(page.Shards ?? []));
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    shardCache = { shards, at: Date.now() };
    return shards;
  }

  /** Reads up to `limit` records of one shard from its cursor; `closed` when the shard is closed and nothing follows. */
  async function fetchShard(shardId: string, cursor: ShardCursor | undefined, limit: number): Promise<{ records: FetchedRecord[]; closed: boolean }> {
    const [{ GetShardIteratorCommand, GetRecordsCommand }, kinesis] = await Promise.all([sdk(), client()]);
    const start = cursor === undefined || cursor.kind === 'end'
      ? { ShardIteratorType: 'TRIM_HORIZON' as const }
      : { ShardIteratorType: cursor.kind === 'at' ? ('AT_SEQUENCE_NUMBER' as const) : ('AFTER_SEQUENCE_NUMBER' as const), StartingSequenceNumber: cursor.sequence };
    let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ...start }))).ShardIterator;
    for (let follows = 0; iterator !== undefined; follows++) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(limit, 10_000) }));
      const records = (page.Records ?? []).map((record) => decodeRecord(shardId, record));
      iterator = page.NextShardIterator;
      if (records.length > 0 || iterator === undefined || (page.MillisBehindLatest ?? 0) === 0 || follows >= maxEmptyFollows) {
        return { records, closed: iterator === undefined };
      }
    }
    return { records: [], closed: true };
  }

  function decodeRecord(shardId: string, record: _Record): FetchedRecord {
    const sequence = record.SequenceNumber ?? '';
    let event: EventEnvelope;
    try {
      event = JSON.parse(decoder.decode(record.Data)) as EventEnvelope;
    } catch (cause) {
      throw new UnilogError('LogCorrupted', `Record ${sequence} of shard ${shardId} in stream ${streamName} is not a unilog event (${(cause as Error).message}): only unilog should write to this stream.`, {
        segment: `${streamName}/${shardId}`,
        offset: 0,
        reason: `sequence ${sequence}: not JSON`,
      }, { cause });
    }
    return { shardId, sequence, arrival: record.ApproximateArrivalTimestamp?.getTime() ?? 0, stored: { position: formatCut(new Map([[shardId, { kind: 'at', sequence }]])), event } };
  }

  /** Shards to read now: not finished in `cut`, and (resharding) every listed parent finished, so a key's order survives a split or merge. */
  function readableShards(shards: readonly Shard[], cut: Cut): string[] {
    const listed = new Set(shards.map((s) => s.ShardId));
    const finished = (id: string | undefined) => id === undefined || !listed.has(id) || cut.get(id)?.kind === 'end';
    return shards
      .filter((s) => s.ShardId !== undefined && !finished(s.ShardId) && finished(s.ParentShardId) && finished(s.AdjacentParentShardId))
      .map((s) => s.ShardId as string);
  }

  async function read(from: Position | undefined, limitOption: number | undefined): Promise<ReadResult> {
    assertOpen();
    const cut = new Map(parseCut(from));
    const limit = parseLimit(limitOption);
    const unchanged = from ?? formatCut(cut);
    for (;;) {
      const shardIds = readableShards(await listShards(), cut);
      const fetched = await Promise.all(shardIds.map(async (shardId) => ({ shardId, ...(await fetchShard(shardId, cut.get(shardId), limit)) })));
      // Merge by arrival time (then shard id): the same cut always gives the same order, so paging by `next` repeats nothing.
      const heads = fetched.map(() => 0);
      const events: StoredEvent[] = [];
      while (events.length < limit) {
        let best = -1;
        for (let i = 0; i < fetched.length; i++) {
          const candidate = fetched[i]?.records[heads[i] ?? 0];
          const current = best < 0 ? undefined : fetched[best]?.records[heads[best] ?? 0];
          if (candidate && (!current || candidate.arrival < current.arrival || (candidate.arrival === current.arrival && candidate.shardId < current.shardId))) best = i;
        }
        const shard = fetched[best];
        const record = shard?.records[heads[best] ?? 0];
        if (!shard || !record) break;
        heads[best] = (heads[best] ?? 0) + 1;
        events.push(record.stored);
        cut.set(shard.shardId, { kind: 'after', sequence: record.sequence });
      }
      let ended = false;
      for (const [i, shard] of fetched.entries()) {
        if (shard.closed && heads[i] === shard.records.length) {
          cut.set(shard.shardId, { kind: 'end' });
          ended = true;
        }
      }
      if (events.length > 0) return { events, next: formatCut(cut) };
      // A finished parent makes its children readable: look again before answering that nothing is there.
      if (!ended) return { events: [], next: unchanged };
      shardCache = undefined;
    }
  }

  const waitForRecords = (ms: number, signal: AbortSignal) => waitForWake(wakers, ms, signal);


  const log: EventLog = {
    capabilities: { ordering: 'per-key', positions: kinesisPositions },
    async append(batch) {
      assertOpen(closing);
      const json = serializeEvents(batch, maxRecordBytes);
      const records = json.map((text, index) => {
        const event = batch[index] as EventEnvelope;
        const partitionKey = event.subject;
        if (partitionKey.length > 256) {
          throw new UnilogError('InvalidPartitionKey', `Event ${index} (${event.type}) has a subject of more than 256 characters, the Kinesis partition key limit: use a shorter subject.`, { type: event.type, key: partitionKey, index });
        }
        const data = encoder.encode(text);
        const bytes = data.byteLength + Buffer.byteLength(partitionKey);
        if (bytes > maxRecordBytes) {
          throw new UnilogError('EventTooLarge', `Event ${index} (${event.type}) is ${bytes} bytes as a Kinesis record (JSON plus partition key), over the limit of ${maxRecordBytes}: store large content elsewhere (S3) and put its address in the event.`, { bytes, limit: maxRecordBytes, index, type: event.type });
        }
        return { partitionKey, data };
      });
      return { positions: await appender.append(records) };
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
      const [{ GetShardIteratorCommand, GetRecordsCommand }, kinesis] = await Promise.all([sdk(), client()]);
      const shards = await listShards(true);
      const cut = new Map<string, ShardCursor>();
      await Promise.all(shards.map(async (shard) => {
        const shardId = shard.ShardId;
        if (shardId === undefined) return;
        // A closed shard is read to its last record once (a cut after it is what readers reach; "end" they may never
        // see); one with no record is left out, as reading it from its start gives nothing.
        const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
        let tip = tips.get(shardId);
        if (closed && finished.has(shardId)) {
          if (tip !== undefined) cut.set(shardId, { kind: 'after', sequence: tip });
          return;
        }
        // @debt Kinesis cannot say where a shard ends without reading it: the first head() scans each open shard from its start.
        const start = tip === undefined ? { ShardIteratorType: 'TRIM_HORIZON' as const } : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, StartingSequenceNumber: tip };
        let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ...start }))).ShardIterator;
        while (iterator !== undefined) {
          const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
          const last = page.Records?.at(-1)?.SequenceNumber;
          if (last !== undefined) tip = last;
          if (last === undefined && (page.MillisBehindLatest ?? 0) === 0) break;
          iterator = page.NextShardIterator;
        }
        if (tip !== undefined) {
          tips.set(shardId, tip);
          cut.set(shardId, { kind: 'after', sequence: tip });
        }
        if (closed) finished.add(shardId);
      }));
      return formatCut(cut);
    },
    async close() {
      if (closing) return;
      closing = true;
      await appender.idle();
      await Promise.all([...subscriptions].map((s) => s.stop()));
      closed = true;
      if (!options.client && clientPromise) (await clientPromise).destroy();
    },
  };
  return log;
}
