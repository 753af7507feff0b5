import { CreateTableCommand, DescribeTableCommand, ResourceInUseException, ResourceNotFoundException, waitUntilTableExists, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

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
  await createOne(client, options.tableName, ['streamId', 'S'], ['version', 'N']);
  if (options.outboxTableName !== undefined) await createOne(client, options.outboxTableName, ['bucket', 'S'], ['id', 'S']);
}

async function createOne(client: DynamoDBClient, tableName: string, hash: readonly [string, 'S'], range: readonly [string, 'S' | 'N']): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: hash[0], AttributeType: hash[1] },
          { AttributeName: range[0], AttributeType: range[1] },
        ],
        KeySchema: [
          { AttributeName: hash[0], KeyType: 'HASH' },
          { AttributeName: range[0], KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (error) {
    // Another process created it first: fine, wait for it like for ours.
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { TableName: tableName });
}
