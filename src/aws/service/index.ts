export { createDynamoKeyStore, type DynamoKeyStore, type DynamoKeyStoreOptions } from './dynamoKeyStore.ts';
export { createDynamoIdIndex, type DynamoIdIndexOptions } from './dynamoIdIndex.ts';
export { startAwsService, type StartAwsServiceOptions } from './startAwsService.ts';
