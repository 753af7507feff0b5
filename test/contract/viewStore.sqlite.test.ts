import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteViewStorage } from '../../src/views/sqlite/index.ts';
import type { ViewStorage, ViewStore } from '../../src/views/viewStore.ts';
import { readmeBlocks } from '../support/project.ts';
import { tempDir } from '../support/tempDir.ts';
import { envelope } from '../support/events.ts';
import { describeViewStoreContract } from './viewStore.contract.ts';

describeViewStoreContract('sqlite', {
  create: async () => {
    const { dir, remove } = await tempDir('unilog-views-');
    return { storage: openSqliteViewStorage({ dir }), reopen: () => Promise.resolve(openSqliteViewStorage({ dir })), dispose: remove };
  },
});

/** Splits a block of SQL into statements (one per line ending in `;`), with `--` comment lines dropped. */
const statements = (sql: string): string[] =>
  sql
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('--'))
    .map((line) => line.replace(/;$/, ''));

describe('SQLite view storage', () => {
  let dir: string;
  let remove: () => Promise<void>;
  let storage: ViewStorage;
  let store: ViewStore;
  const plain: Database.Database[] = [];
  const layout = { products: { key: 'id', indexes: ['category', 'inStock'] } };
  beforeEach(async () => {
    ({ dir, remove } = await tempDir('unilog-views-'));
    storage = openSqliteViewStorage({ dir });
    store = await storage.open('product-catalog', 'v1', layout);
  });
  afterEach(async () => {
    for (const db of plain.splice(0)) db.close();
    await store.close();
    await remove();
  });
  /** A plain better-sqlite3 connection, as any other program would open the view. */
  const connect = (copy = 'v1', options: Database.Options = { readonly: true }) => {
    const db = new Database(path.join(dir, 'product-catalog', `${copy}.sqlite`), options);
    plain.push(db);
    return db;
  };

  it('lays out files as documented: a folder per projection, a file per copy, CURRENT naming the current copy', async () => {
    await store.commit({ rows: [] }, { position: '0', version: 1 });
    await storage.setCurrent('product-catalog', 'v1');
    expect(readFileSync(path.join(dir, 'product-catalog', 'CURRENT'), 'utf8')).toBe('v1\n');
    expect(readdirSync(path.join(dir, 'product-catalog')).filter((f) => !f.includes('.sqlite-')).sort()).toEqual(['CURRENT', 'v1.sqlite']);
    const v2 = await storage.open('product-catalog', 'v2', layout);
    await v2.commit({ rows: [] }, { position: '0', version: 2 });
    expect(existsSync(path.join(dir, 'product-catalog', 'v2.sqlite-wal')), 'an open copy has its WAL').toBe(true);
    await storage.drop('product-catalog', 'v2');
    expect(readdirSync(path.join(dir, 'product-catalog')).filter((f) => f.startsWith('v2')), 'drop deletes the database, its WAL and shared memory').toEqual([]);
  });

  it('has exactly the schema docs/view-tables.md shows', async () => {
    const blocks = await readmeBlocks('docs/view-tables.md');
    const documented = statements(blocks.get('schema.sql') ?? '');
    expect(documented.length, 'the doc has a schema block').toBeGreaterThanOrEqual(8);
    const actual = connect()
      .prepare<[], string>("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .pluck()
      .all();
    expect([...documented].sort()).toEqual([...actual].sort());
  });

  it('answers the queries of docs/view-tables.md from a plain better-sqlite3 connection, using the index', async () => {
    await store.commit(
      {
        rows: [
          { table: 'products', key: 'p2', row: { id: 'p2', name: 'Saw', category: 'tools', inStock: false } },
          { table: 'products', key: 'p1', row: { id: 'p1', name: 'Hammer', category: 'tools', inStock: true } },
          { table: 'products', key: 'p3', row: { id: 'p3', name: 'Bread', category: 'food', inStock: true } },
        ],
        deadLetters: { add: [{ position: '7', event: envelope(7, 'p9'), error: { message: 'boom', name: 'Error' }, attempts: 3, at: '2024-05-01T10:00:00.000Z', mode: 'parked' }] },
      },
      { position: '8', version: 2 },
    );
    const db = connect();
    const queries = statements((await readmeBlocks('docs/view-tables.md')).get('queries.sql') ?? '');
    const results = queries.map((sql) => db.prepare(sql).all());
    expect(results).toEqual([
      [{ key: 'p1', name: 'Hammer' }, { key: 'p2', name: 'Saw' }],
      [{ n: 2 }],
      [{ data: JSON.stringify({ id: 'p1', name: 'Hammer', category: 'tools', inStock: true }) }],
      [{ position: '8', version: 2 }],
      [{ position: 7, subject: 'p9', error: 'boom', mode: 'parked' }],
    ]);
    const plan = db.prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${queries[0] ?? ''}`).all();
    expect(plan.map((p) => p.detail).join('\n')).toContain('INDEX products__category');
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('a reader sees whole commits only, while the writer keeps committing', async () => {
    const db = connect();
    const count = db.prepare<[], number>('SELECT count(*) FROM products').pluck();
    const position = db.prepare<[], string>('SELECT position FROM _unilog_checkpoint').pluck();
    for (let batch = 1; batch <= 20; batch++) {
      const rows = Array.from({ length: 50 }, (_, i) => ({ table: 'products', key: `p${batch}-${i}`, row: { id: `p${batch}-${i}` } }));
      await store.commit({ rows }, { position: String(batch * 50), version: 1 });
      // Read in one snapshot: the row count and checkpoint always agree.
      const [n, at] = db.transaction(() => [count.get(), position.get()])();
      expect(n).toBe(Number(at));
    }
  });

  it('rolls back every change of a commit that fails inside SQLite', async () => {
    await store.commit({ rows: [{ table: 'products', key: 'p1', row: { id: 'p1', category: 'tools' } }] }, { position: '1', version: 1 });
    // A trigger makes the checkpoint write (the last statement of a commit) fail after every other change was written.
    connect('v1', {}).exec("CREATE TRIGGER fail_checkpoint BEFORE INSERT ON _unilog_checkpoint WHEN NEW.position = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END");
    await expect(
      store.commit(
        {
          rows: [{ table: 'products', key: 'p2', row: { id: 'p2', category: 'tools' } }, { table: 'products', key: 'p1', row: null }],
          deadLetters: { add: [{ position: '1', event: envelope(1), error: { message: 'x', name: 'Error' }, attempts: 1, at: 'now', mode: 'skipped' }] },
          parked: { add: [{ position: '2', event: envelope(2) }] },
          audit: [{ at: 'now', position: '1', action: 'dead-lettered', detail: 'x' }],
        },
        { position: 'boom', version: 1 },
      ),
    ).rejects.toThrow('boom');
    expect(await store.get('products', 'p1')).toEqual({ id: 'p1', category: 'tools' });
    expect(await store.get('products', 'p2')).toBeUndefined();
    expect((await store.query('products', { index: 'category', value: 'tools' })).map((r) => r['id'])).toEqual(['p1']);
    expect(await store.deadLetters()).toEqual([]);
    expect(await store.parked()).toEqual([]);
    expect(await store.audit()).toEqual([]);
    expect(await store.checkpoint()).toEqual({ position: '1', version: 1 });
  });

  it('rejects positions that are not those of an embedded log in dead letters and parked events', async () => {
    const bad = { position: 'shard-1:42', event: envelope(1) };
    await expect(store.commit({ rows: [], parked: { add: [bad] } }, { position: '1', version: 1 })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(store.commit({ rows: [], parked: { remove: ['01'] } }, { position: '1', version: 1 })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});
