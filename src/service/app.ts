import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from 'pino';
import type { Consumer } from '../consumers/consumer.ts';
import { UnilogError } from '../errors.ts';
import type { EventCatalog } from '../events/catalog.ts';
import type { EventLog } from '../log/eventLog.ts';
import { mayPublish, type KeyVerifier, type Principal } from './keys.ts';
import type { ServiceMetrics } from './metrics.ts';
import { problemOf } from './problems.ts';
import { eventRoutes } from './routes/events.ts';
import { operationRoutes } from './routes/operations.ts';
import type { Writer } from './writer.ts';

/** What the HTTP app works on; `startService` builds it for a data folder, tests and the Lambda adapter build their own. */
export interface ServiceDeps {
  readonly log: EventLog;
  readonly catalog: EventCatalog;
  /** Checks API keys; `insecure` accepts every request as producer `insecure` with every scope (say so loudly). */
  readonly keys: KeyVerifier | 'insecure';
  readonly writer: Writer;
  readonly consumers: ReadonlyMap<string, Consumer>;
  /** Set when consumers run elsewhere (separate workers): the consumer routes answer 404 with this reason. */
  readonly consumersElsewhere?: string;
  readonly metrics: ServiceMetrics;
  readonly logger: Logger;
  /** The log's largest event, in bytes of JSON. */
  readonly maxEventBytes: number;
  /** Whether the log can be written: false once an append failed for a reason of the disk, not of the event. */
  readonly health: () => Promise<{ readonly ok: boolean; readonly head: string; readonly reason?: string }>;
}

/** The scope a route needs. */
export type Scope = 'publish' | 'read' | 'admin';

/** Hono's environment for the service: the authenticated principal of the request. */
export interface ServiceEnv {
  Variables: { principal: Principal };
}

const insecurePrincipal: Principal = { keyId: 'insecure', producer: 'insecure', types: ['*'], read: true, admin: true };

/** Authenticates a request and checks its scope; rejects with `Unauthorized` or `Forbidden`. */
export async function authorize(deps: ServiceDeps, c: Context<ServiceEnv>, scope: Scope): Promise<Principal> {
  const principal = deps.keys === 'insecure' ? insecurePrincipal : await deps.keys.verify(c.req.header('authorization'));
  if (scope === 'read' && !principal.read) throw new UnilogError('Forbidden', `Key ${principal.keyId} may not read: create a key with --read.`, { producer: principal.producer, reason: 'no read scope' });
  if (scope === 'admin' && !principal.admin) throw new UnilogError('Forbidden', `Key ${principal.keyId} may not operate consumers: create a key with --admin.`, { producer: principal.producer, reason: 'no admin scope' });
  c.set('principal', principal);
  return principal;
}

/** Throws `Forbidden` unless the principal may publish every one of `types`. */
export function authorizeTypes(principal: Principal, types: readonly string[]): void {
  const refused = [...new Set(types.filter((type) => !mayPublish(principal, type)))];
  if (refused.length > 0) {
    throw new UnilogError('Forbidden', `Producer ${principal.producer} may not publish ${refused.join(', ')}: ask for a key whose --types include ${refused.length > 1 ? 'them' : 'it'}. Nothing was appended.`, {
      producer: principal.producer,
      reason: 'type not allowed',
      type: refused[0] as string,
    });
  }
}

/** Answers an error as `application/problem+json`. */
export function problemResponse(c: Context, error: unknown): Response {
  const problem = problemOf(error);
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
  if (problem.code === 'Overloaded') headers['retry-after'] = String((problem.details as { retryAfterSeconds: number }).retryAfterSeconds);
  if (problem.status === 401) headers['www-authenticate'] = 'Bearer realm="unilog"';
  return c.body(JSON.stringify(problem), problem.status as 400, headers);
}

/**
 * The event-log service as a Hono app: publish, read and tail events, operate consumers, schemas, health, metrics
 * and its OpenAPI document. Runs on Node (`startService`) and on AWS Lambda (`createLambdaHandler`).
 */
export function createServiceApp(deps: ServiceDeps): OpenAPIHono<ServiceEnv> {
  const app = new OpenAPIHono<ServiceEnv>();
  app.use(async (c, next) => {
    await next();
    deps.metrics.request(c.req.method, routePath(c), c.res.status);
  });
  app.onError((error, c) => {
    const problem = problemOf(error);
    if (problem.status >= 500) deps.logger.error({ err: error, method: c.req.method, path: c.req.path }, 'request failed');
    return problemResponse(c, error);
  });
  app.notFound((c) => problemResponse(c, new UnilogError('NotFound', `No route ${c.req.method} ${c.req.path}: see GET /openapi.json.`, { path: c.req.path })));
  eventRoutes(app, deps);
  operationRoutes(app, deps);
  app.openAPIRegistry.registerPath({ method: 'get', path: '/openapi.json', summary: 'This document (no key needed).', security: [], responses: { 200: { description: 'OpenAPI 3.1' } } });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'unilog event-log service', version: '1', description: 'Publish typed events to the unified log, read and tail it, and operate its consumers.' },
    security: [{ bearer: [] }],
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'An API key from `unilog keys create`.' });
  return app;
}
