/**
 * Builds the Lambda handler of a projection from the environment the CDK app gives its function: PROJECTION_NAME
 * picks the projection, TABLE_PREFIX names its DynamoDB table (`<prefix>view-<name>`, created by the stack).
 * @see docs/deploy.md
 * @module
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoViewStorage, createKinesisHandler, type KinesisBatchResponse, type KinesisStreamEvent } from '../../../src/aws/index.ts';
import { UnilogError } from '../../../src/errors.ts';
import type { AnyProjection } from '../../../src/views/defineProjection.ts';

/** The environment a projection function reads. */
export interface ProjectionLambdaEnvironment {
  readonly PROJECTION_NAME?: string | undefined;
  readonly TABLE_PREFIX?: string | undefined;
}

/**
 * The handler for the projection named by PROJECTION_NAME among `projections`; its view lives in the stack's table
 * (never created here: the function may not create tables).
 * @example export const handler = createProjectionLambdaHandler([ordersProjection]);
 */
export function createProjectionLambdaHandler(projections: readonly AnyProjection[], env: ProjectionLambdaEnvironment = process.env): (event: KinesisStreamEvent) => Promise<KinesisBatchResponse> {
  const name = env.PROJECTION_NAME;
  const projection = projections.find((p) => p.name === name);
  if (projection === undefined) {
    const known = projections.map((p) => p.name).join(', ');
    throw new UnilogError('InvalidArgument', `PROJECTION_NAME is ${JSON.stringify(name)}, not one of this entry's projections (${known}): deploy the function with UnilogProjection, which sets it.`, { argument: 'PROJECTION_NAME', reason: name === undefined ? 'missing' : 'unknown projection' });
  }
  const tablePrefix = env.TABLE_PREFIX;
  if (tablePrefix === undefined) {
    throw new UnilogError('InvalidArgument', 'TABLE_PREFIX is not set: deploy the function with UnilogProjection, which sets it to the deployment prefix.', { argument: 'TABLE_PREFIX', reason: 'missing' });
  }
  // Region and credentials come from the Lambda environment; the client lives as long as the container.
  const storage = createDynamoViewStorage({ client: new DynamoDBClient({}), tablePrefix, createTable: false });
  return createKinesisHandler({ projection, storage });
}
