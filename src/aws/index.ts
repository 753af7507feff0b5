/**
 * The AWS adapters of unilog (`unilog/aws`): the only entry that loads `@aws-sdk/*`, so embedded users never do.
 * @see docs/aws.md
 * @module
 */
export { createKinesisEventLog } from './kinesis/index.ts';
export type { KinesisEventLogOptions, KinesisRetryOptions } from './kinesis/index.ts';
export { createDynamoEventStore, dynamoPosition } from './dynamodb/dynamoEventStore.ts';
export type { DynamoEventStoreOptions } from './dynamodb/dynamoEventStore.ts';
export { createTableIfMissing } from './dynamodb/dynamoEventStoreTables.ts';
export type { CreateTableIfMissingOptions } from './dynamodb/dynamoEventStoreTables.ts';
export { createOutboxRelay } from './dynamodb/outboxRelay.ts';
export type { OutboxRelay, OutboxRelayOptions } from './dynamodb/outboxRelay.ts';
export { createDynamoViewStorage } from './dynamodb/dynamoViewStore.ts';
export type { DynamoViewStorageOptions } from './dynamodb/dynamoViewStore.ts';
export { createBucketIfMissing, createS3BlobStore } from './s3/index.ts';
export type { S3BlobStoreOptions } from './s3/index.ts';
export { createKinesisHandler } from './lambda/index.ts';
export type { KinesisBatchResponse, KinesisHandlerOptions, KinesisStreamEvent, KinesisStreamRecord } from './lambda/index.ts';
export { createKinesisWorker } from './consumers/kinesisWorker.ts';
export type { KinesisWorker, KinesisWorkerOptions, KinesisWorkerStatus } from './consumers/kinesisWorker.ts';
export { createShardApplier } from './consumers/shardApplier.ts';
export type { ShardApplier, ShardApplierOptions, ShardApplyResult, ShardRecord } from './consumers/shardApplier.ts';
export { createLeaseCoordinator } from './leases/leaseCoordinator.ts';
export type { LeaseCoordinator, LeaseCoordinatorOptions, ShardInfo } from './leases/leaseCoordinator.ts';
export { createDynamoTimerStore } from './dynamodb/dynamoTimerStore.ts';
export type { DynamoTimerStoreOptions } from './dynamodb/dynamoTimerStore.ts';
export { awsResources, eventStoreTableName, leaseTableName, outboxTableName, serviceIdsTableName, serviceKeysTableName, timerTableName, viewTableName } from './resources.ts';
export type { AwsResources, AwsResourcesOptions, TableDefinition } from './resources.ts';
export { createAwsClients } from './clients.ts';
export type { AwsClients, AwsClientsOptions } from './clients.ts';
export { ensureAwsResources, viewProjections } from './init.ts';
export type { EnsuredResource, EnsureAwsResourcesOptions } from './init.ts';
export { createDynamoIdIndex } from './service/dynamoIdIndex.ts';
export type { DynamoIdIndexOptions } from './service/dynamoIdIndex.ts';
export { createDynamoKeyStore } from './service/dynamoKeyStore.ts';
export type { DynamoKeyStore, DynamoKeyStoreOptions } from './service/dynamoKeyStore.ts';
export { createArchivedKinesisEventLog, createKinesisArchiver } from './archive/index.ts';
export type { ArchivedKinesisEventLogOptions, ArchiveRunResult, KinesisArchiver, KinesisArchiverOptions } from './archive/index.ts';
export { rebuildKinesisView } from './consumers/rebuildKinesisView.ts';
export type { RebuildKinesisViewOptions } from './consumers/rebuildKinesisView.ts';
