import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';

/** The three SDK clients a deployment uses; `destroy()` closes their connections. */
export interface AwsClients {
  readonly kinesis: KinesisClient;
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  destroy(): void;
}

/** Options of {@link createAwsClients}; everything defaults to the SDK's own settings (environment, profile). */
export interface AwsClientsOptions {
  /** @default the SDK's (AWS_REGION, the profile) */
  readonly region?: string;
  /** @default the SDK's credential chain (AWS_ACCESS_KEY_ID…, the profile, the instance role) */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Endpoints per service, such as local servers. @default the SDK's: AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL), else AWS */
  readonly endpoints?: { readonly kinesis?: string; readonly dynamodb?: string; readonly s3?: string };
  /** Path-style S3 addressing (`http://host/bucket/key`), which local S3 servers such as s3rver need. @default true when an S3 endpoint is set (option or environment), else false */
  readonly forcePathStyle?: boolean;
  /** Source of the environment the defaults read. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The Kinesis, DynamoDB and S3 clients of a deployment, built with the SDK's default settings so that the standard
 * environment (region, credentials, `AWS_ENDPOINT_URL_<SERVICE>`) points the same code at AWS or at local servers.
 * The SDK loads on first call.
 * @example const clients = await createAwsClients(); // AWS_ENDPOINT_URL_KINESIS=http://127.0.0.1:4567 … for local servers
 * @see docs/aws.md#configuration
 */
export async function createAwsClients(options: AwsClientsOptions = {}): Promise<AwsClients> {
  const env = options.env ?? process.env;
  const [{ KinesisClient }, { DynamoDBClient }, { S3Client }, { NodeHttpHandler }] = await Promise.all([
    import('@aws-sdk/client-kinesis'),
    import('@aws-sdk/client-dynamodb'),
    import('@aws-sdk/client-s3'),
    import('@smithy/node-http-handler'),
  ]);
  const common = {
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  };
  const endpoint = (value: string | undefined) => (value === undefined ? {} : { endpoint: value });
  const s3Endpoint = options.endpoints?.s3 ?? env['AWS_ENDPOINT_URL_S3'] ?? env['AWS_ENDPOINT_URL'];
  const local = s3Endpoint !== undefined && s3Endpoint !== '';
  const kinesis = new KinesisClient({
    ...common,
    ...endpoint(options.endpoints?.kinesis),
    // Kinesis clients default to HTTP/2 (for SubscribeToShard, unused here); kinesalite and most proxies speak only HTTP/1.1, and AWS serves both.
    requestHandler: new NodeHttpHandler(),
  });
  const dynamodb = new DynamoDBClient({ ...common, ...endpoint(options.endpoints?.dynamodb) });
  const s3 = new S3Client({
    ...common,
    ...endpoint(options.endpoints?.s3),
    forcePathStyle: options.forcePathStyle ?? local,
    // Local S3 servers reject the SDK's default CRC checksums; checksums only where S3 requires them is also valid on AWS.
    ...(local && env['AWS_REQUEST_CHECKSUM_CALCULATION'] === undefined ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const } : {}),
    ...(local && env['AWS_RESPONSE_CHECKSUM_VALIDATION'] === undefined ? { responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
  });
  return {
    kinesis,
    dynamodb,
    s3,
    destroy() {
      kinesis.destroy();
      dynamodb.destroy();
      s3.destroy();
    },
  };
}
