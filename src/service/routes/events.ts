import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { UnilogError, isUnilogError, type ValidationIssue } from '../../errors.ts';
import type { EventCatalog } from '../../events/catalog.ts';
import type { EventEnvelope } from '../../events/envelope.ts';
import { createPublisher, type Publisher, type PublishItemShape } from '../../events/publisher.ts';
import type { StoredEvent } from '../../log/eventLog.ts';
import { authorize, authorizeTypes, type ServiceDeps, type ServiceEnv } from '../app.ts';
import { problemSchema, storedEventSchema } from '../openapiSchemas.ts';
import { readBody } from '../readBody.ts';
import { decodeUtf8, maxBodyBytes, parseJsonBody, parsePublishBody, publishBodySchema, type PublishRequestItem } from '../requestBody.ts';

/** Events per GET /events page at most, and by default. */
const maxPageEvents = 1000;
const defaultPageEvents = 100;
/** A type-filtered page stops after scanning this many events, so one request never walks the whole log. */
const maxScannedPerPage = 10_000;
/** The longest `from` taken on a partitioned log: a Kinesis cut names every shard (about 80 characters each). */
const maxCutLength = 64 * 1024;
/** An idle live tail sends a comment this often, so proxies keep the connection. */
const heartbeatMs = 15_000;

const publishResultSchema = z.object({
  events: z.array(z.object({ position: z.string(), id: z.string(), duplicate: z.boolean() })),
});
/** The query of GET /events and the live tail; positions are the log's own, decimal on a log with one order. */
function readQuerySchemaOf(ordering: 'total' | 'per-key') {
  return z.object({
    from: (ordering === 'total'
      ? z.string().regex(/^(0|[1-9][0-9]{0,15})$/, 'from is a position: a decimal number')
      : // A Kinesis cut: the log checks it (InvalidPosition); here only its size and characters.
        z.string().min(1).max(maxCutLength).regex(/^[\x21-\x7e]+$/, 'from is a position returned by the service')
    ).optional(),
    limit: z.coerce.number().int().min(1).max(maxPageEvents).optional(),
    type: z.string().min(1).max(1000).optional(),
  });
}
type ReadQuery = z.output<ReturnType<typeof readQuerySchemaOf>>;
const pageSchema = z.object({ events: z.array(storedEventSchema), next: z.string() });

function queryOf(c: Context, schema: ReturnType<typeof readQuerySchemaOf>): ReadQuery {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({ path: issue.path.map(String), code: issue.code, message: issue.message }));
    throw new UnilogError('InvalidRequest', `Bad query: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}.`, { reason: 'bad query', issues });
  }
  return parsed.data;
}

function typeFilter(type: string | undefined): ((event: StoredEvent) => boolean) | undefined {
  if (type === undefined) return undefined;
  const types = new Set(type.split(','));
  return (stored) => types.has(stored.event.type);
}

