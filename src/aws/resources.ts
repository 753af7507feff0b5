/**
 * The AWS resources a unilog deployment uses, by name and key schema: one definition for `unilog aws init`, the local
 * AWS stack (`npm run local:aws`) and the CDK app, so the three never disagree. Pure data: loads no SDK.
 * @see docs/aws.md
 * @module
 */

/** A key attribute of a DynamoDB table. */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

/** What a table holds, for people reading the stack. */
export type TablePurpose = 'view' | 'leases' | 'event-store' | 'outbox' | 'service-keys' | 'service-ids' | 'timers';

/** One DynamoDB table of a deployment. */
export interface TableDefinition {
  readonly name: string;
  readonly purpose: TablePurpose;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** The attribute DynamoDB's TTL deletes expired items by (epoch seconds), when the table uses one. */
  readonly timeToLiveAttribute?: string;
  /** For view tables: the projection, and its declared secondary indexes per view table (kept as items; see docs/aws.md). */
  readonly projection?: { readonly name: string; readonly version: number; readonly indexes: Readonly<Record<string, readonly string[]>> };
}

/** The projection fields the resource definitions read (any `defineProjection` result has them). */
export interface ProjectionShape {
  readonly name: string;
  readonly version: number;
  readonly layout: Readonly<Record<string, { readonly key: string; readonly indexes: readonly string[] }>>;
}

/** Options of {@link awsResources}. */
export interface AwsResourcesOptions {
  /** Prefix of every table and bucket name, e.g. `shop-`; lower case letters, digits and `-` so bucket names stay valid. */
  readonly prefix: string;
  /** The Kinesis stream. @default `<prefix>events` */
  readonly streamName?: string;
  /** The projections whose views live in DynamoDB (one table each). @default [] */
  readonly projections?: readonly ProjectionShape[];
}

/** Every resource of a deployment. */
export interface AwsResources {
  readonly streamName: string;
  readonly tables: readonly TableDefinition[];
  /** S3 buckets: the stream archive (replay past retention) and the photos / blobs. */
  readonly buckets: { readonly archive: string; readonly blobs: string };
}

const prefixPattern = /^[a-z0-9][a-z0-9-]{0,30}$/;
const pk = (name: string, type: 'S' | 'N' = 'S'): KeyAttribute => ({ name, type });

/** The DynamoDB table of a projection's views (every copy of the view is one partition of it). */
export const viewTableName = (prefix: string, projection: string): string => `${prefix}view-${projection}`;
/** The lease table of distributed consumers: one item per consumer group and shard. */
export const leaseTableName = (prefix: string): string => `${prefix}leases`;
/** The event-store table (entity streams) and its outbox. */
export const eventStoreTableName = (prefix: string): string => `${prefix}streams`;
export const outboxTableName = (prefix: string): string => `${prefix}streams-outbox`;
/** The service's producer keys and its client-id dedupe index. */
export const serviceKeysTableName = (prefix: string): string => `${prefix}service-keys`;
export const serviceIdsTableName = (prefix: string): string => `${prefix}service-ids`;
/** The durable timers of process managers (`createDynamoTimerStore`): a state item per timer, pending ones by due time. */
export const timerTableName = (prefix: string): string => `${prefix}timers`;

/**
 * The stream, tables and buckets of a deployment named by `prefix`.
 * @example awsResources({ prefix: 'shop-', projections: helloRetailProjections }).tables.map((t) => t.name)
 */
export function awsResources(options: AwsResourcesOptions): AwsResources {
  const { prefix } = options;
  if (!prefixPattern.test(prefix.replace(/-$/, '') || 'x')) {
    throw new TypeError(`The AWS name prefix ${JSON.stringify(prefix)} must be lower-case letters, digits and '-' (at most 31), so it makes valid table and bucket names.`);
  }
  const views: TableDefinition[] = (options.projections ?? []).map((projection) => ({
    name: viewTableName(prefix, projection.name),
    purpose: 'view',
    partitionKey: pk('pk'),
    sortKey: pk('sk'),
    projection: {
      name: projection.name,
      version: projection.version,
      indexes: Object.fromEntries(Object.entries(projection.layout).map(([table, layout]) => [table, [...layout.indexes]])),
    },
  }));
  return {
    streamName: options.streamName ?? `${prefix}events`,
    tables: [
      ...views,
      { name: leaseTableName(prefix), purpose: 'leases', partitionKey: pk('group'), sortKey: pk('shard') },
      { name: eventStoreTableName(prefix), purpose: 'event-store', partitionKey: pk('streamId'), sortKey: pk('version', 'N') },
      { name: outboxTableName(prefix), purpose: 'outbox', partitionKey: pk('bucket'), sortKey: pk('id') },
      { name: serviceKeysTableName(prefix), purpose: 'service-keys', partitionKey: pk('pk') },
      { name: serviceIdsTableName(prefix), purpose: 'service-ids', partitionKey: pk('pk'), timeToLiveAttribute: 'ttl' },
      { name: timerTableName(prefix), purpose: 'timers', partitionKey: pk('pk'), sortKey: pk('sk') },
    ],
    buckets: { archive: `${prefix}archive`, blobs: `${prefix}blobs` },
  };
}
