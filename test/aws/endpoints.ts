import { inject } from 'vitest';

/** Where the local AWS servers of test/aws/globalSetup.ts answer, and the credentials they accept. */
export interface AwsTestEndpoints {
  readonly region: string;
  /** kinesalite, e.g. `http://127.0.0.1:40123`. */
  readonly kinesis: string;
  /** s3rver; clients need `forcePathStyle: true` and the `s3Credentials`. */
  readonly s3: string;
  /** DynamoDB Local, or why it cannot run here (tests that need it skip with this reason). */
  readonly dynamodb: { readonly endpoint: string } | { readonly unavailable: string };
  /** A key pair for kinesalite and DynamoDB Local (which accepts letters and digits only). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** s3rver accepts only its own key pair. */
  readonly s3Credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    aws: AwsTestEndpoints;
  }
}

/** The endpoints provided by the global setup; throws when the setup did not run (a config without it). */
export function awsEndpoints(): AwsTestEndpoints {
  const endpoints = inject('aws') as AwsTestEndpoints | undefined;
  if (!endpoints) throw new Error('No local AWS endpoints: run the tests through vitest.config.ts, whose globalSetup starts them.');
  return endpoints;
}

/**
 * The environment a user sets for the local servers: the SDK's standard variables, nothing unilog-specific. One key
 * pair for all three (s3rver accepts only its own; DynamoDB Local keeps one database per key pair). NODE_NO_WARNINGS
 * keeps the SDK's Node 20 notice off stderr, which assertions on error lines would otherwise see first.
 */
export function awsTestEnv(): Record<string, string> {
  const aws = awsEndpoints();
  if (!('endpoint' in aws.dynamodb)) throw new Error(aws.dynamodb.unavailable);
  return {
    AWS_ENDPOINT_URL_KINESIS: aws.kinesis,
    AWS_ENDPOINT_URL_DYNAMODB: aws.dynamodb.endpoint,
    AWS_ENDPOINT_URL_S3: aws.s3,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.s3Credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.s3Credentials.secretAccessKey,
    NODE_NO_WARNINGS: '1',
  };
}
