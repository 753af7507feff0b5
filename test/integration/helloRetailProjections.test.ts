import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumer, createPublisher, openFileEventLog, openSqliteViewStorage, type AnyEventDefinition, type AnyTableDefinition, type Consumer, type FileEventLog } from '../../src/index.ts';
import { helloRetailProjections } from '../../projections/index.ts';
import { helloRetailEvents } from '../../sample-app/events.ts';
import { tempDir } from '../support/tempDir.ts';

const product = (id: string, category: string, merchantId = 'm-1') => ({
  type: 'product.created' as const,
  data: { id, brand: 'Nordwest', name: `Product ${id}`, description: 'Warm', category, priceCents: 1000, merchantId, merchantName: `Merchant ${merchantId}` },
});

/** Every row of every table of a consumer's view, for comparing a live view with a rebuilt one. */
async function dump(consumer: Consumer): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  const view = consumer.view as Record<string, { scan(options: { after?: string; limit?: number }): Promise<unknown[]> }>;
  for (const [table, reader] of Object.entries(view)) out[table] = await reader.scan({ limit: 100_000 });
  return out;
}

describe('Hello Retail projections', () => {
  let dir: string;
  let remove: () => Promise<void>;
  let log: FileEventLog;
  const consumers = new Map<string, Consumer>();
  beforeAll(async () => {
    ({ dir, remove } = await tempDir('unilog-hello-'));
    log = await openFileEventLog({ dir: path.join(dir, 'log') });
    const storage = openSqliteViewStorage({ dir: path.join(dir, 'views') });
    for (const projection of helloRetailProjections) consumers.set(projection.name, createConsumer<AnyEventDefinition, Record<string, AnyTableDefinition>>(projection as never, { log, storage }));
    for (const consumer of consumers.values()) await consumer.start();

    const publisher = createPublisher({ log, catalog: helloRetailEvents, source: 'test' });
    await publisher.publishBatch([product('p1', 'shoes'), product('p2', 'shoes'), product('p3', 'coats', 'm-2'), product('p1', 'shoes')]);
    await publisher.publishBatch([
      { type: 'photographer.registered', data: { photographerId: 'ph-1', name: 'Erik', phone: '+15550000001' } },
      { type: 'photographer.registered', data: { photographerId: 'ph-2', name: 'Ana', phone: '+4915100000002' } },
    ]);
    await publisher.publishBatch([
      { type: 'photo.requested', data: { productId: 'p1', productName: 'Product p1', merchantName: 'Merchant m-1' } },
      { type: 'photo.assigned', data: { productId: 'p1', photographerId: 'ph-1', phone: '+15550000001', attempt: 1, deadline: '2026-12-01T18:00:00.000Z' } },
      { type: 'photo.unassigned', data: { productId: 'p1', photographerId: 'ph-1', attempt: 1, reason: 'deadline' } },
      { type: 'photo.assigned', data: { productId: 'p1', photographerId: 'ph-2', phone: '+4915100000002', attempt: 2, deadline: '2026-12-01T18:10:00.000Z' } },
      { type: 'photo.received', data: { productId: 'p1', photographerId: 'ph-2', messageId: 'MM1', contentType: 'image/jpeg' } },
      { type: 'product.image-added', data: { productId: 'p1', photographerId: 'ph-2', image: 'images/p1.jpg', thumbnail: 'images/p1-thumb.jpg', width: 1200, height: 800 } },
      { type: 'photo.requested', data: { productId: 'p2', productName: 'Product p2', merchantName: 'Merchant m-1' } },
      { type: 'photo.assigned', data: { productId: 'p2', photographerId: 'ph-1', phone: '+15550000001', attempt: 1, deadline: '2026-12-01T18:00:00.000Z' } },
    ]);
    await publisher.publishBatch([
      { type: 'cart.item-added', data: { cartId: 'c-1', customerId: 'c-1', productId: 'p1', quantity: 2 } },
      { type: 'cart.item-added', data: { cartId: 'c-1', customerId: 'c-1', productId: 'p3', quantity: 1 } },
      { type: 'cart.item-removed', data: { cartId: 'c-1', customerId: 'c-1', productId: 'p3' } },
      { type: 'product.purchased', data: { productId: 'p1', customerId: 'c-1' } },
      { type: 'product.purchased', data: { productId: 'p3', customerId: 'c-2' } },
      { type: 'user.logged-in', data: { userId: 'c-1', name: 'Kim', role: 'customer' } },
    ]);
    const head = String(Number(await log.head()) - 1);
    for (const consumer of consumers.values()) await consumer.waitFor(head, { timeoutMs: 10_000 });
  });
  afterAll(async () => {
    for (const consumer of consumers.values()) await consumer.stop();
    await log.close();
    await remove();
  });
  const view = (name: string) => (consumers.get(name) as Consumer).view as Record<string, { get(key: string): Promise<unknown>; query(field: string, value: string): Promise<unknown[]> }>;

  it('categories count each product once', async () => {
    expect(await view('categories')['categories']?.get('shoes')).toEqual({ category: 'shoes', products: 2 });
    expect(await view('categories')['categories']?.get('coats')).toEqual({ category: 'coats', products: 1 });
  });

  it('the catalog has products by category with photo status, image and purchases', async () => {
    const shoes = (await view('catalog')['products']?.query('category', 'shoes')) as { id: string; photoStatus: string; image: string | null; purchases: number }[];
    expect(shoes.map((p) => [p.id, p.photoStatus, p.image, p.purchases])).toEqual([
      ['p1', 'done', 'images/p1.jpg', 1],
      ['p2', 'assigned', null, 0],
    ]);
    expect(((await view('catalog')['products']?.query('merchantId', 'm-2')) as { id: string }[]).map((p) => p.id)).toEqual(['p3']);
  });

  it('photographers by phone, with open and completed assignments', async () => {
    expect(await view('photographers')['photographers']?.query('phone', '+15550000001')).toMatchObject([{ photographerId: 'ph-1', openAssignments: 1, completed: 0 }]);
    expect(await view('photographers')['photographers']?.get('ph-2')).toMatchObject({ name: 'Ana', openAssignments: 0, completed: 1 });
  });

  it('assignments say who has a product and who was tried', async () => {
    expect(await view('assignments')['assignments']?.get('p1')).toMatchObject({ status: 'done', attempt: 2, tried: ['ph-1', 'ph-2'] });
    expect(await view('assignments')['assignments']?.get('p2')).toMatchObject({ status: 'assigned', photographerId: 'ph-1', tried: ['ph-1'] });
  });

  it('carts count items once and lose what was bought', async () => {
    expect(await view('carts')['carts']?.get('c-1')).toEqual({ cartId: 'c-1', customerId: 'c-1', lines: {}, items: 0 });
  });

  it('scores credit merchants and photographers with purchases', async () => {
    expect(await view('scores')['merchants']?.get('m-1')).toMatchObject({ products: 2, purchases: 1 });
    expect(await view('scores')['merchants']?.get('m-2')).toMatchObject({ products: 1, purchases: 1 });
    expect(await view('scores')['photographers']?.get('ph-2')).toMatchObject({ photos: 1, purchases: 1 });
    expect(await view('scores')['photographers']?.get('ph-1')).toMatchObject({ photos: 0, purchases: 0 });
  });

  it('rebuilding every projection from the log yields views identical to the live ones', async () => {
    for (const [name, consumer] of consumers) {
      const live = await dump(consumer);
      await consumer.rebuild();
      expect(await dump(consumer), name).toEqual(live);
    }
  });
});
