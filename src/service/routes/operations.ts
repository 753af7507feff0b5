import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Consumer } from '../../consumers/consumer.ts';
import { UnilogError } from '../../errors.ts';
import { authorize, type ServiceDeps, type ServiceEnv } from '../app.ts';
import { problem } from './events.ts';

const consumerSchema = z.object({
  name: z.string(),
  kind: z.enum(['projection', 'reactor']),
  version: z.number().int(),
  state: z.string(),
  position: z.string(),
  lagEvents: z.number().int(),
  lagMs: z.number(),
  deadLetters: z.number().int(),
  error: z.string().optional(),
});
const nameParam = z.object({ name: z.string() });
const letterParams = z.object({ name: z.string(), position: z.string() });

/** Consumers and dead letters, schemas, health, metrics. */
export function operationRoutes(app: OpenAPIHono<ServiceEnv>, deps: ServiceDeps): void {
  const { consumers, catalog } = deps;
  // Consumers that run as separate workers are operated there: say so rather than list none.
  const elsewhere = (c: { req: { path: string } }) => {
    if (deps.consumersElsewhere !== undefined) throw new UnilogError('NotFound', `${c.req.path} is not served here: ${deps.consumersElsewhere}`, { path: c.req.path });
  };
  const consumerOf = (name: string): Consumer => {
    const consumer = consumers.get(name);
    if (!consumer) throw new UnilogError('ConsumerNotFound', `No consumer ${JSON.stringify(name)}: the service runs ${[...consumers.keys()].join(', ') || '(none)'} (GET /consumers).`, { consumer: name, known: [...consumers.keys()] });
    return consumer;
  };
  const register = (method: 'get' | 'post' | 'delete', path: string, summary: string, response: z.ZodType, params?: z.ZodObject) => {
    app.openAPIRegistry.registerPath({
      method,
      path,
      summary,
      ...(params ? { request: { params } } : {}),
      responses: { 200: { description: 'OK', content: { 'application/json': { schema: response } } }, 401: problem('No valid key.'), 403: problem('The key lacks the scope.'), 404: problem('No such consumer or dead letter.') },
    });
  };
  // Routes anyone may call: no key, so no 401 or 403.
  const registerPublic = (path: string, summary: string, response: z.ZodType, responses: Record<number, { description: string; content: Record<string, { schema: z.ZodType }> }> = {}, params?: z.ZodObject) => {
    app.openAPIRegistry.registerPath({
      method: 'get',
      path,
      summary,
      security: [],
      ...(params ? { request: { params } } : {}),
      responses: { 200: { description: 'OK', content: { 'application/json': { schema: response } } }, ...responses },
    });
  };

  app.get('/consumers', async (c) => {
    await authorize(deps, c, 'read');
    elsewhere(c);
    return c.json({ consumers: await Promise.all([...consumers.values()].map((consumer) => consumer.status())) });
  });
  register('get', '/consumers', 'Every consumer the service runs: position, lag, dead letters, state (needs --read).', z.object({ consumers: z.array(consumerSchema) }));

  app.post('/consumers/:name/rebuild', async (c) => {
    await authorize(deps, c, 'admin');
    elsewhere(c);
    const result = await consumerOf(c.req.param('name')).rebuild();
    return c.json(result);
  });
  register('post', '/consumers/{name}/rebuild', 'Rebuilds the view from the start of the log while the current copy serves, then switches (needs --admin); answers when done.', z.object({ events: z.number(), seconds: z.number() }), nameParam);

  app.get('/consumers/:name/dead-letters', async (c) => {
    await authorize(deps, c, 'read');
    elsewhere(c);
    return c.json({ deadLetters: await consumerOf(c.req.param('name')).deadLetters.list() });
  });
  register('get', '/consumers/{name}/dead-letters', 'The consumer\'s dead letters: event, error, attempts (needs --read).', z.object({ deadLetters: z.array(z.unknown()) }), nameParam);

  app.post('/consumers/:name/dead-letters/:position/retry', async (c) => {
    await authorize(deps, c, 'admin');
    elsewhere(c);
    return c.json(await consumerOf(c.req.param('name')).deadLetters.retry(c.req.param('position')));
  });
  register('post', '/consumers/{name}/dead-letters/{position}/retry', 'Applies a dead letter again, then the events parked behind it (needs --admin).', z.object({ applied: z.boolean(), released: z.number(), error: z.string().optional() }), letterParams);

  app.delete('/consumers/:name/dead-letters/:position', async (c) => {
    await authorize(deps, c, 'admin');
    elsewhere(c);
    return c.json(await consumerOf(c.req.param('name')).deadLetters.drop(c.req.param('position')));
  });
  register('delete', '/consumers/{name}/dead-letters/{position}', 'Drops a dead letter and releases the events parked behind it (needs --admin).', z.object({ released: z.number() }), letterParams);

  app.get('/schemas', (c) => c.json({ types: catalog.types.map((type) => ({ type, version: catalog.latest(type).version })) }));
  registerPublic('/schemas', 'The event types the service accepts, with their newest versions (no key needed).', z.object({ types: z.array(z.object({ type: z.string(), version: z.number() })) }));

  app.get('/schemas/:type', (c) => {
    const type = c.req.param('type');
    if (!catalog.has(type)) throw new UnilogError('NotFound', `No event type ${JSON.stringify(type)}: GET /schemas lists them.`, { path: c.req.path });
    return c.json(catalog.jsonSchema(type));
  });
  registerPublic('/schemas/{type}', 'The JSON Schema (draft 2020-12) of a type\'s data (no key needed).', z.record(z.string(), z.unknown()), { 404: problem('No such event type.') }, z.object({ type: z.string() }));

  app.get('/health', async (c) => {
    const health = await deps.health();
    return c.json(health, health.ok ? 200 : 503);
  });
  registerPublic('/health', 'Whether the log can be written (503 when not); no key needed.', z.object({ ok: z.boolean(), head: z.string(), reason: z.string().optional() }), {
    503: { description: 'The log accepts no more appends.', content: { 'application/json': { schema: z.object({ ok: z.boolean(), head: z.string(), reason: z.string().optional() }) } } },
  });

  app.get('/metrics', async (c) => c.body(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType }));
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics: appends, append latency, requests by status, consumer lag (no key needed; no event data).',
    security: [],
    responses: { 200: { description: 'Prometheus text format.', content: { 'text/plain': { schema: z.string() } } } },
  });
}
