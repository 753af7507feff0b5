import { afterEach, beforeEach, describe, expect } from 'vitest';
import { contractCase, type SkippedCases } from './skip.ts';
import { isUnilogError } from '../../src/errors.ts';
import type { Checkpoint, DeadLetter, ParkedEvent, Row, ViewChanges, ViewLayout, ViewStorage, ViewStore } from '../../src/views/viewStore.ts';
import { envelope } from '../support/events.ts';

/** Fresh view storage for one test, and how to dispose of it. */
export interface ViewStorageFixture {
  readonly storage: ViewStorage;
  /** A new storage over the same data, as after a restart; adapters that keep nothing leave it out and skip the case. */
  readonly reopen?: () => Promise<ViewStorage>;
  readonly dispose: () => Promise<void>;
}

const layout: ViewLayout = {
  products: { key: 'id', indexes: ['category', 'inStock', 'price'] },
  orders: { key: 'orderId', indexes: [] },
};

type Product = { id: string; category?: string; inStock?: boolean; price?: number | string; name?: string; tags?: string[] };
const put = (row: Product): ViewChanges['rows'][number] => ({ table: 'products', key: row.id, row });
const del = (key: string): ViewChanges['rows'][number] => ({ table: 'products', key, row: null });
const cp = (position: string, version = 1): Checkpoint => ({ position, version });
const ids = (rows: readonly Row[]) => rows.map((row) => row['id']);

const deadLetter = (position: string, subject = 'k1', mode: DeadLetter['mode'] = 'parked'): DeadLetter => ({
  position,
  event: envelope(Number(position), subject),
  error: { message: `failed at ${position}`, name: 'Error', code: 'HandlerRejected' },
  attempts: 3,
  at: '2024-05-01T10:00:00.000Z',
  mode,
});
const parkedEvent = (position: string, subject: string): ParkedEvent => ({ position, event: envelope(Number(position), subject) });

const rejectsWith = async (promise: Promise<unknown>, reason?: string) => {
  await expect(promise).rejects.toSatisfy((e) => isUnilogError(e, 'InvalidArgument') && (reason === undefined || e.details.reason === reason));
};

