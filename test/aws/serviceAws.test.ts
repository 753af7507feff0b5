import { randomBytes } from 'node:crypto';
import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AwsClients } from '../../src/aws/clients.ts';
import { ensureAwsResources } from '../../src/aws/init.ts';
import { awsResources, serviceIdsTableName, serviceKeysTableName } from '../../src/aws/resources.ts';
import { createDynamoIdIndex } from '../../src/aws/service/dynamoIdIndex.ts';
import { createDynamoKeyStore } from '../../src/aws/service/dynamoKeyStore.ts';
import { startAwsService } from '../../src/aws/service/startAwsService.ts';
import { createKinesisEventLog } from '../../src/aws/kinesis/index.ts';
import { createCatalog, createPublisher, defineConfig, defineEvent, isUnilogError, type StoredEvent } from '../../src/index.ts';
import { createEventLogService } from '../../src/service/service.ts';
import { awsEndpoints } from './endpoints.ts';

const silent = pino({ level: 'silent' });
const aws = awsEndpoints();
const dynamodbUnavailable = 'unavailable' in aws.dynamodb ? aws.dynamodb.unavailable : undefined;

const ItemAdded = defineEvent({
  type: 'cart.item-added',
  schema: z.object({ cartId: z.string(), quantity: z.number().int().positive() }),
  key: (item) => item.cartId,
});
const config = defineConfig({ events: [ItemAdded] });
const added = (cartId: string, id?: string) => ({ type: 'cart.item-added', data: { cartId, quantity: 1 }, ...(id === undefined ? {} : { id }) });

