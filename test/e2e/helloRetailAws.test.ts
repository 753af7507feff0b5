// The Hello Retail flow on the local AWS stack, through the HTTP API: the service on Kinesis (`unilog serve --backend
// aws`), the six projections as distributed workers (`unilog work --backend aws`) on DynamoDB views. Each producer
// publishes with its own key; after every step the AWS views must equal the views the embedded runtime builds from
// the very same envelopes (read back through the API): the application code is the same, only the backend differs.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAwsStack, type LocalAwsStack } from '../../infra/local/stack.ts';
import { helloRetailProjections } from '../../projections/index.ts';
import { createAwsClients, createDynamoKeyStore, createDynamoViewStorage, serviceKeysTableName, type AwsClients } from '../../src/aws/index.ts';
import { createConsumer, createMemoryEventLog, createMemoryViewStorage, type AnyEventDefinition, type AnyTableDefinition, type EventEnvelope, type ViewStorage } from '../../src/index.ts';
import { awsEndpoints } from '../aws/endpoints.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const aws = awsEndpoints();
const javaMissing = 'unavailable' in aws.dynamodb ? aws.dynamodb.unavailable : undefined;
const prefix = 'hr-';
const config = path.join(repo, 'sample-app', 'unilog.config.ts');

const product = (id: string, category: string, merchantId = 'm-1') => ({
  type: 'product.created',
  data: { id, brand: 'Nordwest', name: `Product ${id}`, description: 'Warm', category, priceCents: 1000, merchantId, merchantName: `Merchant ${merchantId}` },
});

/** The day, step by step: each step is one producer's batch; the next waits until every view has caught up. */
const steps: { producer: string; events: { type: string; data: unknown }[] }[] = [
  { producer: 'merchant-web', events: [product('p1', 'shoes'), product('p2', 'shoes'), product('p3', 'coats', 'm-2')] },
  { producer: 'photographer-web', events: [
    { type: 'photographer.registered', data: { photographerId: 'ph-1', name: 'Erik', phone: '+15550000001' } },
    { type: 'photographer.registered', data: { photographerId: 'ph-2', name: 'Ana', phone: '+4915100000002' } },
  ] },
  { producer: 'photo-workflow', events: [
    { type: 'photo.requested', data: { productId: 'p1', productName: 'Product p1', merchantName: 'Merchant m-1' } },
    { type: 'photo.assigned', data: { productId: 'p1', photographerId: 'ph-1', phone: '+15550000001', attempt: 1, deadline: '2026-12-01T18:00:00.000Z' } },
    { type: 'photo.unassigned', data: { productId: 'p1', photographerId: 'ph-1', attempt: 1, reason: 'deadline' } },
    { type: 'photo.assigned', data: { productId: 'p1', photographerId: 'ph-2', phone: '+4915100000002', attempt: 2, deadline: '2026-12-01T18:10:00.000Z' } },
    { type: 'photo.requested', data: { productId: 'p2', productName: 'Product p2', merchantName: 'Merchant m-1' } },
    { type: 'photo.assigned', data: { productId: 'p2', photographerId: 'ph-1', phone: '+15550000001', attempt: 1, deadline: '2026-12-01T18:00:00.000Z' } },
  ] },
  { producer: 'photo-intake', events: [
    { type: 'photo.received', data: { productId: 'p1', photographerId: 'ph-2', messageId: 'MM1', contentType: 'image/jpeg' } },
    { type: 'product.image-added', data: { productId: 'p1', photographerId: 'ph-2', image: 'images/p1.jpg', thumbnail: 'images/p1-thumb.jpg', width: 1200, height: 800 } },
  ] },
  { producer: 'shop-web', events: [
    { type: 'cart.item-added', data: { cartId: 'c-1', customerId: 'c-1', productId: 'p1', quantity: 2 } },
    { type: 'cart.item-added', data: { cartId: 'c-1', customerId: 'c-1', productId: 'p3', quantity: 1 } },
    { type: 'user.logged-in', data: { userId: 'c-1', name: 'Kim', role: 'customer' } },
  ] },
  { producer: 'shop-web', events: [
    { type: 'cart.item-removed', data: { cartId: 'c-1', customerId: 'c-1', productId: 'p3' } },
    { type: 'product.purchased', data: { productId: 'p1', customerId: 'c-1' } },
    { type: 'product.purchased', data: { productId: 'p3', customerId: 'c-2' } },
  ] },
];

/** A CLI child that runs until stopped; resolves with it once its first stdout line is there. */
async function startCli(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; firstLine: string; stderr: () => string }> {
  const child = spawn(process.execPath, [path.join(repo, 'bin', 'unilog.js'), ...args], { cwd: repo, env: { ...process.env, ...env, NODE_NO_WARNINGS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const firstLine = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => { reject(new Error(`unilog ${args[0] ?? ''} exited ${code}: ${stderr}`)); });
  });
  return { child, firstLine, stderr: () => stderr };
}

