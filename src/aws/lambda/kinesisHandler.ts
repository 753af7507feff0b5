/**
 * A Lambda handler for a Kinesis event source mapping that keeps a projection's view, effectively-once per shard.
 * @see docs/aws.md
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isUnilogError, UnilogError } from '../../errors.ts';
import { createCatalog, type EventCatalog } from '../../events/catalog.ts';
import type { AnyEventDefinition } from '../../events/defineEvent.ts';
import type { EventEnvelope } from '../../events/envelope.ts';
import type { Position } from '../../log/eventLog.ts';
import { BatchTransaction } from '../../consumers/batchTransaction.ts';
import { backoffMs, defaultIsRetryable, type RetryPolicy } from '../../consumers/retry.ts';
import { RowCache } from '../../consumers/rowCache.ts';
import type { AnyProjection } from '../../views/defineProjection.ts';
import type { DeadLetter, DeadLetterAudit, ParkedEvent, ViewStorage, ViewStore } from '../../views/viewStore.ts';
import { formatCut, parseCut, recordPosition } from '../kinesis/positions.ts';

/** One record of a Lambda Kinesis event, as Lambda delivers it (only the fields the handler reads are required). */
export interface KinesisStreamRecord {
  /** `<shardId>:<sequenceNumber>`, e.g. `shardId-000000000000:4959…`. */
  readonly eventID: string;
  readonly eventSourceARN: string;
  readonly eventSource?: string;
  readonly eventName?: string;
  readonly eventVersion?: string;
  readonly invokeIdentityArn?: string;
  readonly awsRegion?: string;
  readonly kinesis: {
    /** The record's data, base64: a unilog event envelope as JSON. */
    readonly data: string;
    readonly sequenceNumber: string;
    readonly partitionKey: string;
    /** Seconds since the epoch, with fractions. */
    readonly approximateArrivalTimestamp?: number;
    readonly kinesisSchemaVersion?: string;
  };
}

/** The event Lambda passes to a Kinesis-triggered function. */
export interface KinesisStreamEvent {
  readonly Records: readonly KinesisStreamRecord[];
}

/** The answer for `FunctionResponseTypes: ['ReportBatchItemFailures']`: Lambda retries from the lowest sequence number listed. */
export interface KinesisBatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

/** Options of {@link createKinesisHandler}. */
export interface KinesisHandlerOptions {
  /** The projection whose view the handler keeps. */
  readonly projection: AnyProjection;
  /** Where the view lives: DynamoDB (`createDynamoViewStorage`) in Lambda; memory storage in tests. */
  readonly storage: ViewStorage;
  /** Upcasts events. @default a catalog of the projection's event definitions */
  readonly catalog?: EventCatalog;
  /** How a failing handler is retried before its event goes to the dead letters. @default { attempts: 3 } */
  readonly retry?: RetryPolicy;
  /** A poison event parks its key (later events of that key wait) or is skipped. @default 'park-key' */
  readonly onPoison?: 'park-key' | 'skip';
  /** How often a batch is redone when another shard's invocation committed in between. @default 5 */
  readonly conflictAttempts?: number;
  /** Told of every error that made a record a batch item failure. @default logs with console.error (CloudWatch) */
  readonly onError?: (error: unknown, context: { readonly shardId: string; readonly sequenceNumber: string }) => void;
}

type Handler = (event: EventEnvelope, view: unknown, context: { position: Position }) => void | Promise<void>;

/** A shard's records of one invocation, decoded lazily. */
interface ShardBatch {
  readonly shardId: string;
  readonly records: KinesisStreamRecord[];
}