/** The ViewStore and ViewStorage contract: every adapter runs these cases. */
export function describeViewStoreContract(name: string, options: { create: () => Promise<ViewStorageFixture>; skip?: readonly SkippedCases[] }): void {
  const test = contractCase(options.skip);

  describe(`ViewStore contract: ${name}`, () => {
    let fixture: ViewStorageFixture;
    let storage: ViewStorage;
    let opened: ViewStore[];
    beforeEach(async () => {
      fixture = await options.create();
      storage = fixture.storage;
      opened = [];
    });
    afterEach(async () => {
      for (const store of opened) await store.close();
      await fixture.dispose();
    });

    /** Opens a copy and closes it after the test. */
    const open = async (copy = 'v1', projection = 'catalog', tables: ViewLayout = layout, from: ViewStorage = storage): Promise<ViewStore> => {
      const store = await from.open(projection, copy, tables);
      opened.push(store);
      return store;
    };
    const scanAll = async (store: ViewStore, table = 'products', limit = 7): Promise<Row[]> => {
      const all: Row[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.scan(table, { ...(after === undefined ? {} : { after }), limit });
        expect(page.length, 'a page holds at most `limit` rows').toBeLessThanOrEqual(limit);
        if (page.length === 0) return all;
        all.push(...page);
        // A scan that pages back to rows it returned would loop forever.
        expect(all.length, 'scan pages end: they do not repeat rows').toBeLessThanOrEqual(10_000);
        after = String(page.at(-1)?.['id'] ?? page.at(-1)?.['orderId']);
      }
    };

    test('a new copy has no checkpoint, rows, dead letters, parked events or audit', async () => {
      const store = await open();
      expect(await store.checkpoint()).toBeUndefined();
      expect(await store.get('products', 'p1')).toBeUndefined();
      expect(await store.scan('products')).toEqual([]);
      expect(await store.query('products', { index: 'category', value: 'tools' })).toEqual([]);
      expect(await store.deadLetters()).toEqual([]);
      expect(await store.parked()).toEqual([]);
      expect(await store.audit()).toEqual([]);
    });

    test('committed rows read back with get, scan and query', async () => {
      const store = await open();
      const rows: Product[] = [
        { id: 'p2', category: 'tools', name: 'Hammer', tags: ['steel'] },
        { id: 'p1', category: 'tools', name: 'Saw' },
        { id: 'p3', category: 'food', name: 'Bread' },
      ];
      await store.commit({ rows: [...rows.map(put), { table: 'orders', key: 'o1', row: { orderId: 'o1', total: 12.5 } }] }, cp('3'));
      expect(await store.get('products', 'p2')).toEqual(rows[0]);
      expect(await store.get('orders', 'o1')).toEqual({ orderId: 'o1', total: 12.5 });
      expect(await store.get('orders', 'p2'), 'tables do not share keys').toBeUndefined();
      expect(ids(await store.scan('products'))).toEqual(['p1', 'p2', 'p3']);
      expect(await store.query('products', { index: 'category', value: 'tools' })).toEqual([rows[1], rows[0]]);
      expect(ids(await store.query('products', { index: 'category', value: 'food' }))).toEqual(['p3']);
      expect(await store.query('products', { index: 'category', value: 'toys' })).toEqual([]);
      expect(await store.checkpoint()).toEqual(cp('3'));
    });

    test('puts and deletes in one commit apply in order: the last write per key wins', async () => {
      const store = await open();
      await store.commit({ rows: [put({ id: 'p1', name: 'old' }), put({ id: 'p2', name: 'gone' })] }, cp('2'));
      await store.commit(
        {
          rows: [
            put({ id: 'p1', name: 'first' }),
            del('p2'),
            put({ id: 'p3', name: 'short-lived' }),
            put({ id: 'p1', name: 'second' }),
            del('p3'),
            put({ id: 'p2', name: 'back' }),
            del('missing'),
          ],
        },
        cp('9'),
      );
      expect(await store.get('products', 'p1')).toEqual({ id: 'p1', name: 'second' });
      expect(await store.get('products', 'p2')).toEqual({ id: 'p2', name: 'back' });
      expect(await store.get('products', 'p3')).toBeUndefined();
      expect(ids(await store.scan('products'))).toEqual(['p1', 'p2']);
    });

    test('a query follows updates: a row no longer matches its old indexed value', async () => {
      const store = await open();
      await store.commit({ rows: [put({ id: 'p1', category: 'tools' }), put({ id: 'p2', category: 'tools' })] }, cp('2'));
      await store.commit({ rows: [put({ id: 'p1', category: 'garden' }), put({ id: 'p2' })] }, cp('3'));
      expect(await store.query('products', { index: 'category', value: 'tools' })).toEqual([]);
      expect(ids(await store.query('products', { index: 'category', value: 'garden' }))).toEqual(['p1']);
      await store.commit({ rows: [del('p1')] }, cp('4'));
      expect(await store.query('products', { index: 'category', value: 'garden' }), 'a deleted row matches nothing').toEqual([]);
    });

    test('booleans and numbers in indexed fields are queryable, and a string never equals a number', async () => {
      const store = await open();
      await store.commit(
        {
          rows: [
            put({ id: 'p1', inStock: true, price: 10 }),
            put({ id: 'p2', inStock: false, price: 0 }),
            put({ id: 'p3', inStock: true, price: 2.5 }),
            put({ id: 'p4', price: '10' }),
            put({ id: 'p5' }),
          ],
        },
        cp('5'),
      );
      expect(ids(await store.query('products', { index: 'inStock', value: true }))).toEqual(['p1', 'p3']);
      expect(ids(await store.query('products', { index: 'inStock', value: false }))).toEqual(['p2']);
      expect(ids(await store.query('products', { index: 'price', value: 10 }))).toEqual(['p1']);
      expect(ids(await store.query('products', { index: 'price', value: 0 }))).toEqual(['p2']);
      expect(ids(await store.query('products', { index: 'price', value: 2.5 }))).toEqual(['p3']);
      expect(ids(await store.query('products', { index: 'price', value: '10' }))).toEqual(['p4']);
      expect(await store.query('products', { index: 'price', value: '0' })).toEqual([]);
      await store.commit({ rows: [put({ id: 'p1', inStock: false, price: 11 })] }, cp('6'));
      expect(ids(await store.query('products', { index: 'inStock', value: true }))).toEqual(['p3']);
      expect(ids(await store.query('products', { index: 'inStock', value: false }))).toEqual(['p1', 'p2']);
    });

    test('a query returns rows in key order and honours its limit', async () => {
      const store = await open();
      const keys = ['m', 'c', 'x', 'a', 'q', 'f'];
      await store.commit({ rows: keys.map((id) => put({ id, category: 'tools' })) }, cp('1'));
      expect(ids(await store.query('products', { index: 'category', value: 'tools' }))).toEqual(['a', 'c', 'f', 'm', 'q', 'x']);
      expect(ids(await store.query('products', { index: 'category', value: 'tools', limit: 4 }))).toEqual(['a', 'c', 'f', 'm']);
    });

    test('scan pages through a table in key order with after and limit', async () => {
      const store = await open();
      const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, '0')}`);
      const shuffled = keys.map((k, i) => ({ k, sort: (i * 7) % 25 })).sort((a, b) => a.sort - b.sort).map(({ k }) => k);
      await store.commit({ rows: shuffled.map((id) => put({ id })) }, cp('25'));
      expect(ids(await scanAll(store))).toEqual(keys);
      expect(ids(await store.scan('products', { limit: 3 }))).toEqual(['k00', 'k01', 'k02']);
      expect(ids(await store.scan('products', { after: 'k05', limit: 2 }))).toEqual(['k06', 'k07']);
      expect(ids(await store.scan('products', { after: 'k05a', limit: 2 })), '`after` need not be a stored key').toEqual(['k06', 'k07']);
      expect(await store.scan('products', { after: 'k24' })).toEqual([]);
      expect(ids(await store.scan('products', { after: '' }))).toEqual(keys);
    });

    test('keys sort by code point, as SQLite sorts text', async () => {
      const store = await open();
      // UTF-16 order would put the emoji (a surrogate pair) before U+E000; code point order puts it last.
      const expected = ['B', 'a', 'a0', 'ab', 'b', '\u00e9', '\ue000', '\u{1F600}'];
      await store.commit({ rows: [...expected].reverse().map((id) => put({ id, category: 'c' })) }, cp('1'));
      expect(ids(await scanAll(store, 'products', 3))).toEqual(expected);
      expect(ids(await store.query('products', { index: 'category', value: 'c' }))).toEqual(expected);
      expect(ids(await store.scan('products', { after: '\ue000' }))).toEqual(['\u{1F600}']);
    });

    test('a row with a number key is stored under its decimal string', async () => {
      const store = await open();
      await store.commit({ rows: [{ table: 'orders', key: '42', row: { orderId: 42, total: 1 } }] }, cp('1'));
      expect(await store.get('orders', '42')).toEqual({ orderId: 42, total: 1 });
    });

    test('unknown tables, unindexed fields and bad limits are rejected with InvalidArgument', async () => {
      const store = await open();
      await rejectsWith(store.get('nope', 'p1'));
      await rejectsWith(store.scan('nope'));
      await rejectsWith(store.query('nope', { index: 'category', value: 'x' }));
      await rejectsWith(store.query('products', { index: 'name', value: 'x' }));
      await rejectsWith(store.query('orders', { index: 'orderId', value: 'x' }));
      await rejectsWith(store.scan('products', { limit: 0 }));
      await rejectsWith(store.scan('products', { limit: 1.5 }));
      await rejectsWith(store.query('products', { index: 'category', value: 'x', limit: -1 }));
      await rejectsWith(store.query('products', { index: 'price', value: Number.NaN }));
    });

    test('a commit naming an unknown table applies nothing: rows and checkpoint stay', async () => {
      const store = await open();
      await store.commit({ rows: [put({ id: 'p1', category: 'tools' })] }, cp('1', 1));
      await rejectsWith(
        store.commit(
          {
            rows: [put({ id: 'p2', category: 'tools' }), del('p1'), { table: 'nope', key: 'x', row: { id: 'x' } }],
            deadLetters: { add: [deadLetter('7')] },
            parked: { add: [parkedEvent('8', 'k1')] },
            audit: [{ at: '2024-05-01T10:00:00.000Z', position: '7', action: 'dead-lettered', detail: 'boom' }],
          },
          cp('9', 2),
        ),
      );
      expect(await store.get('products', 'p1')).toEqual({ id: 'p1', category: 'tools' });
      expect(await store.get('products', 'p2')).toBeUndefined();
      expect(ids(await store.query('products', { index: 'category', value: 'tools' }))).toEqual(['p1']);
      expect(ids(await store.scan('products'))).toEqual(['p1']);
      expect(await store.checkpoint()).toEqual(cp('1', 1));
      expect(await store.deadLetters()).toEqual([]);
      expect(await store.parked()).toEqual([]);
      expect(await store.audit()).toEqual([]);
    });

    test('a commit with a row missing its key applies nothing', async () => {
      const store = await open();
      await store.commit({ rows: [put({ id: 'p1' })] }, cp('1'));
      const noKey = { table: 'products', key: 'p3', row: { name: 'no id' } };
      await rejectsWith(store.commit({ rows: [del('p1'), put({ id: 'p2' }), noKey] }, cp('2')));
      const objectKey = { table: 'products', key: 'p3', row: { id: { nested: true } } };
      await rejectsWith(store.commit({ rows: [del('p1'), objectKey] }, cp('2')));
      const wrongKey = { table: 'products', key: 'p3', row: { id: 'p4' } };
      await rejectsWith(store.commit({ rows: [del('p1'), wrongKey] }, cp('2')));
      expect(ids(await store.scan('products'))).toEqual(['p1']);
      expect(await store.checkpoint()).toEqual(cp('1'));
    });

    test('a commit with a bad dead letter or checkpoint applies nothing', async () => {
      const store = await open();
      const noSubject = { ...deadLetter('3'), event: { ...envelope(3), subject: undefined } } as unknown as DeadLetter;
      await rejectsWith(store.commit({ rows: [put({ id: 'p1' })], deadLetters: { add: [noSubject] } }, cp('4')));
      await rejectsWith(store.commit({ rows: [put({ id: 'p1' })] }, { position: '4', version: 1.5 }));
      expect(await store.scan('products')).toEqual([]);
      expect(await store.checkpoint()).toBeUndefined();
      expect(await store.deadLetters()).toEqual([]);
    });

    test('the checkpoint round-trips and the last commit wins', async () => {
      const store = await open();
      await store.commit({ rows: [] }, cp('0', 1));
      expect(await store.checkpoint()).toEqual(cp('0', 1));
      await store.commit({ rows: [] }, cp('1234567', 3));
      expect(await store.checkpoint()).toEqual(cp('1234567', 3));
    });

    test('dead letters are added and removed by position, in position order', async () => {
      const store = await open();
      await store.commit({ rows: [], deadLetters: { add: [deadLetter('10'), deadLetter('9', 'k2', 'skipped'), deadLetter('100')] } }, cp('101'));
      expect(await store.deadLetters()).toEqual([deadLetter('9', 'k2', 'skipped'), deadLetter('10'), deadLetter('100')]);
      const retried = { ...deadLetter('10'), attempts: 4 };
      await store.commit({ rows: [], deadLetters: { add: [retried], remove: ['9', '55'] } }, cp('102'));
      expect(await store.deadLetters()).toEqual([retried, deadLetter('100')]);
      await store.commit({ rows: [], deadLetters: { remove: ['10', '100'] } }, cp('103'));
      expect(await store.deadLetters()).toEqual([]);
    });

    test('parked events are added and removed, listed per subject in position order', async () => {
      const store = await open();
      await store.commit({ rows: [], parked: { add: [parkedEvent('20', 'k1'), parkedEvent('3', 'k2'), parkedEvent('11', 'k1'), parkedEvent('9', 'k1')] } }, cp('21'));
      expect(await store.parked('k1')).toEqual([parkedEvent('9', 'k1'), parkedEvent('11', 'k1'), parkedEvent('20', 'k1')]);
      expect(await store.parked('k2')).toEqual([parkedEvent('3', 'k2')]);
      expect(await store.parked('k3')).toEqual([]);
      expect((await store.parked()).map((p) => p.position)).toEqual(['3', '9', '11', '20']);
      await store.commit({ rows: [], parked: { remove: ['9', '3'] } }, cp('22'));
      expect((await store.parked('k1')).map((p) => p.position)).toEqual(['11', '20']);
      expect(await store.parked('k2')).toEqual([]);
    });

    test('audit entries read back in the order they were committed', async () => {
      const store = await open();
      const entries = [
        { at: '2024-05-01T10:00:02.000Z', position: '7', action: 'dead-lettered', detail: 'boom' },
        { at: '2024-05-01T10:00:01.000Z', position: '3', action: 'parked', detail: 'behind 2' },
      ] as const;
      await store.commit({ rows: [], audit: entries }, cp('8'));
      await store.commit({ rows: [], audit: [{ at: '2024-05-01T09:00:00.000Z', position: '7', action: 'retried', detail: 'by ops' }] }, cp('9'));
      expect((await store.audit()).map((a) => a.action)).toEqual(['dead-lettered', 'parked', 'retried']);
      expect((await store.audit())[0]).toEqual(entries[0]);
    });

    test('stored rows do not change when the caller mutates passed or returned objects', async () => {
      const store = await open();
      const row = { id: 'p1', category: 'tools', tags: ['a'], dims: { w: 1 } };
      const letter = deadLetter('5');
      await store.commit({ rows: [{ table: 'products', key: 'p1', row }], deadLetters: { add: [letter] } }, cp('6'));
      row.category = 'food';
      row.tags.push('b');
      row.dims.w = 2;
      (letter.error as { message: string }).message = 'changed';
      expect(await store.get('products', 'p1')).toEqual({ id: 'p1', category: 'tools', tags: ['a'], dims: { w: 1 } });
      expect(ids(await store.query('products', { index: 'category', value: 'tools' }))).toEqual(['p1']);
      expect(await store.query('products', { index: 'category', value: 'food' })).toEqual([]);
      // A returned row is a copy (changing it is harmless) or frozen (changing it throws a TypeError).
      const mutate = (change: () => void) => {
        try {
          change();
        } catch (error) {
          expect(error).toBeInstanceOf(TypeError);
        }
      };
      const got = (await store.get('products', 'p1')) as { tags: string[] };
      mutate(() => got.tags.push('c'));
      const [scanned] = (await store.scan('products')) as { dims: { w: number } }[];
      mutate(() => (scanned!.dims.w = 3));
      expect(await store.get('products', 'p1')).toEqual({ id: 'p1', category: 'tools', tags: ['a'], dims: { w: 1 } });
      expect((await store.deadLetters())[0]?.error.message).toBe('failed at 5');
    });

    test('copies are independent', async () => {
      const v1 = await open('v1');
      const v2 = await open('v2');
      const other = await open('v1', 'orders-view');
      await v1.commit({ rows: [put({ id: 'p1', category: 'tools' })], deadLetters: { add: [deadLetter('1')] } }, cp('2'));
      await v2.commit({ rows: [put({ id: 'p2', category: 'tools' })] }, cp('5', 2));
      expect(ids(await v1.scan('products'))).toEqual(['p1']);
      expect(ids(await v2.query('products', { index: 'category', value: 'tools' }))).toEqual(['p2']);
      expect(await v2.deadLetters()).toEqual([]);
      expect(await v1.checkpoint()).toEqual(cp('2'));
      expect(await other.checkpoint()).toBeUndefined();
      expect(await other.scan('products')).toEqual([]);
    });

    test('two stores of one copy see each other\'s commits', async () => {
      const writer = await open('v1');
      const reader = await open('v1');
      await writer.commit({ rows: [put({ id: 'p1', category: 'tools' })] }, cp('1'));
      expect(ids(await reader.query('products', { index: 'category', value: 'tools' }))).toEqual(['p1']);
      expect(await reader.checkpoint()).toEqual(cp('1'));
      await reader.close();
      expect(await writer.get('products', 'p1'), 'closing one store leaves the other open').toBeDefined();
    });

    test('opening a copy with a new index indexes its existing rows', async () => {
      const narrow: ViewLayout = { products: { key: 'id', indexes: ['category'] } };
      const first = await open('v1', 'catalog', narrow);
      await first.commit({ rows: [put({ id: 'p1', category: 'tools', name: 'Saw' }), put({ id: 'p2', name: 'Saw' })] }, cp('2'));
      await rejectsWith(first.query('products', { index: 'name', value: 'Saw' }));
      await first.close();
      const wide = await open('v1', 'catalog', { products: { key: 'id', indexes: ['category', 'name'] } });
      expect(ids(await wide.query('products', { index: 'name', value: 'Saw' }))).toEqual(['p1', 'p2']);
      await wide.commit({ rows: [put({ id: 'p1', name: 'Axe' })] }, cp('3'));
      expect(ids(await wide.query('products', { index: 'name', value: 'Saw' }))).toEqual(['p2']);
      expect(await wide.checkpoint()).toEqual(cp('3'));
    });

    test('current is undefined until setCurrent, which switches per projection', async () => {
      await open('v1');
      await open('v2');
      await open('v1', 'orders-view');
      expect(await storage.current('catalog')).toBeUndefined();
      await storage.setCurrent('catalog', 'v1');
      expect(await storage.current('catalog')).toBe('v1');
      await storage.setCurrent('catalog', 'v2');
      expect(await storage.current('catalog')).toBe('v2');
      expect(await storage.current('orders-view')).toBeUndefined();
      await storage.setCurrent('orders-view', 'v1');
      expect(await storage.current('orders-view')).toBe('v1');
      expect(await storage.current('catalog')).toBe('v2');
    });

    test('setCurrent refuses a copy that was never opened', async () => {
      await rejectsWith(storage.setCurrent('catalog', 'v9'));
      expect(await storage.current('catalog')).toBeUndefined();
    });

    test('drop removes a copy and closes its stores: opening it again gives an empty store', async () => {
      const kept = await open('v1');
      const dropped = await open('v2');
      await kept.commit({ rows: [put({ id: 'p1' })] }, cp('1'));
      await dropped.commit({ rows: [put({ id: 'p2' })], deadLetters: { add: [deadLetter('1')] }, audit: [{ at: 'now', position: '1', action: 'dropped', detail: '' }] }, cp('2'));
      await storage.drop('catalog', 'v2');
      await rejectsWith(dropped.get('products', 'p2'), 'closed');
      const again = await open('v2');
      expect(await again.checkpoint()).toBeUndefined();
      expect(await again.scan('products')).toEqual([]);
      expect(await again.deadLetters()).toEqual([]);
      expect(await again.audit()).toEqual([]);
      expect(ids(await kept.scan('products')), 'other copies stay').toEqual(['p1']);
      await storage.drop('catalog', 'never-made');
    });

    test('drop refuses the copy that serves reads', async () => {
      const store = await open('v1');
      await store.commit({ rows: [put({ id: 'p1' })] }, cp('1'));
      await storage.setCurrent('catalog', 'v1');
      await rejectsWith(storage.drop('catalog', 'v1'));
      expect(ids(await store.scan('products'))).toEqual(['p1']);
    });

    test('a closed store refuses calls with InvalidArgument', async () => {
      const store = await open();
      await store.close();
      await rejectsWith(store.get('products', 'p1'), 'closed');
      await rejectsWith(store.query('products', { index: 'category', value: 'x' }), 'closed');
      await rejectsWith(store.scan('products'), 'closed');
      await rejectsWith(store.checkpoint(), 'closed');
      await rejectsWith(store.commit({ rows: [] }, cp('1')), 'closed');
      await rejectsWith(store.deadLetters(), 'closed');
      await rejectsWith(store.parked(), 'closed');
      await rejectsWith(store.audit(), 'closed');
      await expect(store.close(), 'close is idempotent').resolves.toBeUndefined();
    });

    test('bad projection, copy, table and field names are rejected', async () => {
      await rejectsWith(storage.open('../evil', 'v1', layout));
      await rejectsWith(storage.open('catalog', 'a/b', layout));
      await rejectsWith(storage.open('catalog', '', layout));
      await rejectsWith(storage.open('catalog', 'v1', { 'bad"name': { key: 'id', indexes: [] } }));
      await rejectsWith(storage.open('catalog', 'v1', { products: { key: 'id', indexes: ["a') --"] } }));
      await rejectsWith(storage.current('no/slash'));
      await rejectsWith(storage.setCurrent('catalog', '..'));
      await rejectsWith(storage.drop('catalog', '../v1'));
    });

    test('a commit of many rows reads back whole', async () => {
      const store = await open();
      const rows = Array.from({ length: 2500 }, (_, i) => put({ id: `p${String(i).padStart(5, '0')}`, category: i % 2 === 0 ? 'even' : 'odd', price: i }));
      await store.commit({ rows }, cp('2500'));
      const all = await scanAll(store, 'products', 1000);
      expect(all).toHaveLength(2500);
      expect(ids(all)).toEqual(rows.map((r) => r.key));
      expect(await store.query('products', { index: 'category', value: 'even' }), 'query returns 1000 rows by default').toHaveLength(1000);
      expect(ids(await store.query('products', { index: 'category', value: 'odd', limit: 5000 }))).toEqual(rows.filter((_, i) => i % 2 === 1).map((r) => r.key));
      expect(ids(await store.query('products', { index: 'price', value: 1234 }))).toEqual(['p01234']);
    });

    test('reopened storage keeps committed data and the current copy', async () => {
      if (!fixture.reopen) throw new Error('This adapter has no reopen: skip this case with a reason.');
      const store = await open('v1');
      await store.commit(
        { rows: [put({ id: 'p1', category: 'tools' })], deadLetters: { add: [deadLetter('4')] }, parked: { add: [parkedEvent('5', 'k1')] }, audit: [{ at: 'now', position: '4', action: 'dead-lettered', detail: 'x' }] },
        cp('6', 2),
      );
      await storage.setCurrent('catalog', 'v1');
      await store.close();
      const again = await fixture.reopen();
      expect(await again.current('catalog')).toBe('v1');
      const reopened = await open('v1', 'catalog', layout, again);
      expect(await reopened.checkpoint()).toEqual(cp('6', 2));
      expect(ids(await reopened.query('products', { index: 'category', value: 'tools' }))).toEqual(['p1']);
      expect(await reopened.deadLetters()).toEqual([deadLetter('4')]);
      expect(await reopened.parked('k1')).toEqual([parkedEvent('5', 'k1')]);
      expect((await reopened.audit()).map((a) => a.action)).toEqual(['dead-lettered']);
    });
  });
}
