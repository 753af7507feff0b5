/**
 * A Lambda handler for a Kinesis event source mapping that keeps a projection's view, effectively-once per shard.
 * @see docs/aws.md
 * @module
 */
import { UnilogError } from '../../errors.ts';
import { createShardApplier, type ShardApplierOptions } from '../consumers/shardApplier.ts';
import { compareSequences } from '../kinesis/positions.ts';

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

/**
 * Options of {@link createKinesisHandler}: the projection, its view storage (DynamoDB in Lambda; memory in tests),
 * and how failures are retried, as for every Kinesis consumer.
 */
export interface KinesisHandlerOptions extends ShardApplierOptions {
  /** Told of every error that made a record a batch item failure. @default logs with console.error (CloudWatch) */
  readonly onError?: (error: unknown, context: { readonly shardId: string; readonly sequenceNumber: string }) => void;
}

/** A shard's records of one invocation, decoded lazily. */
interface ShardBatch {
  readonly shardId: string;
  readonly records: KinesisStreamRecord[];
}

const shardPattern = /^[A-Za-z0-9_.-]{1,128}$/;
const sequencePattern = /^[0-9]{1,128}$/;

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
  const { projection } = options;
  const onError = options.onError ?? ((error: unknown, at: { shardId: string; sequenceNumber: string }) => {
    console.error(`unilog: ${projection.name}: records of ${at.shardId} from ${at.sequenceNumber} failed and will be retried by Lambda:`, error);
  });
  // Kept across invocations of a warm container.
  const applier = createShardApplier(options);
  // Lambda runs one invocation per container at a time; this keeps direct callers (tests) to the same rule.
  let queue: Promise<unknown> = Promise.resolve();

  /** Applies a shard's batch; returns the record to report (undefined: all applied). */
  const processShard = async ({ shardId, records }: ShardBatch): Promise<KinesisStreamRecord | undefined> => {
    try {
      const { corrupt } = await applier.apply(shardId, records.map((record) => ({ sequenceNumber: record.kinesis.sequenceNumber, data: Buffer.from(record.kinesis.data, 'base64') })));
      if (corrupt === undefined) return undefined;
      onError(new UnilogError('LogCorrupted', `Record ${corrupt.sequenceNumber} of ${shardId} is not a unilog event: only unilog should write to this stream.`, { segment: shardId, offset: 0, reason: `sequence ${corrupt.sequenceNumber}: not an event envelope` }), { shardId, sequenceNumber: corrupt.sequenceNumber });
      return records.find((record) => record.kinesis.sequenceNumber === corrupt.sequenceNumber);
    } catch (error) {
      const first = records[0] as KinesisStreamRecord;
      onError(error, { shardId, sequenceNumber: first.kinesis.sequenceNumber });
      // Nothing of this try was committed: Lambda retries from the first record, and the checkpoint skips what was applied.
      return first;
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
