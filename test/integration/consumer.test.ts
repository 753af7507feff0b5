import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createConsumer,
  createMemoryEventLog,
  createMemoryViewStorage,
  createPublisher,
  defineProjection,
  defineReactor,
  isUnilogError,
  permanentError,
  type EventLog,
  type ViewStorage,
} from '../../src/index.ts';
import { cartProjection, foldCarts, ItemAdded, ItemRemoved } from '../support/cart.ts';

function setup(): { log: EventLog; storage: ViewStorage; publish: ReturnType<typeof createPublisher<typeof ItemAdded | typeof ItemRemoved>> } {
  const log = createMemoryEventLog();
  return { log, storage: createMemoryViewStorage(), publish: createPublisher({ log, catalog: [ItemAdded, ItemRemoved], source: 'cart-service' }) };
}

async function allEvents(log: EventLog): Promise<{ type: string; data: unknown }[]> {
  const out: { type: string; data: unknown }[] = [];
  for (let from = '0'; ; ) {
    const page = await log.read({ from, limit: 1000 });
    if (page.events.length === 0) return out;
    out.push(...page.events.map((e) => e.event));
    from = page.next;
  }
}

async function viewRows(consumer: { view: { carts: { scan(o?: { after?: string; limit?: number }): Promise<unknown[]> } } }): Promise<Map<string, unknown>> {
  const rows = new Map<string, unknown>();
  for (let after: string | undefined; ; ) {
    const page = (await consumer.view.carts.scan({ ...(after === undefined ? {} : { after }), limit: 100 })) as { cartId: string }[];
    if (page.length === 0) return rows;
    for (const row of page) rows.set(row.cartId, row);
    after = page[page.length - 1]!.cartId;
  }
}

const add = (cartId: string, productId: string, quantity = 1) => ({ type: 'cart.item-added' as const, data: { cartId, productId, quantity } });

