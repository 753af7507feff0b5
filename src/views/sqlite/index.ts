/**
 * View storage in SQLite files: one folder per projection, one database per copy, and a CURRENT file naming the
 * copy that serves reads. Views are plain SQLite tables that any SQLite client can query.
 * @see docs/view-tables.md
 * @module
 */
import { access, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { ViewStorage, ViewStore } from '../viewStore.ts';
import { checkLayout, checkName, invalid } from '../viewChecks.ts';
import { openSqliteViewStore } from './sqliteViewStore.ts';

/** Options of {@link openSqliteViewStorage}. */
export interface SqliteViewStorageOptions {
  /** The folder holding one subfolder per projection, e.g. `.unilog/views`; created when needed. */
  readonly dir: string;
  /** How long a statement waits for another connection's lock before failing, in milliseconds. @default 5000 */
  readonly busyTimeoutMs?: number;
}

const currentFile = 'CURRENT';

/** Makes a directory's entries (created, renamed or deleted files) durable. */
async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const exists = (file: string): Promise<boolean> =>
  access(file).then(
    () => true,
    (error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    },
  );

// better-sqlite3 is a native module: loaded on the first open, so importing unilog costs nothing without SQLite views.
let driver: Promise<typeof BetterSqlite3> | undefined;
const loadDriver = () => (driver ??= import('better-sqlite3').then((m) => m.default));

/**
 * View storage in SQLite: `<dir>/<projection>/<copy>.sqlite` per copy and `<dir>/<projection>/CURRENT` naming the
 * copy that serves reads. Commits are durable when they resolve (WAL, `synchronous = FULL`); other processes may read
 * while one writes.
 * @example
 * const storage = openSqliteViewStorage({ dir: '.unilog/views' });
 * const view = await storage.open('product-catalog', 'v1', { products: { key: 'id', indexes: ['category'] } });
 * @see docs/view-tables.md
 */
export function openSqliteViewStorage(options: SqliteViewStorageOptions): ViewStorage {
  const root = path.resolve(options.dir);
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  /** Open stores by `projection/copy`, so that `drop` can close them. */
  const stores = new Map<string, Set<ViewStore>>();
  const folderOf = (projection: string) => path.join(root, checkName('projection', projection));
  const fileOf = (projection: string, copy: string) => path.join(folderOf(projection), `${checkName('copy', copy)}.sqlite`);

  const current = async (projection: string): Promise<string | undefined> => {
    try {
      const name = (await readFile(path.join(folderOf(projection), currentFile), 'utf8')).trim();
      return name === '' ? undefined : name;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };

  return {
    async open(projection, copy, layout) {
      const file = fileOf(projection, copy);
      checkLayout(layout);
      const folder = path.dirname(file);
      const created = await mkdir(folder, { recursive: true });
      const isNew = !(await exists(file));
      const Database = await loadDriver();
      const where = `${projection}/${copy}`;
      const store = openSqliteViewStore(Database, {
        file,
        layout,
        where,
        busyTimeoutMs,
        onClose: () => {
          const siblings = stores.get(where);
          siblings?.delete(store);
          if (siblings?.size === 0) stores.delete(where);
        },
      });
      stores.set(where, (stores.get(where) ?? new Set()).add(store));
      if (isNew) {
        // A committed checkpoint must survive power loss, so the new file's name must too, and the new folders' names.
        const synced = [folder];
        if (created !== undefined) for (let dir = folder; dir !== path.dirname(created); ) synced.push((dir = path.dirname(dir)));
        for (const dir of synced) await fsyncDirectory(dir);
      }
      return store;
    },
    current,
    async setCurrent(projection, copy) {
      const file = fileOf(projection, copy);
      if (!(await exists(file))) throw invalid('copy', `${projection}/${copy} does not exist`, 'Open (and build) the copy before it serves reads.');
      const folder = path.dirname(file);
      // Written aside, synced and renamed over CURRENT: readers see the old name or the new one, never half of it.
      const temp = path.join(folder, `${currentFile}.${process.pid}.tmp`);
      const handle = await open(temp, 'w');
      try {
        await handle.writeFile(`${copy}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path.join(folder, currentFile));
      await fsyncDirectory(folder);
    },
    async drop(projection, copy) {
      const file = fileOf(projection, copy);
      if ((await current(projection)) === copy) throw invalid('copy', `${projection}/${copy} serves reads`, 'Make another copy current before dropping this one.');
      for (const store of [...(stores.get(`${projection}/${copy}`) ?? [])]) await store.close();
      for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(`${file}${suffix}`, { force: true });
      if (await exists(path.dirname(file))) await fsyncDirectory(path.dirname(file));
    },
  };
}
