import { TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { UnilogError } from '../../errors.ts';
import type { EventCatalog } from '../../events/catalog.ts';
import type { AnyEventDefinition } from '../../events/defineEvent.ts';
import type { EventEnvelope } from '../../events/envelope.ts';
import { createPublisher } from '../../events/publisher.ts';
import type { EventLog } from '../../log/eventLog.ts';
import type { AggregateOptions, AppendToStreamResult, EventStore, ExpectedVersion, ReadStreamOptions, StreamEnvelope, StreamEvent } from '../../store/eventStore.ts';
import { kinesisPositions } from '../kinesis/positions.ts';
import { toOutboxItem } from './outboxEntry.ts';
import { checkStreamId, prepareStreamAppend } from '../../store/streamChecks.ts';

/** Options of {@link createDynamoEventStore}. */
export interface DynamoEventStoreOptions<TDefs extends AnyEventDefinition> {
  /** The client: a `DynamoDBClient` or a `DynamoDBDocumentClient` (not destroyed by `close`). */
  readonly client: DynamoDBClient | DynamoDBDocumentClient;
  /** The event-store table, keyed by (`streamId` S, `version` N); see `createTableIfMissing`. */
  readonly tableName: string;
  /** The known event types: a catalog, or the definitions to build one from. */
  readonly catalog: EventCatalog<TDefs> | readonly TDefs[];
  /** The producer stamped as the events' `source`. */
  readonly source: string;
  /** The outbox table, keyed by (`bucket` S, `id` S): each append writes one entry per event in the same transaction, for `createOutboxRelay`. @default no outbox */
  readonly outboxTableName?: string;
  /** Outbox partitions: streams are spread over them by a hash of their id. The relay must use the same number. @default 1 */
  readonly outboxBuckets?: number;
}

/** A transaction holds at most 100 items (events, outbox entries and the version check together). */
const maxTransactionItems = 100;
/** Appends retried on contention (a concurrent transaction on the same items), or re-read for `'any'`/`'stream_exists'`. */
const maxAttempts = 20;
/** Snapshots live in the stream's partition at version 0, below every event. */
const snapshotVersion = 0;

/** A stream event's position: DynamoDB has none in the unified log until the relay publishes it. */
export function dynamoPosition(streamId: string, version: number): string {
  return `dynamo:${streamId}:${version}`;
}

/** No log: the store only uses the publisher to check events and build envelopes. */
const noLog: EventLog = {
  capabilities: { ordering: 'per-key', positions: kinesisPositions },
  append: () => Promise.reject(new Error('unreachable: the DynamoDB store writes its own items')),
  read: () => Promise.reject(new Error('unreachable')),
  subscribe: () => {
    throw new Error('unreachable');
  },
  head: () => Promise.reject(new Error('unreachable')),
  close: () => Promise.resolve(),
};



/** What a failed write means: a condition failed (the version moved), or contention with another transaction (retry). */
function classify(error: unknown): 'condition' | 'contention' | undefined {
  if (error instanceof TransactionCanceledException) {
    const codes = (error.CancellationReasons ?? []).map((r) => r.Code);
    if (codes.includes('ConditionalCheckFailed')) return 'condition';
    if (codes.includes('TransactionConflict')) return 'contention';
    return undefined;
  }
  const name = error instanceof Error ? error.name : '';
  if (name === 'ConditionalCheckFailedException') return 'condition';
  if (name === 'TransactionConflictException') return 'contention';
  return undefined;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An event store on a DynamoDB table keyed by (stream id, version). Appends are conditional writes
 * (`attribute_not_exists`): one `PutItem` for a lone event, else one `TransactWriteItems` with the events, a check
 * of the expected version and, with `outboxTableName`, one outbox entry per event. Positions are
 * `dynamo:<streamId>:<version>` (the log position exists only once `createOutboxRelay` publishes the event).
 * @example const store = createDynamoEventStore({ client, tableName: 'events', outboxTableName: 'events-outbox', catalog: [ItemAdded], source: 'cart-service' });
 * @see docs/event-sourcing.md
 */
export function createDynamoEventStore<const TDefs extends AnyEventDefinition>(options: DynamoEventStoreOptions<TDefs>): EventStore<TDefs> {
  const { tableName, outboxTableName } = options;
  const buckets = options.outboxBuckets ?? 1;
  if (!Number.isSafeInteger(buckets) || buckets < 1) throw new UnilogError('InvalidArgument', `outboxBuckets must be a whole number of 1 or more, not ${String(options.outboxBuckets)}.`, { argument: 'outboxBuckets', reason: 'invalid' });
  const client = options.client instanceof DynamoDBDocumentClient ? options.client : DynamoDBDocumentClient.from(options.client);
  const publisher = createPublisher({ log: noLog, catalog: options.catalog, source: options.source });
  const { catalog } = publisher;
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new UnilogError('LogClosed', 'The event store is closed: create it again.', {});
  };

  /** The stream's version: its newest event's, read strongly consistent. */
  const currentVersion = async (streamId: string): Promise<number> => {
    const result = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'streamId = :s AND version >= :one',
        ExpressionAttributeValues: { ':s': streamId, ':one': 1 },
        ProjectionExpression: 'version',
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = result.Items?.[0];
    return item ? Number(item.version) : 0;
  };

  const conflict = async (streamId: string, expected: ExpectedVersion) => {
    const actual = await currentVersion(streamId);
    return new UnilogError('ConcurrencyConflict', `Stream ${streamId} is at version ${actual}, not ${String(expected)}: load it again and retry the command.`, { streamId, expected, actual });
  };

  /** Writes the events after version `base`; throws what `classify` reads. */
  const write = async (streamId: string, envelopes: readonly EventEnvelope[], base: number, checkBase: boolean) => {
    const stored = envelopes.map((envelope, i) => ({ ...envelope, streamid: streamId, streamversion: base + 1 + i }));
    type Item = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
    const items: Item[] = [];
    // A stream never shrinks, so "version `base` exists and `base + 1` does not" is "the stream is at `base`".
    if (checkBase) items.push({ ConditionCheck: { TableName: tableName, Key: { streamId, version: base }, ConditionExpression: 'attribute_exists(streamId)' } });
    for (const event of stored) {
      items.push({ Put: { TableName: tableName, Item: { streamId, version: event.streamversion, event: JSON.stringify(event) }, ConditionExpression: 'attribute_not_exists(streamId)' } });
    }
    if (outboxTableName !== undefined) {
      for (const event of stored) items.push({ Put: { TableName: outboxTableName, Item: { ...toOutboxItem(event, buckets) }, ConditionExpression: 'attribute_not_exists(id)' } });
    }
    const [only] = items;
    if (items.length === 1 && only?.Put) await client.send(new PutCommand(only.Put));
    else await client.send(new TransactWriteCommand({ TransactItems: items }));
    return stored.map((event) => dynamoPosition(streamId, event.streamversion));
  };

  const append = async (streamId: string, envelopes: readonly EventEnvelope[], expected: ExpectedVersion): Promise<AppendToStreamResult> => {
    for (let attempt = 1; ; attempt++) {
      let base: number;
      if (expected === 'no_stream') base = 0;
      else if (typeof expected === 'number') base = expected;
      else {
        base = await currentVersion(streamId);
        if (expected === 'stream_exists' && base === 0) throw await conflict(streamId, expected);
      }
      try {
        const positions = await write(streamId, envelopes, base, typeof expected === 'number' && base > 0);
        return { nextExpectedVersion: base + envelopes.length, positions };
      } catch (error) {
        const kind = classify(error);
        if (kind === undefined) throw error;
        const exact = typeof expected === 'number' || expected === 'no_stream';
        if (attempt >= maxAttempts || (kind === 'condition' && exact)) throw await conflict(streamId, expected);
        // Contention, or another writer took the version `'any'`/`'stream_exists'` read: read and write again.
        await pause(Math.random() * 10 * attempt);
      }
    }
  };

  const query = async (streamId: string, low: number, high: number, forward: boolean, limit: number) => {
    const events: StreamEvent<StreamEnvelope<TDefs>>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'streamId = :s AND version BETWEEN :low AND :high',
          ExpressionAttributeValues: { ':s': streamId, ':low': low, ':high': high },
          ScanIndexForward: forward,
          Limit: Math.min(limit - events.length, 1000),
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const version = Number(item.version);
        const event = catalog.upcast(JSON.parse(String(item.event)) as EventEnvelope) as StreamEnvelope<TDefs>;
        events.push({ position: dynamoPosition(streamId, version), streamVersion: version, event });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && events.length < limit);
    return events;
  };

  const readStream = async (streamId: string, readOptions: ReadStreamOptions) => {
    const limit = readOptions.limit ?? Number.MAX_SAFE_INTEGER;
    const version = await currentVersion(streamId);
    const direction = readOptions.direction ?? 'forward';
    if (version === 0) return { version, events: [] };
    const start = readOptions.from ?? (direction === 'forward' ? 1 : version);
    if (direction === 'forward' ? start > version : start < 1) return { version, events: [] };
    const events = direction === 'forward' ? await query(streamId, Math.max(start, 1), version, true, limit) : await query(streamId, 1, Math.min(start, version), false, limit);
    return { version, events };
  };

  return {
    async appendToStream(streamId, events, appendOptions = {}) {
      await Promise.resolve();
      assertOpen();
      const { expected, envelopes } = prepareStreamAppend(publisher, streamId, events, appendOptions.expectedVersion);
      const perEvent = outboxTableName === undefined ? 1 : 2;
      if (envelopes.length * perEvent + 1 > maxTransactionItems) {
        const most = Math.floor((maxTransactionItems - 1) / perEvent);
        throw new UnilogError('InvalidArgument', `A DynamoDB append is one transaction of at most ${maxTransactionItems} items: append at most ${most} events at a time, not ${envelopes.length}.`, { argument: 'events', reason: 'too many' });
      }
      return append(streamId, envelopes, expected);
    },
    async readStream(streamId, readOptions = {}) {
      await Promise.resolve();
      assertOpen();
      checkStreamId(streamId);
      const { limit, from } = readOptions;
      if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) throw new UnilogError('InvalidArgument', `limit must be a whole number of 1 or more, not ${String(limit)}.`, { argument: 'limit', reason: 'invalid' });
      if (from !== undefined && (!Number.isSafeInteger(from) || from < 0)) throw new UnilogError('InvalidArgument', `from must be a stream version (0 or more), not ${String(from)}.`, { argument: 'from', reason: 'invalid' });
      return readStream(streamId, readOptions);
    },
    async aggregateStream<TState>(streamId: string, aggregate: AggregateOptions<TState, StreamEnvelope<TDefs>>) {
      await Promise.resolve();
      assertOpen();
      checkStreamId(streamId);
      const { snapshots } = aggregate;
      let state = aggregate.initialState();
      let from = 1;
      if (snapshots) {
        const found = await client.send(
          new QueryCommand({ TableName: tableName, KeyConditionExpression: 'streamId = :s AND version = :zero', ExpressionAttributeValues: { ':s': streamId, ':zero': snapshotVersion }, ConsistentRead: true }),
        );
        const snapshot = found.Items?.[0];
        if (snapshot && Number(snapshot.tag) === snapshots.version) {
          state = JSON.parse(String(snapshot.state)) as TState;
          from = Number(snapshot.snapshotOf) + 1;
        }
      }
      const { version, events } = await readStream(streamId, { from });
      for (const { event } of events) state = aggregate.evolve(state, event);
      const folded = Math.max(version, from - 1);
      if (snapshots && folded - (from - 1) >= snapshots.every) {
        // @debt The state must survive JSON (as for any snapshot store over the network); one snapshot item per stream, last writer wins.
        await client.send(new PutCommand({ TableName: tableName, Item: { streamId, version: snapshotVersion, tag: snapshots.version, snapshotOf: folded, state: JSON.stringify(state) } }));
      }
      return { state, version: folded };
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}