describe('projection consumer', () => {
  it('builds its view, and waitFor gives read-your-writes', async () => {
    const { log, storage, publish } = setup();
    const carts = createConsumer(cartProjection(), { log, storage });
    await carts.start();
    await publish.publishBatch([add('c1', 'boots', 2), add('c2', 'parka'), add('c1', 'hat')]);
    const { position } = await publish.publish('cart.item-removed', { cartId: 'c1', productId: 'boots' });
    await carts.waitFor(position);
    expect(await carts.view.carts.get('c1')).toEqual({ cartId: 'c1', items: 1, lines: { hat: 1 }, status: 'open', applied: 3 });
    expect((await carts.view.carts.query('status', 'open')).map((r) => r.cartId).sort()).toEqual(['c1', 'c2']);
    const status = await carts.status();
    expect(status).toMatchObject({ name: 'carts', kind: 'projection', state: 'running', position: '4', lagEvents: 0, deadLetters: 0 });
    await carts.stop();
    expect((await carts.status()).state).toBe('stopped');
  });

  it('resumes from its checkpoint without applying an event twice', async () => {
    const { log, storage, publish } = setup();
    for (let i = 0; i < 50; i++) await publish.publish('cart.item-added', { cartId: `c${i % 5}`, productId: `p${i}`, quantity: 1 });
    let carts = createConsumer(cartProjection(), { log, storage, batchSize: 7 });
    await carts.start();
    await carts.waitFor('49');
    await carts.stop();
    for (let i = 50; i < 80; i++) await publish.publish('cart.item-added', { cartId: `c${i % 5}`, productId: `p${i}`, quantity: 1 });
    carts = createConsumer(cartProjection(), { log, storage, batchSize: 7 });
    await carts.start();
    await carts.waitFor('79');
    expect(await viewRows(carts)).toEqual(foldCarts(await allEvents(log)));
    await carts.stop();
  });

  it('reports lag: events behind and the age of the oldest', async () => {
    const { log, storage } = setup();
    // Events published an hour ago, by the publisher's clock: the lag is at least that old.
    const anHourAgo = createPublisher({ log, catalog: [ItemAdded], source: 'cart-service', clock: () => Date.now() - 3_600_000 });
    await anHourAgo.publishBatch([add('c1', 'a'), add('c1', 'b')]);
    const carts = createConsumer(cartProjection(), { log, storage });
    const before = await carts.status();
    expect(before).toMatchObject({ state: 'stopped', lagEvents: 2 });
    expect(Math.round(before.lagMs / 3_600_000), 'lag counts from the oldest unprocessed event').toBe(1);
    await carts.start();
    await carts.waitFor('1');
    expect(await carts.status()).toMatchObject({ lagEvents: 0, lagMs: 0 });
    await carts.stop();
  });

  it('waitFor times out with WaitTimedOut, and a stopped consumer says so', async () => {
    const { log, storage } = setup();
    const carts = createConsumer(cartProjection(), { log, storage });
    await carts.start();
    await expect(carts.waitFor('5', { timeoutMs: 20 })).rejects.toSatisfy((e) => isUnilogError(e, 'WaitTimedOut') && e.details.processed === '0');
    const pending = carts.waitFor('5', { timeoutMs: 5000 });
    await carts.stop();
    await expect(pending).rejects.toSatisfy((e) => isUnilogError(e, 'ConsumerStopped'));
  });

  it('catchUp(head) waits for everything published before the head, and no longer', async () => {
    const { log, storage, publish } = setup();
    const carts = createConsumer(cartProjection(), { log, storage, batchSize: 3 });
    // An empty log: the start is the head.
    await carts.catchUp(await log.head(), { timeoutMs: 20 });
    await carts.start();
    for (let i = 0; i < 10; i++) await publish.publish('cart.item-added', { cartId: `c-${i % 3}`, productId: `s-${i}`, quantity: 1 });
    const head = await log.head();
    await carts.catchUp(head, { timeoutMs: 5000 });
    expect((await carts.status()).position).toBe(head);
    expect(Object.keys((await carts.view.carts.get('c-0'))?.lines ?? {})).toEqual(['s-0', 's-3', 's-6', 's-9']);
    // A head past everything published times out, saying where the consumer is.
    await expect(carts.catchUp('11', { timeoutMs: 20 })).rejects.toSatisfy((e) => isUnilogError(e, 'WaitTimedOut') && e.details.processed === '10');
    await expect(carts.catchUp('not a head')).rejects.toSatisfy((e) => isUnilogError(e, 'InvalidPosition'));
    await carts.stop();
  });
});

