import { UnilogError } from '../errors.ts';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AwsClients } from './clients.ts';
import type { AwsResources, ProjectionShape, TableDefinition } from './resources.ts';

/** One resource `ensureAwsResources` looked at, and what it did. */
export interface EnsuredResource {
  readonly kind: 'stream' | 'table' | 'time-to-live' | 'bucket';
  /** The stream, table or bucket name (for `time-to-live`: the table's). */
  readonly name: string;
  readonly action: 'created' | 'existed';
}

/** Options of {@link ensureAwsResources}. */
export interface EnsureAwsResourcesOptions {
  /** Create the stream with this many shards (provisioned mode), as kinesalite needs. @default on-demand capacity */
  readonly shards?: number;
  /** Called after each resource, for progress output. */
  readonly onResource?: (resource: EnsuredResource) => void;
  /** The longest wait for one stream or table to become active, in seconds. @default 300 */
  readonly maxWaitSeconds?: number;
}

/**
 * Creates the stream, tables (on-demand, their key schema, TTL where defined) and buckets of a deployment unless they
 * exist, and waits until they are active: the one place `unilog aws init` and the local AWS stack create resources.
 * Idempotent, and safe to run from two processes at once. Existing resources are not changed (a stream's capacity
 * mode, a table's keys); production deployments use the CDK app, from the same definitions.
 * @example await ensureAwsResources(await createAwsClients(), awsResources({ prefix: 'shop-' }));
 * @see docs/aws.md#configuration
 */
export async function ensureAwsResources(clients: AwsClients, resources: AwsResources, options: EnsureAwsResourcesOptions = {}): Promise<EnsuredResource[]> {
  const done: EnsuredResource[] = [];
  const report = (resource: EnsuredResource) => {
    done.push(resource);
    options.onResource?.(resource);
  };
  const maxWaitTime = options.maxWaitSeconds ?? 300;
  if (options.shards !== undefined && (!Number.isInteger(options.shards) || options.shards < 1)) {
    throw new UnilogError('InvalidArgument', `shards is a whole number from 1, not ${options.shards}: or leave it out for an on-demand stream.`, { argument: 'shards', reason: 'not a whole number from 1' });
  }
  report(await ensureStream(clients, resources.streamName, options.shards, maxWaitTime));
  for (const table of resources.tables) {
    report(await ensureTable(clients.dynamodb, table, maxWaitTime));
    if (table.timeToLiveAttribute !== undefined) report(await ensureTimeToLive(clients, table.name, table.timeToLiveAttribute));
  }
  for (const bucket of [resources.buckets.archive, resources.buckets.blobs]) report(await ensureBucket(clients, bucket));
  return done;
}

async function ensureStream(clients: AwsClients, streamName: string, shards: number | undefined, maxWaitTime: number): Promise<EnsuredResource> {
  const { CreateStreamCommand, DescribeStreamSummaryCommand, ResourceInUseException, ResourceNotFoundException, waitUntilStreamExists } = await import('@aws-sdk/client-kinesis');
  let action: EnsuredResource['action'] = 'existed';
  try {
    await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    try {
      await clients.kinesis.send(new CreateStreamCommand(shards === undefined ? { StreamName: streamName, StreamModeDetails: { StreamMode: 'ON_DEMAND' } } : { StreamName: streamName, ShardCount: shards }));
      action = 'created';
    } catch (createError) {
      if (shards === undefined && /shardCount/i.test((createError as Error).message)) {
        // kinesalite (and some other stand-ins) have no on-demand mode and insist on a shard count.
        throw new UnilogError('InvalidArgument', `The Kinesis endpoint refused an on-demand stream (${(createError as Error).message}): give a shard count (unilog aws init --shards N).`, { argument: 'shards', reason: 'on-demand not supported' }, { cause: createError });
      }
      // Another process created it first: fine, wait for it like for ours.
      if (!(createError instanceof ResourceInUseException)) throw createError;
    }
  }
  await waitUntilStreamExists({ client: clients.kinesis, maxWaitTime, minDelay: 1, maxDelay: 2 }, { StreamName: streamName });
  return { kind: 'stream', name: streamName, action };
}

/** Creates one table of a definition (on-demand capacity) unless it exists, and waits until it is active. */
export async function ensureTable(client: DynamoDBClient, table: Pick<TableDefinition, 'name' | 'partitionKey' | 'sortKey'>, maxWaitTime = 300): Promise<EnsuredResource> {
  const { CreateTableCommand, DescribeTableCommand, ResourceInUseException, ResourceNotFoundException, waitUntilTableExists } = await import('@aws-sdk/client-dynamodb');
  let action: EnsuredResource['action'] = 'existed';
  try {
    await client.send(new DescribeTableCommand({ TableName: table.name }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    const keys = table.sortKey === undefined ? [table.partitionKey] : [table.partitionKey, table.sortKey];
    try {
      await client.send(
        new CreateTableCommand({
          TableName: table.name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: keys.map((key) => ({ AttributeName: key.name, AttributeType: key.type })),
          KeySchema: keys.map((key, i) => ({ AttributeName: key.name, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
        }),
      );
      action = 'created';
    } catch (createError) {
      if (!(createError instanceof ResourceInUseException)) throw createError;
    }
  }
  await waitUntilTableExists({ client, maxWaitTime, minDelay: 1, maxDelay: 2 }, { TableName: table.name });
  return { kind: 'table', name: table.name, action };
}

async function ensureTimeToLive(clients: AwsClients, tableName: string, attribute: string): Promise<EnsuredResource> {
  const { DescribeTimeToLiveCommand, UpdateTimeToLiveCommand } = await import('@aws-sdk/client-dynamodb');
  const { TimeToLiveDescription: current } = await clients.dynamodb.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const on = current?.TimeToLiveStatus === 'ENABLED' || current?.TimeToLiveStatus === 'ENABLING';
  if (on && current.AttributeName === attribute) return { kind: 'time-to-live', name: tableName, action: 'existed' };
  if (on) {
    throw new UnilogError('ConfigInvalid', `Table ${tableName} deletes expired items by ${JSON.stringify(current.AttributeName)}, not ${JSON.stringify(attribute)}: disable its time to live, wait an hour (DynamoDB's rule), and run again.`, {
      file: `dynamodb:${tableName}`,
      reason: 'time to live on another attribute',
    });
  }
  await clients.dynamodb.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { Enabled: true, AttributeName: attribute } }));
  return { kind: 'time-to-live', name: tableName, action: 'created' };
}

async function ensureBucket(clients: AwsClients, bucket: string): Promise<EnsuredResource> {
  const [{ HeadBucketCommand }, { createBucketIfMissing }] = await Promise.all([import('@aws-sdk/client-s3'), import('./s3/index.ts')]);
  try {
    await clients.s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return { kind: 'bucket', name: bucket, action: 'existed' };
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((error as { name?: unknown }).name !== 'NotFound' && status !== 404) throw error;
  }
  await createBucketIfMissing(clients.s3, bucket);
  return { kind: 'bucket', name: bucket, action: 'created' };
}

/** The projections among a config's `projections` (reactors keep no views): those that get a view table. */
export function viewProjections(definitions: readonly unknown[]): ProjectionShape[] {
  return definitions.filter((p): p is ProjectionShape => typeof p === 'object' && p !== null && (p as { kind?: unknown }).kind === 'projection');
}
