import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createTableIfMissing } from '../../src/aws/index.ts';
import { awsEndpoints } from './endpoints.ts';

/** A client of DynamoDB Local; throws with the reason when it cannot run here. */
export function dynamoLocalClient(): DynamoDBClient {
  const aws = awsEndpoints();
  if (!('endpoint' in aws.dynamodb)) throw new Error(aws.dynamodb.unavailable);
  return new DynamoDBClient({ endpoint: aws.dynamodb.endpoint, region: aws.region, credentials: aws.credentials, requestHandler: new NodeHttpHandler(), maxAttempts: 2 });
}

/** Fresh event-store and outbox tables with unique names, and a way to delete them. */
export async function createTestStoreTables(client: DynamoDBClient): Promise<{ tableName: string; outboxTableName: string; remove: () => Promise<void> }> {
  const tableName = `events-${randomUUID()}`;
  const outboxTableName = `${tableName}-outbox`;
  await createTableIfMissing(client, { tableName, outboxTableName });
  return {
    tableName,
    outboxTableName,
    remove: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      await client.send(new DeleteTableCommand({ TableName: outboxTableName }));
    },
  };
}