describe('poison events', () => {
  it('park only their key: other keys keep up; retry after the fix applies it once, then the parked ones in order', async () => {
    const { log, storage, publish } = setup();
    let broken = true;
    const fail = (cartId: string, productId: string) => broken && cartId === 'k' && productId === 'poison';
    const carts = createConsumer(cartProjection(1, fail), { log, storage, retry: { attempts: 3, initialDelayMs: 1 } });
    await carts.start();
    await publish.publishBatch([add('k', 'first'), add('other', 'a'), add('k', 'poison', 2), add('other', 'b'), add('k', 'after', 3), add('k', 'later', 4)]);
    const { position } = await publish.publish('cart.item-added', { cartId: 'other', productId: 'c', quantity: 1 });
    await carts.waitFor(position);

    expect(await carts.view.carts.get('other')).toMatchObject({ items: 3 });
    expect(await carts.view.carts.get('k')).toMatchObject({ items: 1, lines: { first: 1 } });
    const [letter, ...more] = await carts.deadLetters.list();
    expect(more).toEqual([]);
    expect(letter).toMatchObject({ position: '2', attempts: 3, mode: 'parked', error: { message: 'cannot add poison' } });
    expect((await carts.status()).deadLetters).toBe(1);

    // Still broken: the retry fails and changes nothing.
    expect(await carts.deadLetters.retry('2')).toMatchObject({ applied: false, error: 'cannot add poison' });
    expect(await carts.view.carts.get('k')).toMatchObject({ items: 1 });

    broken = false;
    expect(await carts.deadLetters.retry('2')).toEqual({ applied: true, released: 2 });
    expect(await carts.view.carts.get('k')).toEqual({ cartId: 'k', items: 10, lines: { first: 1, poison: 2, after: 3, later: 4 }, status: 'open', applied: 4 });
    expect(await carts.deadLetters.list()).toEqual([]);
    // The key is free again: new events apply directly.
    const next = await publish.publish('cart.item-added', { cartId: 'k', productId: 'new', quantity: 1 });
    await carts.waitFor(next.position);
    expect(await carts.view.carts.get('k')).toMatchObject({ items: 11, status: 'big' });
    // Applied once: a second retry finds nothing.
    await expect(carts.deadLetters.retry('2')).rejects.toSatisfy((e) => isUnilogError(e, 'DeadLetterNotFound'));
    expect((await carts.deadLetters.audit()).map((a) => `${a.position} ${a.action}`)).toEqual(['2 dead-lettered', '4 parked', '5 parked', '2 retried', '2 retried', '4 released', '5 released']);
    await carts.stop();
  });

  it('skip mode dead-letters the event and lets its key go on; drop forgets it', async () => {
    const { log, storage, publish } = setup();
    const carts = createConsumer(cartProjection(1, (_, p) => p === 'poison'), { log, storage, onPoison: 'skip', retry: { attempts: 1 } });
    await carts.start();
    await publish.publishBatch([add('k', 'poison'), add('k', 'ok')]);
    await carts.waitFor('1');
    expect(await carts.view.carts.get('k')).toMatchObject({ items: 1, lines: { ok: 1 } });
    expect((await carts.deadLetters.list())[0]).toMatchObject({ position: '0', mode: 'skipped', attempts: 1 });
    expect(await carts.deadLetters.drop('0')).toEqual({ applied: false, released: 0 });
    expect(await carts.deadLetters.list()).toEqual([]);
    await carts.stop();
  });

  it('does not retry a permanent error', async () => {
    const { log, storage, publish } = setup();
    let calls = 0;
    const projection = cartProjection(1, () => {
      calls++;
      throw permanentError('this cart is closed');
    });
    const carts = createConsumer(projection, { log, storage, retry: { attempts: 5, initialDelayMs: 1 } });
    await carts.start();
    await publish.publish('cart.item-added', { cartId: 'x', productId: 'y', quantity: 1 });
    await carts.waitFor('0');
    expect(calls).toBe(1);
    expect((await carts.deadLetters.list())[0]).toMatchObject({ attempts: 1, error: { code: 'HandlerRejected', message: 'this cart is closed' } });
    await carts.stop();
  });
});

describe('handler writes on failure', () => {
  it('are undone: a retried handler applies once, a poisoned one leaves nothing', async () => {
    const { log, storage, publish } = setup();
    const tries = new Map<string, number>();
    const projection = defineProjection({ name: 'flaky', version: 1, events: [ItemAdded], tables: { counts: { row: z.object({ id: z.string(), n: z.number() }), key: 'id' } } }).on({
      'cart.item-added': async (event, view) => {
        const row = await view.counts.get(event.data.cartId);
        view.counts.put({ id: event.data.cartId, n: (row?.n ?? 0) + 1 });
        view.counts.put({ id: `${event.data.cartId}-side`, n: 1 });
        const tried = (tries.get(event.id) ?? 0) + 1;
        tries.set(event.id, tried);
        // Fails after writing: once for 'flaky' (then succeeds), always for 'doomed'.
        if ((event.data.productId === 'flaky' && tried === 1) || event.data.productId === 'doomed') throw new Error('after writing');
      },
    });
    const consumer = createConsumer(projection, { log, storage, retry: { attempts: 3, initialDelayMs: 1 }, onPoison: 'skip' });
    await consumer.start();
    await publish.publishBatch([add('a', 'ok'), add('a', 'flaky'), add('b', 'doomed'), add('a', 'ok')]);
    await consumer.waitFor('3');
    expect(await consumer.view.counts.get('a')).toEqual({ id: 'a', n: 3 });
    expect(await consumer.view.counts.get('b')).toBeUndefined();
    expect(await consumer.view.counts.get('b-side')).toBeUndefined();
    expect((await consumer.deadLetters.list()).map((d) => d.position)).toEqual(['2']);
    await consumer.stop();
  });
});

