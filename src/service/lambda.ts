import { handle } from 'hono/aws-lambda';
import type { Hono } from 'hono';
import type { ServiceEnv } from './app.ts';

/**
 * The service app as an AWS Lambda handler (API Gateway REST or HTTP API, ALB, Lattice), through Hono's adapter.
 * The app is the same one `startService` serves; build it with `createServiceApp` over the log the function uses.
 * @example
 * export const handler = createLambdaHandler(createServiceApp(deps));
 */
export function createLambdaHandler(app: Hono<ServiceEnv>): ReturnType<typeof handle<ServiceEnv>> {
  return handle(app);
}
