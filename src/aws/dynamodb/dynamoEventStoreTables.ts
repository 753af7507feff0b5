import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../init.ts';

/** Options of {@link createTableIfMissing}. */
export interface CreateTableIfMissingOptions {
  /** The event-store table: keyed by (`streamId` S, `version` N). */
  readonly tableName: string;
  /** The outbox table, if the store writes one: keyed by (`bucket` S, `id` S). */
  readonly outboxTableName?: string;
}

/**
 * Creates the tables of a DynamoDB event store (on-demand capacity) unless they exist, and waits until they are
 * active. Meant for tests and development: production tables belong in infrastructure code, with the same keys.
 * @example await createTableIfMissing(client, { tableName: 'events', outboxTableName: 'events-outbox' });
 */
export async function createTableIfMissing(client: DynamoDBClient, options: CreateTableIfMissingOptions): Promise<void> {
  await ensureTable(client, { name: options.tableName, partitionKey: { name: 'streamId', type: 'S' }, sortKey: { name: 'version', type: 'N' } }, 60);
  if (options.outboxTableName !== undefined) await ensureTable(client, { name: options.outboxTableName, partitionKey: { name: 'bucket', type: 'S' }, sortKey: { name: 'id', type: 'S' } }, 60);
}
