import { CreateStreamCommand, DeleteStreamCommand, DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { awsEndpoints } from './endpoints.ts';

let streams = 0;

/** A Kinesis client for kinesalite; kinesalite needs HTTP/1.1, hence the NodeHttpHandler. */
export function kinesaliteClient(): KinesisClient {
  const aws = awsEndpoints();
  return new KinesisClient({ endpoint: aws.kinesis, region: aws.region, credentials: aws.credentials, requestHandler: new NodeHttpHandler(), maxAttempts: 2 });
}

/** Creates a uniquely named stream on kinesalite and waits until it is ACTIVE. */
export async function createTestStream(client: KinesisClient, shardCount: number): Promise<{ streamName: string; remove: () => Promise<void> }> {
  const streamName = `unilog-${process.pid}-${Date.now().toString(36)}-${++streams}`;
  await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  for (let i = 0; ; i++) {
    const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
    if (i > 200) throw new Error(`Stream ${streamName} did not become ACTIVE.`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { streamName, remove: async () => { await client.send(new DeleteStreamCommand({ StreamName: streamName })); } };
}
