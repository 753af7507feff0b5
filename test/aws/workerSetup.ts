import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createDynamoViewStorage, createKinesisEventLog } from '../../src/aws/index.ts';
import { createPublisher, type ViewStorage } from '../../src/index.ts';
import { Numbered, numberedProjection } from '../support/numbered.ts';
import { awsEndpoints } from './endpoints.ts';
import type { KinesisClient } from '@aws-sdk/client-kinesis';

/** A DynamoDB Local client, or throws why DynamoDB Local is not there. */
export function dynamoClient(): DynamoDBClient {
  const aws = awsEndpoints();
  if (!('endpoint' in aws.dynamodb)) throw new Error(aws.dynamodb.unavailable);
  return new DynamoDBClient({ endpoint: aws.dynamodb.endpoint, region: aws.region, credentials: aws.credentials, requestHandler: new NodeHttpHandler(), maxAttempts: 2 });
}

let prefixes = 0;
/** A table prefix no other test run uses. */
export const uniquePrefix = (): string => `w${process.pid}-${Date.now().toString(36)}-${++prefixes}-`;

/** Publishes numbered events to a stream through the Kinesis log. */
export function numberedPublisher(kinesis: KinesisClient, streamName: string) {
  const log = createKinesisEventLog({ client: kinesis, streamName });
  const publisher = createPublisher({ log, catalog: [Numbered], source: 'worker-test' });
  return {
    publish: async (events: readonly { key: string; n: number }[]) => {
      await publisher.publishBatch(events.map((data) => ({ type: 'test.numbered' as const, data })));
    },
    close: () => log.close(),
  };
}

/** The rows of the numbered view, by key. */
export async function numberedRows(storage: ViewStorage): Promise<Map<string, { count: number; last: number; outOfOrder: number }>> {
  const copy = await storage.current(numberedProjection.name);
  if (copy === undefined) return new Map();
  const store = await storage.open(numberedProjection.name, copy, numberedProjection.layout);
  const rows = await store.scan('keys', { limit: 10_000 });
  await store.close();
  return new Map(rows.map((row) => [row['key'] as string, row as unknown as { count: number; last: number; outOfOrder: number }]));
}

/** Waits until the view holds `expected` (key → last n), or fails after `ms` with what it holds. */
export async function untilViewHas(storage: ViewStorage, expected: ReadonlyMap<string, number>, ms = 45_000): Promise<Map<string, { count: number; last: number; outOfOrder: number }>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const rows = await numberedRows(storage);
    const done = [...expected].every(([key, n]) => (rows.get(key)?.count ?? 0) >= n);
    if (done || Date.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export { createDynamoViewStorage };