/** POST /events, GET /events and GET /events/stream. */
export function eventRoutes(app: OpenAPIHono<ServiceEnv>, deps: ServiceDeps): void {
  const { log, catalog, writer } = deps;
  const readQuerySchema = readQuerySchemaOf(log.capabilities.ordering);
  // One publisher per producer: it stamps the producer as the events' source.
  const publishers = new Map<string, Publisher>();
  const publisherOf = (producer: string): Publisher => {
    let publisher = publishers.get(producer);
    if (!publisher) publishers.set(producer, (publisher = createPublisher({ log, catalog, source: producer })));
    return publisher;
  };

  /** A read whose `from` came from the client: a position the log refuses is a bad query (400), like a malformed one. */
  const readChecked = async (from: string | undefined, limit: number) => {
    try {
      return await log.read({ ...(from === undefined ? {} : { from }), limit });
    } catch (error) {
      if (!isUnilogError(error, 'InvalidPosition')) throw error;
      throw new UnilogError('InvalidRequest', `Bad query: from: ${error.message}`, { reason: 'bad query', issues: [{ path: ['from'], code: 'invalid_position', message: error.message }] }, { cause: error });
    }
  };

  app.post(
    '/events',
    async (c, next) => {
      // Authentication and media type before the body is read: a stranger's body costs nothing.
      const principal = await authorize(deps, c, 'publish');
      if (principal.types.length === 0) {
        throw new UnilogError('Forbidden', `Key ${principal.keyId} may not publish any event type: create a key with --types.`, { producer: principal.producer, reason: 'no publish scope' });
      }
      const type = c.req.header('content-type') ?? '';
      if (!/^application\/json\s*(;\s*charset=("utf-8"|utf-8)\s*)?$/i.test(type)) {
        throw new UnilogError('UnsupportedMediaType', `POST /events takes application/json, not ${JSON.stringify(type || '(none)')}.`, { contentType: type });
      }
      // A compressed body would be refused as bad UTF-8 at best, and appended as it is at worst (a mislabelled one).
      const encoding = (c.req.header('content-encoding') ?? 'identity').trim().toLowerCase();
      if (encoding !== 'identity' && encoding !== '') {
        throw new UnilogError('UnsupportedMediaType', `POST /events takes uncompressed bodies, not Content-Encoding ${JSON.stringify(encoding)}: send the JSON as it is.`, { contentType: `${type}; encoding ${encoding}` });
      }
      await next();
    },
    async (c) => {
      const principal = c.get('principal');
      const bytes = await readBody(c, maxBodyBytes);
      const { items, batch } = parsePublishBody(parseJsonBody(decodeUtf8(bytes)));
      const unknown = items.map((item, index) => ({ item, index })).filter(({ item }) => !catalog.has(item.type));
      if (unknown.length > 0) throw unknownTypes(catalog, items, unknown, batch);
      authorizeTypes(
        principal,
        items.map((item) => item.type),
      );
      const envelopes = publisherOf(principal.producer).prepare(items.map(withoutUndefined), { batch });
      // No event can exceed the limit when the whole body is well under it; otherwise measure each.
      if (bytes.length > deps.maxEventBytes - 4096) checkSizes(envelopes, deps.maxEventBytes, batch);
      const result = await writer.write(
        envelopes,
        items.map((item) => item.id !== undefined),
      );
      const allDuplicates = result.duplicates.every(Boolean);
      return c.json({ events: envelopes.map((event, i) => ({ position: result.positions[i] as string, id: event.id, duplicate: result.duplicates[i] === true })) }, allDuplicates ? 200 : 201);
    },
  );
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/events',
    summary: 'Publish one event or a batch (at most 500 events, 5 MiB); a batch with any bad event appends nothing.',
    request: { body: { required: true, content: { 'application/json': { schema: publishBodySchema } } } },
    responses: {
      201: { description: 'Appended: each event with its position and id.', content: { 'application/json': { schema: publishResultSchema } } },
      200: { description: 'Every event had a client id that was already appended: the original positions.', content: { 'application/json': { schema: publishResultSchema } } },
      400: problem('Malformed body or invalid events: every issue is listed.'),
      401: problem('Missing, unknown or revoked key.'),
      403: problem('The key may not publish one of the types.'),
      413: problem('Body over 5 MiB, batch over 500 events, or an event over the log limit.'),
      415: problem('Not application/json.'),
      429: problem('The write queue is full: retry after Retry-After seconds.'),
    },
  });

  app.get('/events', async (c) => {
    await authorize(deps, c, 'read');
    const query = queryOf(c, readQuerySchema);
    const limit = query.limit ?? defaultPageEvents;
    const matches = typeFilter(query.type);
    const events: StoredEvent[] = [];
    let from = query.from;
    let resumeAt: string | undefined;
    let scanned = 0;
    // An event's own position is a place to resume only on a log with one order; on a partitioned one (Kinesis) it
    // names one shard, so a filtered page reads no more than it may return and resumes from the read's `next`.
    const cutAnywhere = log.capabilities.ordering === 'total';
    for (;;) {
      const wanted = limit - events.length;
      const page = await readChecked(from, matches && cutAnywhere ? Math.min(maxPageEvents, maxScannedPerPage - scanned) : Math.min(wanted, maxScannedPerPage - scanned));
      from = resumeAt = page.next;
      scanned += page.events.length;
      for (const stored of page.events) {
        if (events.length === limit) {
          resumeAt = stored.position;
          break;
        }
        if (!matches || matches(stored)) events.push(stored);
      }
      if (page.events.length === 0 || events.length >= limit || scanned >= maxScannedPerPage) break;
    }
    return c.json({ events: events.map((e) => ({ position: e.position, event: catalog.upcast(e.event) })), next: resumeAt });
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/events',
    summary: 'A page of the log, oldest first; `next` is the `from` of the following page.',
    request: { query: readQuerySchema },
    responses: { 200: { description: 'A page.', content: { 'application/json': { schema: pageSchema } } }, 400: problem('Bad query.'), 401: problem('No valid key.'), 403: problem('The key may not read.') },
  });

  app.get('/events/stream', async (c) => {
    await authorize(deps, c, 'read');
    const query = queryOf(c, readQuerySchema);
    const lastId = c.req.header('last-event-id');
    // On a partitioned log (Kinesis) an event's position names only its shard, so it is no place to resume: events
    // carry no SSE id there, and a reconnecting client passes `from` (a `next` of GET /events) instead.
    const resumable = log.capabilities.ordering === 'total';
    let from = query.from ?? 'head';
    if (lastId !== undefined) {
      if (!resumable) throw new UnilogError('InvalidRequest', 'Last-Event-ID cannot resume a tail of a partitioned log (Kinesis): pass from=<the next of a GET /events page> instead.', { reason: 'bad Last-Event-ID' });
      if (!/^(0|[1-9][0-9]{0,15})$/.test(lastId)) throw new UnilogError('InvalidRequest', `Last-Event-ID ${JSON.stringify(lastId)} is not a position.`, { reason: 'bad Last-Event-ID' });
      from = String(Number(lastId) + 1);
    }
    const matches = typeFilter(query.type);
    // The embedded logs' positions were checked by the query's pattern; another log's are checked by reading one event.
    if (!resumable && from !== 'head') await readChecked(from, 1);
    return streamSSE(c, async (stream) => {
      const start = from === 'head' ? await log.head() : from;
      const subscription = log.subscribe({
        from: start,
        handler: async (stored) => {
          if (matches && !matches(stored)) return;
          await stream.writeSSE({ ...(resumable ? { id: stored.position } : {}), event: 'event', data: JSON.stringify({ position: stored.position, event: catalog.upcast(stored.event) }) });
        },
      });
      const heartbeat = setInterval(() => void stream.write(': heartbeat\n\n').catch(() => undefined), heartbeatMs);
      await new Promise<void>((resolve) => {
        stream.onAbort(resolve);
        subscription.done.then(resolve, (error: unknown) => {
          deps.logger.error({ err: error }, 'live tail failed');
          resolve();
        });
      });
      clearInterval(heartbeat);
      await subscription.stop();
    });
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/events/stream',
    summary: 'Live tail as Server-Sent Events (`event: event`, `id:` the position on logs with one order); resumes after `Last-Event-ID` there; `from` defaults to the head.',
    request: { query: readQuerySchema.omit({ limit: true }) },
    responses: { 200: { description: 'An event stream.', content: { 'text/event-stream': { schema: z.string() } } }, 401: problem('No valid key.'), 403: problem('The key may not read.') },
  });
}

