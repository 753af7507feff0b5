import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalog, createMemoryEventLog, openFileEventLog, type EventEnvelope, type EventLog, type StoredEvent } from '../../src/index.ts';
import { createKey, createKeyVerifier, revokeKey } from '../../src/service/keys.ts';
import { createLambdaHandler } from '../../src/service/lambda.ts';
import { startService } from '../../src/service/server.ts';
import { createEventLogService } from '../../src/service/service.ts';
import { ItemAdded, ItemRemoved } from '../support/cart.ts';
import { cartConfig, get, post, startTestService } from '../support/service.ts';
import { tempDir } from '../support/tempDir.ts';

const added = (cartId: string, quantity = 1, productId = 'p1') => ({ type: 'cart.item-added', data: { cartId, productId, quantity } });
const silent = pino({ level: 'silent' });

interface Published {
  events: { position: string; id: string; duplicate: boolean }[];
}
interface Problem {
  status: number;
  code: string;
  detail: string;
}

async function head(url: string): Promise<string> {
  return ((await (await get(`${url}/health`)).json()) as { head: string }).head;
}

describe('event-log service', () => {
  let t: Awaited<ReturnType<typeof startTestService>>;
  let url: string;
  beforeAll(async () => {
    t = await startTestService();
    url = t.service.url;
  });
  afterAll(async () => t.close());

  it('publishes one event as the key\'s producer: 201, the position, and the producer as source', async () => {
    const response = await post(`${url}/events`, added('c-one', 2), t.keys.writer);
    expect(response.status).toBe(201);
    const body = (await response.json()) as Published;
    expect(body.events).toHaveLength(1);
    const page = (await (await get(`${url}/events?from=${body.events[0]?.position ?? ''}&limit=1`, t.keys.reader)).json()) as { events: StoredEvent[] };
    expect(page.events[0]?.event).toMatchObject({ source: 'cart-service', type: 'cart.item-added', subject: 'c-one', id: body.events[0]?.id, data: { cartId: 'c-one', quantity: 2 } });
  });

  it('appends a batch atomically at consecutive positions', async () => {
    const response = await post(`${url}/events`, [added('c-b1'), added('c-b2'), { type: 'cart.item-removed', data: { cartId: 'c-b1', productId: 'p1' } }], t.keys.writer);
    expect(response.status).toBe(201);
    const positions = ((await response.json()) as Published).events.map((e) => Number(e.position));
    expect(positions).toEqual([positions[0], (positions[0] ?? 0) + 1, (positions[0] ?? 0) + 2]);
  });

  it('a bad event in a batch appends nothing and lists every issue', async () => {
    const before = await head(url);
    const response = await post(`${url}/events`, [added('c-x'), { type: 'cart.item-added', data: { cartId: 'c-x', productId: 7, quantity: 0 } }], t.keys.writer);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await response.json()) as Problem & { issues: { index: number; path: string[] }[] };
    expect(problem.code).toBe('SchemaViolation');
    expect(problem.issues.map((i) => `${i.index}:${i.path.join('.')}`).sort()).toEqual(['1:productId', '1:quantity']);
    expect(await head(url)).toBe(before);
  });

  it('answers a repeated client id with the original position (200), also inside one batch', async () => {
    const first = await post(`${url}/events`, { ...added('c-id'), id: 'order-1:line-1' }, t.keys.writer);
    expect(first.status).toBe(201);
    const original = ((await first.json()) as Published).events[0]?.position;
    const again = await post(`${url}/events`, { ...added('c-id'), id: 'order-1:line-1' }, t.keys.writer);
    expect(again.status).toBe(200);
    expect(((await again.json()) as Published).events).toEqual([{ position: original, id: 'order-1:line-1', duplicate: true }]);

    const before = Number(await head(url));
    const mixed = await post(`${url}/events`, [{ ...added('c-id'), id: 'order-1:line-1' }, { ...added('c-id'), id: 'order-1:line-2' }, { ...added('c-id'), id: 'order-1:line-2' }], t.keys.writer);
    expect(mixed.status).toBe(201);
    const events = ((await mixed.json()) as Published).events;
    expect(events.map((e) => e.duplicate)).toEqual([true, false, true]);
    expect(events[0]?.position).toBe(original);
    expect(events[1]?.position).toBe(events[2]?.position);
    expect(Number(await head(url))).toBe(before + 1);
  });

  it('ids are per producer: another producer may use the same id', async () => {
    const { key } = createKey(t.dir, { producer: 'other-service', types: ['*'], read: false, admin: false });
    const mine = await post(`${url}/events`, { ...added('c-p'), id: 'shared-id' }, t.keys.writer);
    const theirs = await post(`${url}/events`, { ...added('c-p'), id: 'shared-id' }, key);
    expect([mine.status, theirs.status]).toEqual([201, 201]);
  });

  it('enforces scopes: types per key, read, admin', async () => {
    const before = await head(url);
    const removal = { type: 'cart.item-removed', data: { cartId: 'c', productId: 'p' } };
    const refused = await post(`${url}/events`, [added('c-s'), removal], t.keys.adder);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as Problem).code).toBe('Forbidden');
    expect((await post(`${url}/events`, added('c-s'), t.keys.reader)).status).toBe(403);
    expect((await get(`${url}/events`, t.keys.writer)).status).toBe(403);
    expect((await get(`${url}/consumers`, t.keys.writer)).status).toBe(403);
    expect((await post(`${url}/consumers/carts/rebuild`, {}, t.keys.reader)).status).toBe(403);
    expect((await post(`${url}/events`, added('c-s'), undefined)).status).toBe(401);
    expect((await post(`${url}/events`, added('c-s'), 'ulk_000000000000.nope')).status).toBe(401);
    expect(await head(url)).toBe(before);
  });

  it('a revoked key is refused from the next request, without a restart', async () => {
    const created = createKey(t.dir, { producer: 'short-lived', types: ['*'], read: true, admin: false });
    expect((await post(`${url}/events`, added('c-r'), created.key)).status).toBe(201);
    revokeKey(t.dir, created.id);
    const response = await post(`${url}/events`, added('c-r'), created.key);
    expect(response.status).toBe(401);
    expect(((await response.json()) as Problem).detail).toMatch(/revoked/);
  });

  it('pages through the log with from, limit and type', async () => {
    const all = (await (await get(`${url}/events?from=0&limit=1000`, t.keys.reader)).json()) as { events: StoredEvent[]; next: string };
    expect(all.next).toBe(await head(url));
    const firstTwo = (await (await get(`${url}/events?from=0&limit=2`, t.keys.reader)).json()) as { events: StoredEvent[]; next: string };
    expect(firstTwo.events.map((e) => e.position)).toEqual(['0', '1']);
    expect(firstTwo.next).toBe('2');
    const removals = (await (await get(`${url}/events?type=cart.item-removed`, t.keys.reader)).json()) as { events: StoredEvent[] };
    expect(removals.events.length).toBeGreaterThan(0);
    expect(removals.events.every((e) => e.event.type === 'cart.item-removed')).toBe(true);
    const bad = await get(`${url}/events?from=-3&limit=0`, t.keys.reader);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Problem & { issues: unknown[] }).issues).toHaveLength(2);
  });

  it('tails live over Server-Sent Events and resumes after Last-Event-ID', async () => {
    const start = await head(url);
    const controller = new AbortController();
    const response = await fetch(`${url}/events/stream`, { headers: { authorization: `Bearer ${t.keys.reader}` }, signal: controller.signal });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const published = ((await (await post(`${url}/events`, [added('c-live-1'), added('c-live-2')], t.keys.writer)).json()) as Published).events;
    let text = '';
    while ((text.match(/\n\n/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]);
    expect(ids).toEqual(published.map((e) => e.position));
    expect(ids[0]).toBe(start);
    const data = [...text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1] as string) as StoredEvent);
    expect(data.map((d) => d.event.subject)).toEqual(['c-live-1', 'c-live-2']);

    // Resuming: the server starts right after the last id the client saw.
    const resumed = new AbortController();
    const again = await fetch(`${url}/events/stream`, { headers: { authorization: `Bearer ${t.keys.reader}`, 'last-event-id': ids[0] as string }, signal: resumed.signal });
    const resumedReader = (again.body as ReadableStream<Uint8Array>).getReader();
    let resumedText = '';
    while (!resumedText.includes('\n\n')) resumedText += new TextDecoder().decode((await resumedReader.read()).value);
    resumed.abort();
    expect(/^id: (\d+)$/m.exec(resumedText)?.[1]).toBe(ids[1]);
  });

  it('shows consumers, rebuilds one, and names unknown ones', async () => {
    const response = (await (await get(`${url}/consumers`, t.keys.reader)).json()) as { consumers: { name: string; state: string; position: string; deadLetters: number }[] };
    expect(response.consumers.map((c) => c.name)).toEqual(['carts']);
    expect(response.consumers[0]?.state).toBe('running');
    const rebuilt = await post(`${url}/consumers/carts/rebuild`, {}, t.keys.admin);
    expect(rebuilt.status).toBe(200);
    expect(((await rebuilt.json()) as { events: number }).events).toBeGreaterThan(0);
    expect(((await (await get(`${url}/consumers/carts/dead-letters`, t.keys.reader)).json()) as { deadLetters: unknown[] }).deadLetters).toEqual([]);
    const missing = await get(`${url}/consumers/nope/dead-letters`, t.keys.reader);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as Problem).code).toBe('ConsumerNotFound');
    const noLetter = await fetch(`${url}/consumers/carts/dead-letters/5`, { method: 'DELETE', headers: { authorization: `Bearer ${t.keys.admin}` } });
    expect(((await noLetter.json()) as Problem).code).toBe('DeadLetterNotFound');
  });

  it('serves schemas, health, metrics and its OpenAPI document', async () => {
    expect(((await (await get(`${url}/schemas`)).json()) as { types: unknown[] }).types).toEqual([
      { type: 'cart.item-added', version: 1 },
      { type: 'cart.item-removed', version: 1 },
    ]);
    expect(await (await get(`${url}/schemas/cart.item-added`)).json()).toMatchObject({ type: 'object', required: expect.arrayContaining(['cartId']) as unknown });
    expect((await get(`${url}/schemas/nope`)).status).toBe(404);
    expect(await (await get(`${url}/health`)).json()).toMatchObject({ ok: true });
    const metrics = await (await get(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^unilog_appended_events_total \d+/m);
    expect(metrics).toMatch(/^unilog_append_duration_seconds_bucket/m);
    expect(metrics).toMatch(/^unilog_http_requests_total\{method="POST",route="\/events",status="201"\} \d+/m);
    expect(metrics).toMatch(/^unilog_consumer_lag_events\{consumer="carts"\} \d+/m);
    const openapi = (await (await get(`${url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths).sort()).toEqual(
      ['/consumers', '/consumers/{name}/dead-letters', '/consumers/{name}/dead-letters/{position}', '/consumers/{name}/dead-letters/{position}/retry', '/consumers/{name}/rebuild', '/events', '/events/stream', '/health', '/metrics', '/openapi.json', '/schemas', '/schemas/{type}'].sort(),
    );
    expect(Object.keys(openapi.paths['/events'] ?? {}).sort()).toEqual(['get', 'post']);
    const unknownRoute = await get(`${url}/nope`);
    expect(unknownRoute.status).toBe(404);
    expect(((await unknownRoute.json()) as Problem).code).toBe('NotFound');
  });
});

describe('event-log service lifecycle', () => {
  it('remembers client ids across a restart, including ids appended behind the index\'s back', async () => {
    const { dir, remove } = await tempDir('unilog-service-');
    try {
      const { key } = createKey(dir, { producer: 'cart-service', types: ['*'], read: true, admin: false });
      const first = await startService({ dir, config: cartConfig, port: 0, logger: silent });
      const original = ((await (await post(`${first.url}/events`, { ...added('c1'), id: 'before-restart' }, key)).json()) as Published).events[0]?.position;
      await first.close();
      // Appended straight to the log, as if the service crashed after the append and before indexing the id.
      const log = await openFileEventLog({ dir: `${dir}/log` });
      const behind: EventEnvelope = { specversion: '1.0', id: 'behind-the-index', source: 'cart-service', type: 'cart.item-added', time: new Date().toISOString(), subject: 'c2', datacontenttype: 'application/json', dataversion: 1, data: { cartId: 'c2', productId: 'p', quantity: 1 } };
      const { positions } = await log.append([behind]);
      await log.close();
      const second = await startService({ dir, config: cartConfig, port: 0, logger: silent });
      try {
        const again = await post(`${second.url}/events`, [{ ...added('c1'), id: 'before-restart' }, { ...added('c2'), id: 'behind-the-index' }], key);
        expect(again.status).toBe(200);
        expect(((await again.json()) as Published).events.map((e) => e.position)).toEqual([original, positions[0]]);
      } finally {
        await second.close();
      }
    } finally {
      await remove();
    }
  });

  it('refuses to start without keys unless --insecure, which accepts anonymous requests as producer "insecure"', async () => {
    const { dir, remove } = await tempDir('unilog-service-');
    try {
      await expect(startService({ dir, config: cartConfig, port: 0, logger: silent })).rejects.toMatchObject({ code: 'NoApiKeys' });
      const insecure = await startService({ dir, config: cartConfig, port: 0, logger: silent, insecure: true });
      try {
        const published = ((await (await post(`${insecure.url}/events`, added('c1'), undefined)).json()) as Published).events[0];
        const page = (await (await get(`${insecure.url}/events?from=${published?.position ?? ''}`)).json()) as { events: StoredEvent[] };
        expect(page.events[0]?.event.source).toBe('insecure');
      } finally {
        await insecure.close();
      }
    } finally {
      await remove();
    }
  });

  it('answers 429 with Retry-After when the write queue is full, and appends nothing for those requests', async () => {
    // A log whose appends wait until released: the queue fills deterministically, however fast the machine is.
    const { dir, remove } = await tempDir('unilog-overload-');
    const memory = createMemoryEventLog();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const log: EventLog = { ...memory, capabilities: memory.capabilities, append: async (events) => { await gate; return memory.append(events); }, read: (o) => memory.read(o), subscribe: (o) => memory.subscribe(o), head: () => memory.head(), close: () => memory.close() };
    const { key } = createKey(dir, { producer: 'cart-service', types: ['*'], read: true, admin: false });
    const service = await createEventLogService({ log, catalog: createCatalog([ItemAdded, ItemRemoved]), dir, keys: createKeyVerifier(dir), logger: silent, maxQueuedEvents: 10 });
    try {
      const batch = Array.from({ length: 8 }, (_, i) => added(`c-${i}`));
      const send = async () => service.app.request('/events', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(batch) });
      // The first batch is taken by the writer and waits at the gate; the second fills the queue; the rest overflow.
      const pending = [send(), send()];
      const overloaded = await Promise.all(Array.from({ length: 5 }, send));
      expect(overloaded.map((r) => r.status)).toEqual([429, 429, 429, 429, 429]);
      expect(overloaded[0]?.headers.get('retry-after')).toBe('1');
      expect(((await overloaded[0]?.json()) as Problem).code).toBe('Overloaded');
      release();
      expect((await Promise.all(pending)).map((r) => r.status)).toEqual([201, 201]);
      expect(await memory.head()).toBe(String(2 * batch.length));
    } finally {
      release();
      await service.close();
      await memory.close();
      await remove();
    }
  });

  it('runs as an AWS Lambda handler through Hono\'s adapter', async () => {
    const { dir, remove } = await tempDir('unilog-lambda-');
    const log = createMemoryEventLog();
    const { key } = createKey(dir, { producer: 'lambda-producer', types: ['*'], read: true, admin: false });
    const service = await createEventLogService({ log, catalog: createCatalog([ItemAdded, ItemRemoved]), dir, keys: createKeyVerifier(dir), logger: silent });
    try {
      const handler = createLambdaHandler(service.app);
      const request = (method: string, path: string, body?: unknown) => ({
        version: '2.0',
        routeKey: '$default',
        rawPath: path,
        rawQueryString: '',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', host: 'example.execute-api.eu-west-1.amazonaws.com' },
        requestContext: { accountId: '1', apiId: 'a', domainName: 'example', domainPrefix: 'example', http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' }, requestId: 'r', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0 },
        ...(body === undefined ? {} : { body: JSON.stringify(body), isBase64Encoded: false }),
      });
      const invoke = async (event: ReturnType<typeof request>): Promise<{ statusCode: number; body: string }> => (await handler(event as never));
      const created = await invoke(request('POST', '/events', added('c-lambda')));
      expect(created.statusCode).toBe(201);
      expect((JSON.parse(created.body) as Published).events[0]?.position).toBe('0');
      const refused = await invoke(request('POST', '/events', [{ type: 'nope', data: {} }]));
      expect(refused.statusCode).toBe(400);
      expect(await log.head()).toBe('1');
    } finally {
      await service.close();
      await log.close();
      await remove();
    }
  });
});