/** Clients of the test servers: kinesalite and DynamoDB Local take the test key pair, s3rver only its own. */
function testClients(): AwsClients {
  if (!('endpoint' in aws.dynamodb)) throw new Error(aws.dynamodb.unavailable);
  const kinesis = new KinesisClient({ endpoint: aws.kinesis, region: aws.region, credentials: aws.credentials, requestHandler: new NodeHttpHandler() });
  const dynamodb = new DynamoDBClient({ endpoint: aws.dynamodb.endpoint, region: aws.region, credentials: aws.credentials });
  const s3 = new S3Client({ endpoint: aws.s3, region: aws.region, credentials: aws.s3Credentials, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  return { kinesis, dynamodb, s3, destroy: () => { kinesis.destroy(); dynamodb.destroy(); s3.destroy(); } };
}

const freshPrefix = () => `t${randomBytes(4).toString('hex')}-`;

describe.skipIf(dynamodbUnavailable !== undefined)('the service on AWS (kinesalite, DynamoDB Local, s3rver)', () => {
  let clients: AwsClients;
  /** One deployment for the service tests, made by ensureAwsResources. */
  let prefix: string;
  beforeAll(async () => {
    clients = testClients();
    prefix = freshPrefix();
    await ensureAwsResources(clients, awsResources({ prefix }), { shards: 2 });
  });
  afterAll(() => { clients.destroy(); });

  const post = (url: string, body: unknown, key: string | undefined) =>
    fetch(`${url}/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) }, body: JSON.stringify(body) });
  type Published = { events: { position: string; id: string; duplicate: boolean }[] };

  it('ensureAwsResources creates the stream, tables (keys, on-demand, TTL) and buckets once; a second run creates nothing', async () => {
    const own = freshPrefix();
    const resources = awsResources({ prefix: own, projections: [{ name: 'carts', version: 1, layout: { carts: { key: 'cartId', indexes: [] } } }] });
    const first = await ensureAwsResources(clients, resources, { shards: 1 });
    expect(first.map((r) => `${r.kind} ${r.name} ${r.action}`)).toEqual([
      `stream ${resources.streamName} created`,
      ...resources.tables.flatMap((t) => [`table ${t.name} created`, ...(t.timeToLiveAttribute ? [`time-to-live ${t.name} created`] : [])]),
      `bucket ${resources.buckets.archive} created`,
      `bucket ${resources.buckets.blobs} created`,
    ]);
    const second = await ensureAwsResources(clients, resources, { shards: 1 });
    expect(second.filter((r) => r.action !== 'existed'), 'the second run creates nothing').toEqual([]);
    expect(second).toHaveLength(first.length);
    for (const table of resources.tables) {
      const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: table.name }));
      expect(Table?.KeySchema, table.name).toEqual([{ AttributeName: table.partitionKey.name, KeyType: 'HASH' }, ...(table.sortKey ? [{ AttributeName: table.sortKey.name, KeyType: 'RANGE' }] : [])]);
      expect(Table?.BillingModeSummary?.BillingMode, table.name).toBe('PAY_PER_REQUEST');
    }
    const ttl = await clients.dynamodb.send(new DescribeTimeToLiveCommand({ TableName: serviceIdsTableName(own) }));
    expect(ttl.TimeToLiveDescription).toMatchObject({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
  });

  it('keys in DynamoDB: created keys verify, unknown and malformed ones are 401s, a revoke applies to the next request', async () => {
    const store = createDynamoKeyStore({ client: clients.dynamodb, tableName: serviceKeysTableName(prefix) });
    const { key, id } = await store.create({ producer: 'cart-service', types: ['cart.item-added'], read: true, admin: false });
    expect(await store.hasKeys()).toBe(true);
    expect(await store.verify(`Bearer ${key}`)).toEqual({ keyId: id, producer: 'cart-service', types: ['cart.item-added'], read: true, admin: false });
    expect((await store.list()).find((k) => k.id === id)).not.toHaveProperty('hash');
    const stored = await clients.dynamodb.send(new GetItemCommand({ TableName: serviceKeysTableName(prefix), Key: { pk: { S: id } } }));
    expect(JSON.stringify(stored.Item), 'only the salted hash is stored').not.toContain(key.split('.')[1]);
    for (const bad of [`Bearer ${key.slice(0, -2)}xx`, 'Bearer ulk_.abc', 'Bearer ulk_000000000000.abc', undefined]) {
      await expect(store.verify(bad), String(bad)).rejects.toMatchObject({ code: 'Unauthorized' });
    }
    expect((await store.revoke(id)).revokedAt).toBeDefined();
    await expect(store.verify(`Bearer ${key}`)).rejects.toMatchObject({ code: 'Unauthorized', details: { reason: 'revoked key' } });
    await expect(store.revoke('0123456789ab')).rejects.toMatchObject({ code: 'KeyNotFound' });
    expect(() => createDynamoKeyStore({ client: clients.dynamodb, tableName: 'x', cacheMs: 60_000 })).toThrow(/cacheMs/);
  });

  it('client ids: a claim is answered with the recorded position in another process, a released claim can be claimed again', async () => {
    const tableName = serviceIdsTableName(prefix);
    const first = createDynamoIdIndex({ client: clients.dynamodb, tableName });
    const second = createDynamoIdIndex({ client: clients.dynamodb, tableName });
    const id = { source: 'cart-service', id: `id-${randomBytes(4).toString('hex')}` };
    const other = { source: 'cart-service', id: `${id.id}-released` };
    expect(await first.claim([id, other])).toEqual([{ claimed: true }, { claimed: true }]);
    await first.record([{ ...id, position: 'kinesis:shardId-000000000000=at.1', claimed: true }]);
    await first.release([other]);
    expect(await second.claim([id, other])).toEqual([{ claimed: false, position: 'kinesis:shardId-000000000000=at.1' }, { claimed: true }]);
    const item = await clients.dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: `${id.source}\n${id.id}` } }, ConsistentRead: true }));
    const ttl = Number(item.Item?.['ttl']?.N);
    expect(ttl - Date.now() / 1000, 'ttl is about 24 h after the append').toBeGreaterThan(24 * 3600 - 120);
    expect(ttl - Date.now() / 1000).toBeLessThan(24 * 3600 + 120);
    // Past its ttl (which DynamoDB enforces lazily) an id counts as unknown.
    const later = createDynamoIdIndex({ client: clients.dynamodb, tableName, clock: () => Date.now() + 25 * 3600 * 1000 });
    expect(await later.claim([id])).toEqual([{ claimed: true }]);
    await Promise.all([first.close(), second.close(), later.close()]);
  });

  it('client ids: a repeat waits while the claimer lives, takes over a claim its writer left when it died, and gives up after maxWaitMs', async () => {
    const tableName = serviceIdsTableName(prefix);
    const id = { source: 'cart-service', id: `id-${randomBytes(4).toString('hex')}` };
    // A live claimer renews its claim: a repeat waits for its position.
    const claimer = createDynamoIdIndex({ client: clients.dynamodb, tableName, claimTimeoutMs: 300 });
    expect(await claimer.claim([id])).toEqual([{ claimed: true }]);
    const waiter = createDynamoIdIndex({ client: clients.dynamodb, tableName, claimTimeoutMs: 300 });
    let settled = false;
    const waiting = waiter.claim([id]).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(settled, 'the repeat waits while the claim is renewed (over three claim timeouts)').toBe(false);
    await claimer.record([{ ...id, position: 'p-live', claimed: true }]);
    expect(await waiting).toEqual([{ claimed: false, position: 'p-live' }]);

    // A writer that claimed and died before recording: its claim is taken over once it is claimTimeoutMs old.
    const lost = { source: 'cart-service', id: `${id.id}-lost` };
    const dead = createDynamoIdIndex({ client: clients.dynamodb, tableName });
    expect(await dead.claim([lost])).toEqual([{ claimed: true }]);
    await dead.close();
    let offset = 0;
    const reports: string[] = [];
    const repeat = createDynamoIdIndex({ client: clients.dynamodb, tableName, claimTimeoutMs: 60_000, clock: () => Date.now() + offset, report: (message) => reports.push(message) });
    let tookOver = false;
    const takeOver = repeat.claim([lost]).finally(() => (tookOver = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(tookOver, 'a fresh claim is not taken over').toBe(false);
    offset = 61_000;
    expect(await takeOver).toEqual([{ claimed: true }]);
    expect(reports.join('\n')).toMatch(/took over an abandoned client-id claim/);

    // A claim that stays busy past maxWaitMs: ServiceUnavailable, and the waiter holds nothing.
    const busy = { source: 'cart-service', id: `${id.id}-busy` };
    const holder = createDynamoIdIndex({ client: clients.dynamodb, tableName, claimTimeoutMs: 300 });
    await holder.claim([busy]);
    const impatient = createDynamoIdIndex({ client: clients.dynamodb, tableName, claimTimeoutMs: 300, maxWaitMs: 500 });
    await expect(impatient.claim([busy])).rejects.toMatchObject({ code: 'ServiceUnavailable' });
    await Promise.all([claimer.close(), waiter.close(), repeat.close(), holder.close(), impatient.close()]);
  });

  it('serves on Kinesis and DynamoDB: keyed publish, a repeated client id answers 200 with the original positions, read back, revoke → 401', async () => {
    const keys = createDynamoKeyStore({ client: clients.dynamodb, tableName: serviceKeysTableName(prefix) });
    const { key, id: keyId } = await keys.create({ producer: 'cart-service', types: ['cart.item-added'], read: true, admin: false });
    const service = await startAwsService({ config, tablePrefix: prefix, clients, port: 0, logger: silent });
    try {
      const created = await post(service.url, [added('c1', 'order-1'), added('c2', 'order-2')], key);
      expect(created.status).toBe(201);
      const first = ((await created.json()) as Published).events;
      expect(first.map((e) => e.position)).toEqual([expect.stringMatching(/^kinesis:shardId-/), expect.stringMatching(/^kinesis:shardId-/)]);
      const repeated = await post(service.url, [added('c1', 'order-1'), added('c2', 'order-2')], key);
      expect(repeated.status).toBe(200);
      expect(((await repeated.json()) as Published).events).toEqual(first.map((e) => ({ ...e, duplicate: true })));
      const mixed = ((await (await post(service.url, [added('c1', 'order-1'), added('c3', 'order-3')], key)).json()) as Published).events;
      expect(mixed[0]).toEqual({ ...first[0], duplicate: true });
      expect(mixed[1]?.duplicate).toBe(false);

      // Read back page by page: every event once.
      const read: StoredEvent[] = [];
      for (let from: string | undefined; ; ) {
        const page = (await (await fetch(`${service.url}/events?limit=2${from === undefined ? '' : `&from=${encodeURIComponent(from)}`}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { events: StoredEvent[]; next: string };
        if (page.events.length === 0) break;
        read.push(...page.events);
        from = page.next;
      }
      expect(read.map((e) => e.event.id).sort()).toEqual(['order-1', 'order-2', 'order-3']);
      expect(read.every((e) => e.event.source === 'cart-service')).toBe(true);
      const filtered = (await (await fetch(`${service.url}/events?type=cart.item-added&limit=1`, { headers: { authorization: `Bearer ${key}` } })).json()) as { events: StoredEvent[]; next: string };
      expect(filtered.events).toHaveLength(1);
      const rest = (await (await fetch(`${service.url}/events?type=cart.item-added&from=${encodeURIComponent(filtered.next)}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { events: StoredEvent[] };
      expect([...filtered.events, ...rest.events].map((e) => e.event.id).sort(), 'a filtered page resumes where it stopped').toEqual(['order-1', 'order-2', 'order-3']);

      const badFrom = await fetch(`${service.url}/events?from=0`, { headers: { authorization: `Bearer ${key}` } });
      expect(badFrom.status).toBe(400);
      expect(((await badFrom.json()) as { code: string }).code).toBe('InvalidRequest');
      const consumers = await fetch(`${service.url}/consumers`, { headers: { authorization: `Bearer ${key}` } });
      expect(consumers.status).toBe(404);
      expect(((await consumers.json()) as { detail: string }).detail).toMatch(/separate workers/);
      const resume = await fetch(`${service.url}/events/stream`, { headers: { authorization: `Bearer ${key}`, 'last-event-id': '3' } });
      expect(resume.status).toBe(400);

      await keys.revoke(keyId);
      const revoked = await post(service.url, added('c9'), key);
      expect(revoked.status).toBe(401);
      expect(((await revoked.json()) as { details: { reason: string } }).details.reason).toBe('revoked key');
    } finally {
      await service.close();
    }
  });

  it('two services on one stream: the same client id sent twice to each at once is appended once', async () => {
    const keys = createDynamoKeyStore({ client: clients.dynamodb, tableName: serviceKeysTableName(prefix) });
    const { key } = await keys.create({ producer: 'racer', types: ['*'], read: true, admin: false });
    const [a, b] = await Promise.all([startAwsService({ config, tablePrefix: prefix, clients, port: 0, logger: silent }), startAwsService({ config, tablePrefix: prefix, clients, port: 0, logger: silent })]);
    try {
      const ids = Array.from({ length: 10 }, (_, i) => `race-${i}`);
      // Each id twice to each service at once: repeats within one process and across the two.
      const answers = await Promise.all(ids.flatMap((id) => [a, a, b, b].map(async (service) => ({ id, status: (await post(service.url, added(`r-${id}`, id), key)).status }))));
      for (const id of ids) expect(answers.filter((answer) => answer.id === id).map((answer) => answer.status).sort(), id).toEqual([200, 200, 200, 201]);
      const log = createKinesisEventLog({ client: clients.kinesis, streamName: awsResources({ prefix }).streamName });
      const { events } = await log.read({ limit: 10_000 });
      await log.close();
      const racers = events.filter((e) => e.event.source === 'racer').map((e) => e.event.id);
      expect(racers.sort()).toEqual([...ids].sort());
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a repeat after its first request died between claim and recording waits out the claim, then appends again (at least once)', async () => {
    const tableName = serviceIdsTableName(prefix);
    const streamName = awsResources({ prefix }).streamName;
    const clientId = `crash-${randomBytes(4).toString('hex')}`;
    const log = createKinesisEventLog({ client: clients.kinesis, streamName });
    // The first request's process claimed the id, appended the event and died before recording its position.
    const dead = createDynamoIdIndex({ client: clients.dynamodb, tableName });
    await dead.claim([{ source: 'insecure', id: clientId }]);
    await createPublisher({ log, catalog: config.events, source: 'insecure' }).publish('cart.item-added', { cartId: 'crash', quantity: 1 }, { id: clientId });
    await dead.close();
    const reports: string[] = [];
    const ids = createDynamoIdIndex({ client: clients.dynamodb, tableName, claimTimeoutMs: 500, report: (message) => reports.push(message) });
    const service = await createEventLogService({ log, catalog: createCatalog(config.events), ids, keys: 'insecure', logger: silent });
    try {
      const response = await service.app.request('/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(added('crash', clientId)) });
      expect(response.status, 'the repeat takes the abandoned claim over and appends').toBe(201);
      const again = await service.app.request('/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(added('crash', clientId)) });
      expect(again.status, 'then the id is recorded').toBe(200);
      const { events } = await log.read({ limit: 10_000 });
      expect(events.filter((e) => e.event.id === clientId), 'the log holds the event twice, with the same id').toHaveLength(2);
      expect(reports, 'the take-over is reported').toEqual([expect.stringMatching(/took over an abandoned client-id claim/)]);
    } finally {
      await service.close();
      await log.close();
    }
  });

  it('refuses to start without keys or without its stream and tables, saying what to run', async () => {
    const empty = freshPrefix();
    const missing = startAwsService({ config, tablePrefix: empty, clients, port: 0, logger: silent });
    await expect(missing).rejects.toMatchObject({ code: 'LogNotFound' });
    await expect(missing).rejects.toThrow(/unilog aws init --table-prefix/);
    await ensureAwsResources(clients, awsResources({ prefix: empty }), { shards: 1 });
    await expect(startAwsService({ config, tablePrefix: empty, clients, port: 0, logger: silent })).rejects.toSatisfy((error: unknown) => isUnilogError(error, 'NoApiKeys') && /keys create --backend aws/.test(error.message));
  });
});