describe('rebuild', () => {
  it('a version bump rebuilds at start; the old copy serves reads until the switch', async () => {
    const { log, storage, publish } = setup();
    const v1 = createConsumer(cartProjection(1), { log, storage });
    await v1.start();
    await publish.publishBatch(Array.from({ length: 300 }, (_, i) => add(`c${i % 10}`, `p${i}`)));
    await v1.waitFor('299');
    await v1.stop();
    const progress: number[] = [];
    const v2 = createConsumer(cartProjection(2), { log, storage, rebuildBatchSize: 50, onProgress: (p) => progress.push(p.done) });
    await v2.start();
    expect(progress.at(-1)).toBe(300);
    expect(progress.length).toBeGreaterThan(3);
    expect((await v2.status()).version).toBe(2);
    expect(await viewRows(v2)).toEqual(foldCarts(await allEvents(log)));
    expect(await storage.current('carts')).toMatch(/^v2-/);
    await v2.stop();
  });

  it('rebuild under load: publishing goes on, reads never fail, nothing is missing or doubled after the switch', async () => {
    const { log, storage, publish } = setup();
    const carts = createConsumer(cartProjection(), { log, storage, rebuildBatchSize: 100 });
    await carts.start();
    for (let i = 0; i < 2000; i += 100) await publish.publishBatch(Array.from({ length: 100 }, (_, j) => add(`c${(i + j) % 17}`, `p${(i + j) % 5}`)));
    let publishing = true;
    let readErrors = 0;
    let reads = 0;
    const writer = (async () => {
      for (let i = 0; publishing; i++) {
        await publish.publish('cart.item-added', { cartId: `c${i % 17}`, productId: 'live', quantity: 1 });
        await new Promise((r) => setImmediate(r));
      }
    })();
    const reader = (async () => {
      while (publishing) {
        try {
          await carts.view.carts.get('c3');
          reads++;
        } catch {
          readErrors++;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const result = await carts.rebuild();
    expect(result.events).toBeGreaterThanOrEqual(2000);
    const { position } = await publish.publish('cart.item-added', { cartId: 'c1', productId: 'final', quantity: 1 });
    publishing = false;
    await Promise.all([writer, reader]);
    await carts.waitFor(position);
    expect(readErrors).toBe(0);
    expect(reads).toBeGreaterThan(0);
    expect(await viewRows(carts)).toEqual(foldCarts(await allEvents(log)));
    await carts.stop();
  });
});

describe('reactors', () => {
  it('start at the head, run once per event with its id as idempotency key, and are never rebuilt', async () => {
    const { log, storage, publish } = setup();
    await publish.publishBatch([add('old', 'a'), add('old', 'b')]);
    const sent: string[] = [];
    const reactor = defineReactor({ name: 'big-cart-mailer', events: [ItemAdded] }).on({
      'cart.item-added': (event, { idempotencyKey }) => {
        sent.push(`${event.data.cartId}:${idempotencyKey === event.id ? 'id' : 'other'}`);
      },
    });
    const mailer = createConsumer(reactor, { log, storage });
    await mailer.start();
    const carts = createConsumer(cartProjection(), { log, storage });
    await carts.start();
    const { position } = await publish.publish('cart.item-added', { cartId: 'new', productId: 'x', quantity: 1 });
    await mailer.waitFor(position);
    await carts.waitFor(position);
    expect(sent).toEqual(['new:id']);
    await carts.rebuild();
    expect(sent).toEqual(['new:id']);
    await expect(mailer.rebuild()).rejects.toSatisfy((e) => isUnilogError(e, 'InvalidArgument'));
    await mailer.stop();
    await carts.stop();
  });
});