const shardPattern = /^[A-Za-z0-9_.-]{1,128}$/;
const sequencePattern = /^[0-9]{1,128}$/;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Orders decimal sequence numbers (no leading zeros) without BigInt: longer is larger. */
function compareSequences(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The envelope in a record, or undefined when the data is not a unilog event. */
function decode(record: KinesisStreamRecord): EventEnvelope | undefined {
  try {
    const event: unknown = JSON.parse(decoder.decode(Buffer.from(record.kinesis.data, 'base64')));
    if (typeof event !== 'object' || event === null) return undefined;
    const { type, subject, id } = event as Record<string, unknown>;
    return typeof type === 'string' && typeof subject === 'string' && typeof id === 'string' ? (event as EventEnvelope) : undefined;
  } catch {
    return undefined;
  }
}

function describeError(error: unknown): DeadLetter['error'] {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { message: error.message, name: error.name, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { message: String(error), name: 'NonError' };
}

/**
 * Creates a Lambda handler for a Kinesis event source mapping (enable `ReportBatchItemFailures`): it applies each
 * shard's records in order with the projection's handlers, then commits the view changes together with a checkpoint
 * that holds, per shard, the last sequence number applied. Records at or below it are skipped, so a retried batch
 * changes nothing. A failed commit reports the shard's first unapplied record, so Lambda retries (and bisects) from it;
 * a poison event goes to the dead letters, as in `createConsumer`.
 * @example
 * export const handler = createKinesisHandler({
 *   projection: productCatalog,
 *   storage: createDynamoViewStorage({ client: new DynamoDBClient({}), tablePrefix: 'shop-' }),
 * });
 * @see docs/aws.md
 */
export function createKinesisHandler(options: KinesisHandlerOptions): (event: KinesisStreamEvent) => Promise<KinesisBatchResponse> {
  const { projection, storage } = options;
  const handlers = projection.handlers as Readonly<Record<string, Handler | undefined>>;
  const catalog = options.catalog ?? createCatalog(projection.events as readonly AnyEventDefinition[]);
  const retry = { attempts: 3, ...options.retry };
  const isRetryable = options.retry?.isRetryable ?? defaultIsRetryable;
  const conflictAttempts = options.conflictAttempts ?? 5;
  const onError = options.onError ?? ((error: unknown, at: { shardId: string; sequenceNumber: string }) => {
    console.error(`unilog: ${projection.name}: records of ${at.shardId} from ${at.sequenceNumber} failed and will be retried by Lambda:`, error);
  });
  // Kept across invocations of a warm container; a failed open is forgotten, so the next invocation opens again.
  let opening: Promise<ViewStore> | undefined;
  // Lambda runs one invocation per container at a time; this keeps direct callers (tests) to the same rule.
  let queue: Promise<unknown> = Promise.resolve();

  const openStore = (): Promise<ViewStore> =>
    (opening ??= (async () => {
      let copy = await storage.current(projection.name);
      if (copy === undefined) {
        // A fixed name, so that the first invocations of several shards agree on it.
        copy = `lambda-v${projection.version}`;
        const store = await storage.open(projection.name, copy, projection.layout);
        await storage.setCurrent(projection.name, copy);
        return store;
      }
      return storage.open(projection.name, copy, projection.layout);
    })().catch((error: unknown) => {
      opening = undefined;
      throw error;
    }));

  /** Applies one event inside the batch, with retries; false when it is poison. */
  const apply = async (handler: Handler, event: EventEnvelope, position: Position, tx: BatchTransaction, view: unknown): Promise<{ ok: true } | { ok: false; error: unknown; attempts: number }> => {
    for (let attempt = 1; ; attempt++) {
      tx.beginEvent();
      try {
        await handler(event, view, { position });
        tx.commitEvent();
        return { ok: true };
      } catch (error) {
        tx.rollbackEvent();
        if (!isRetryable(error) || attempt >= retry.attempts) return { ok: false, error, attempts: attempt };
        await sleep(backoffMs(attempt, retry));
      }
    }
  };

  /**
   * One try at a shard's batch: reads the checkpoint, applies the records after it, commits. Returns the record to
   * report (undefined: all applied), or throws what the commit threw.
   */
  const tryShard = async ({ shardId, records }: ShardBatch): Promise<KinesisStreamRecord | undefined> => {
    const store = await openStore();
    // Read every time: it refreshes the checkpoint a DynamoDB store conditions its commit on.
    const checkpoint = await store.checkpoint();
    if (checkpoint !== undefined && checkpoint.version !== projection.version) {
      throw new UnilogError('InvalidArgument', `The view of ${projection.name} was built by version ${checkpoint.version}, not ${projection.version}: rebuild the view before deploying the new handlers.`, { argument: 'projection.version', reason: 'version mismatch' });
    }
    const cut = new Map(parseCut(checkpoint?.position ?? formatCut(new Map())));
    const cursor = cut.get(shardId);
    const done = cursor?.kind === 'after' ? cursor.sequence : undefined;
    const pending = done === undefined ? records : records.filter((r) => compareSequences(r.kinesis.sequenceNumber, done) > 0);
    if (pending.length === 0) return undefined;

    const parked = options.onPoison === 'skip' ? new Set<string>() : new Set((await store.deadLetters()).filter((d) => d.mode === 'parked').map((d) => d.event.subject));
    const tx = new BatchTransaction(store, projection.layout, new RowCache());
    const view = tx.view();
    const deadLetters: DeadLetter[] = [];
    const parkedEvents: ParkedEvent[] = [];
    const audit: DeadLetterAudit[] = [];
    const poison = (position: Position, event: EventEnvelope, error: unknown, attempts: number) => {
      const mode = options.onPoison === 'skip' ? 'skipped' : 'parked';
      const at = new Date().toISOString();
      deadLetters.push({ position, event, error: describeError(error), attempts, at, mode });
      audit.push({ at, position, action: 'dead-lettered', detail: `${describeError(error).message} (after ${attempts} attempt(s); key ${event.subject} ${mode})` });
      if (mode === 'parked') parked.add(event.subject);
    };
    let last: string | undefined;
    let corrupt: KinesisStreamRecord | undefined;
    for (const record of pending) {
      const stored = decode(record);
      // Not a unilog event, so not a dead letter: it stops the shard here, for Lambda's retries and on-failure destination.
      if (stored === undefined) {
        corrupt = record;
        break;
      }
      last = record.kinesis.sequenceNumber;
      const position = recordPosition(shardId, last);
      let event: EventEnvelope;
      try {
        event = catalog.upcast(stored);
      } catch (error) {
        poison(position, stored, error, 1);
        continue;
      }
      const handler = handlers[event.type];
      if (!handler) continue;
      if (parked.has(event.subject)) {
        parkedEvents.push({ position, event });
        audit.push({ at: new Date().toISOString(), position, action: 'parked', detail: `key ${event.subject} is parked behind a dead letter` });
        continue;
      }
      const outcome = await apply(handler, event, position, tx, view);
      if (!outcome.ok) poison(position, event, outcome.error, outcome.attempts);
    }
    if (last !== undefined) {
      cut.set(shardId, { kind: 'after', sequence: last });
      await store.commit({ rows: tx.changes(), deadLetters: { add: deadLetters }, parked: { add: parkedEvents }, audit }, { position: formatCut(cut), version: projection.version });
    }
    if (corrupt !== undefined) onError(new UnilogError('LogCorrupted', `Record ${corrupt.kinesis.sequenceNumber} of ${shardId} is not a unilog event: only unilog should write to this stream.`, { segment: shardId, offset: 0, reason: `sequence ${corrupt.kinesis.sequenceNumber}: not an event envelope` }), { shardId, sequenceNumber: corrupt.kinesis.sequenceNumber });
    return corrupt;
  };

  /** A shard's batch, redone while another shard's invocation wins the checkpoint; returns the record to report. */
  const processShard = async (batch: ShardBatch): Promise<KinesisStreamRecord | undefined> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await tryShard(batch);
      } catch (error) {
        // The checkpoint holds every shard, so invocations of two shards can race for it: the loser redoes its batch
        // on the rows the winner wrote. Any other error (the store is down, say) is Lambda's to retry.
        if (isUnilogError(error, 'ConcurrencyConflict') && attempt < conflictAttempts) {
          await sleep(backoffMs(attempt, { initialDelayMs: 20 }));
          continue;
        }
        const first = batch.records[0] as KinesisStreamRecord;
        onError(error, { shardId: batch.shardId, sequenceNumber: first.kinesis.sequenceNumber });
        // Nothing of this try was committed: Lambda retries from the first record, and the checkpoint skips what was applied.
        return first;
      }
    }
  };

  const handle = async (event: KinesisStreamEvent): Promise<KinesisBatchResponse> => {
    const shards = new Map<string, ShardBatch>();
    for (const record of event.Records) {
      const colon = record.eventID.indexOf(':');
      const shardId = record.eventID.slice(0, colon);
      if (colon < 0 || !shardPattern.test(shardId) || !sequencePattern.test(record.kinesis.sequenceNumber)) {
        throw new UnilogError('InvalidArgument', `Record ${JSON.stringify(record.eventID)} is not a Kinesis record: its eventID must be "<shardId>:<sequenceNumber>"; use the handler with a Kinesis event source mapping.`, { argument: 'event.Records', reason: 'not a Kinesis record' });
      }
      let batch = shards.get(shardId);
      if (!batch) shards.set(shardId, (batch = { shardId, records: [] }));
      batch.records.push(record);
    }
    const batchItemFailures: { itemIdentifier: string }[] = [];
    for (const batch of shards.values()) {
      batch.records.sort((a, b) => compareSequences(a.kinesis.sequenceNumber, b.kinesis.sequenceNumber));
      const failed = await processShard(batch);
      if (failed) batchItemFailures.push({ itemIdentifier: failed.kinesis.sequenceNumber });
    }
    return { batchItemFailures };
  };

  return (event) => {
    const run = queue.then(() => handle(event));
    queue = run.catch(() => undefined);
    return run;
  };
}
