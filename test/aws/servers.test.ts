import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { describe, expect, it } from 'vitest';
import { awsEndpoints } from './endpoints.ts';

const aws = awsEndpoints();
const dynamodbUnavailable = 'unavailable' in aws.dynamodb ? aws.dynamodb.unavailable : undefined;

describe('local AWS servers of the global setup', () => {
  it('kinesalite answers on 127.0.0.1', async () => {
    expect(aws.kinesis).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new KinesisClient({ endpoint: aws.kinesis, region: aws.region, credentials: aws.credentials, requestHandler: new NodeHttpHandler() });
    const { StreamNames } = await client.send(new ListStreamsCommand({}));
    expect(Array.isArray(StreamNames), 'ListStreams should answer with a list').toBe(true);
    client.destroy();
  });

  it('s3rver stores and returns an object', async () => {
    const client = new S3Client({ endpoint: aws.s3, region: aws.region, credentials: aws.s3Credentials, forcePathStyle: true });
    await client.send(new CreateBucketCommand({ Bucket: 'servers-test' }));
    await client.send(new PutObjectCommand({ Bucket: 'servers-test', Key: 'a.txt', Body: 'hello' }));
    const object = await client.send(new GetObjectCommand({ Bucket: 'servers-test', Key: 'a.txt' }));
    expect(await object.Body?.transformToString()).toBe('hello');
    client.destroy();
  });

  it.skipIf(dynamodbUnavailable)(`DynamoDB Local creates a table${dynamodbUnavailable ? ` (skipped: ${dynamodbUnavailable})` : ''}`, async () => {
    if (!('endpoint' in aws.dynamodb)) return;
    const client = new DynamoDBClient({ endpoint: aws.dynamodb.endpoint, region: aws.region, credentials: aws.credentials });
    await client.send(new CreateTableCommand({
      TableName: 'servers-test',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    const { Table } = await client.send(new DescribeTableCommand({ TableName: 'servers-test' }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    client.destroy();
  });
});