async function stopCli(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Every row of every table of a projection's current view copy. */
async function dump(storage: ViewStorage, projection: (typeof helloRetailProjections)[number]): Promise<Record<string, unknown[]>> {
  const copy = await storage.current(projection.name);
  const out: Record<string, unknown[]> = {};
  if (copy === undefined) return out;
  const store = await storage.open(projection.name, copy, projection.layout);
  for (const table of Object.keys(projection.layout)) out[table] = await store.scan(table, { limit: 1000 });
  await store.close();
  return out;
}

describe.skipIf(javaMissing !== undefined)('Hello Retail on the local AWS stack, through the HTTP API', () => {
  let stack: LocalAwsStack;
  let clients: AwsClients;
  let serve: Awaited<ReturnType<typeof startCli>> | undefined;
  let work: Awaited<ReturnType<typeof startCli>> | undefined;
  let url = '';
  const keys = new Map<string, string>();

  beforeAll(async () => {
    stack = await startLocalAwsStack({ portBase: 0, prefix, projections: helloRetailProjections, shards: 2 });
    clients = await createAwsClients({ region: stack.env['AWS_REGION']!, credentials: { accessKeyId: stack.env['AWS_ACCESS_KEY_ID']!, secretAccessKey: stack.env['AWS_SECRET_ACCESS_KEY']! }, endpoints: stack.endpoints, env: {} });
    const keyStore = createDynamoKeyStore({ client: clients.dynamodb, tableName: serviceKeysTableName(prefix) });
    for (const producer of new Set(steps.map((s) => s.producer))) keys.set(producer, (await keyStore.create({ producer, types: ['*'], read: true, admin: false })).key);
    serve = await startCli(['serve', '--backend', 'aws', '--table-prefix', prefix, '--config', config, '--port', '0', '--json'], stack.env);
    url = (JSON.parse(serve.firstLine) as { url: string }).url;
    work = await startCli(['work', '--backend', 'aws', '--table-prefix', prefix, '--config', config, '--lease-ms', '2000'], stack.env);
  }, 180_000);

  afterAll(async () => {
    await stopCli(serve?.child);
    await stopCli(work?.child);
    clients.destroy();
    await stack.stop();
  });

  it('every view on DynamoDB equals the embedded runtime\'s after each step of the day', { timeout: 240_000 }, async () => {
    const views = createDynamoViewStorage({ client: clients.dynamodb, tablePrefix: prefix, createTable: false });
    // The reference: the same projections on the embedded runtime, fed the envelopes the service stored.
    const referenceLog = createMemoryEventLog();
    const referenceStorage = createMemoryViewStorage();
    const reference = helloRetailProjections.map((projection) => createConsumer<AnyEventDefinition, Record<string, AnyTableDefinition>>(projection as never, { log: referenceLog, storage: referenceStorage }));
    for (const consumer of reference) await consumer.start();
    let next: string | undefined;
    const reader = keys.get('shop-web')!;

    for (const [i, step] of steps.entries()) {
      const response = await fetch(`${url}/events`, { method: 'POST', headers: { authorization: `Bearer ${keys.get(step.producer)!}`, 'content-type': 'application/json' }, body: JSON.stringify(step.events) });
      expect(response.status, `step ${i} (${step.producer}): ${await response.clone().text()}`).toBe(201);

      // What the service stored for this step, read back through the API (Kinesis order: per key).
      const stored: EventEnvelope[] = [];
      while (stored.length < step.events.length) {
        const page = (await (await fetch(`${url}/events${next === undefined ? '' : `?from=${encodeURIComponent(next)}`}`, { headers: { authorization: `Bearer ${reader}` } })).json()) as { events: { event: EventEnvelope }[]; next: string };
        stored.push(...page.events.map((e) => e.event));
        next = page.next;
      }
      expect(stored.map((e) => e.source), 'each event is stamped with its producer').toEqual(step.events.map(() => step.producer));
      const { positions } = await referenceLog.append(stored);
      for (const consumer of reference) await consumer.waitFor(positions.at(-1)!, { timeoutMs: 10_000 });

      for (const projection of helloRetailProjections) {
        const expected = await dump(referenceStorage, projection);
        const deadline = Date.now() + 60_000;
        let actual = await dump(views, projection);
        while (JSON.stringify(actual) !== JSON.stringify(expected) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          actual = await dump(views, projection);
        }
        expect(actual, `${projection.name} after step ${i} (workers: ${work?.stderr() ?? ''})`).toEqual(expected);
      }
    }
    const catalog = await dump(views, helloRetailProjections[1]);
    expect((catalog['products'] as { id: string; photoStatus: string; purchases: number }[]).map((p) => [p.id, p.photoStatus, p.purchases])).toEqual([['p1', 'done', 1], ['p2', 'assigned', 0], ['p3', 'waiting', 1]]);
    for (const consumer of reference) await consumer.stop();
  });
});
