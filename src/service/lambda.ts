// Hono marks hono/aws-lambda deprecated in favour of @hono/aws-lambda, which is not published yet: keep the built-in one.
/* eslint-disable @typescript-eslint/no-deprecated */
import type { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import type { ServiceEnv } from './app.ts';

/**
 * The service app as an AWS Lambda handler (API Gateway REST or HTTP API, ALB, Lattice), through Hono's adapter.
 * The app is the same one `startService` serves; build it with `createEventLogService` over the log the function uses.
 * @example
 * export const handler = createLambdaHandler((await createEventLogService(options)).app);
 */
export function createLambdaHandler(app: Hono<ServiceEnv>): ReturnType<typeof handle<ServiceEnv>> {
  return handle(app);
}