/** `UnknownEventType` for a body with unknown types, listing them and the schema issues of the other events too. */
function unknownTypes(catalog: EventCatalog, items: readonly PublishRequestItem[], unknown: readonly { item: PublishRequestItem; index: number }[], batch: boolean): UnilogError<'UnknownEventType'> {
  const at = (index: number) => (batch ? { index } : {});
  const issues: ValidationIssue[] = [];
  items.forEach((item, index) => {
    if (!catalog.has(item.type)) {
      issues.push({ ...at(index), path: ['type'], code: 'unknown_type', message: `unknown event type ${JSON.stringify(item.type)}` });
      return;
    }
    const parsed = catalog.latest(item.type).schema.safeParse(item.data);
    if (!parsed.success) for (const issue of parsed.error.issues) issues.push({ ...at(index), path: [...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))], code: issue.code, message: issue.message });
  });
  const first = unknown[0] as { item: PublishRequestItem; index: number };
  const types = [...new Set(unknown.map(({ item }) => item.type))];
  return new UnilogError('UnknownEventType', `Unknown event type${types.length > 1 ? 's' : ''} ${types.join(', ')}: the service knows ${catalog.types.join(', ') || '(none)'} (GET /schemas). Nothing was appended.`, {
    type: first.item.type,
    ...at(first.index),
    known: catalog.types,
    issues,
  });
}

/** The item with its absent options left out, as the publisher takes it. */
function withoutUndefined(item: PublishRequestItem): PublishItemShape {
  const shape: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) if (value !== undefined) shape[name] = value;
  return shape as unknown as PublishItemShape;
}

function checkSizes(envelopes: readonly EventEnvelope[], limit: number, batch: boolean): void {
  envelopes.forEach((event, index) => {
    const bytes = Buffer.byteLength(JSON.stringify(event));
    if (bytes > limit) {
      throw new UnilogError('EventTooLarge', `Event ${batch ? `[${index}] ` : ''}${event.type} is ${bytes} bytes as JSON, over the log's limit of ${limit}: store large content elsewhere and put its address in the event.`, {
        bytes,
        limit,
        type: event.type,
        ...(batch ? { index } : {}),
      });
    }
  });
}

/** An error response in the OpenAPI document. */
export function problem(description: string) {
  return { description, content: { 'application/problem+json': { schema: problemSchema } } };
}
