import { UnilogError } from '../errors.ts';
import type { Row, ViewLayout, ViewStore } from '../views/viewStore.ts';
import { deepFreeze, type RowCache } from './rowCache.ts';

/** A row write pending in a batch: the row, or null for a delete. */
type Pending = Map<string, Row | null>;

/**
 * The writes of one batch, layered over the store: handlers read their own and earlier events' writes.
 * An event's writes go straight into the batch, with an undo record each, so that a failed or retried handler
 * leaves nothing behind (`rollbackEvent`) and a successful one costs no merge (`commitEvent`).
 */
export class BatchTransaction {
  private readonly batch = new Map<string, Pending>();
  // The current event's undo records, as parallel arrays: the table's rows, the key, and what was there before.
  // The first `undoCount` entries count; the arrays are reused rather than cleared for every event.
  private readonly undoRows: Pending[] = [];
  private readonly undoKeys: string[] = [];
  private readonly undoPrevious: (Row | null | undefined)[] = [];
  private undoCount = 0;

  constructor(
    private readonly store: ViewStore,
    private readonly layout: ViewLayout,
    private readonly cache: RowCache,
  ) {}

  /** Starts a new event: its writes can be undone until `commitEvent`. */
  beginEvent(): void {
    this.undoCount = 0;
  }

  /** Keeps the current event's writes. */
  commitEvent(): void {
    this.beginEvent();
  }

  /** Undoes the current event's writes, newest first. */
  rollbackEvent(): void {
    for (let i = this.undoCount - 1; i >= 0; i--) {
      const rows = this.undoRows[i] as Pending;
      const previous = this.undoPrevious[i];
      if (previous === undefined) rows.delete(this.undoKeys[i] as string);
      else rows.set(this.undoKeys[i] as string, previous);
    }
    this.beginEvent();
  }

  /** After the batch committed: its rows are what the store now holds. */
  committed(): void {
    for (const [table, rows] of this.batch) for (const [key, row] of rows) this.cache.set(table, key, row);
  }

  /** The batch's row changes, for `ViewStore.commit`. */
  changes(): { table: string; key: string; row: Row | null }[] {
    const out: { table: string; key: string; row: Row | null }[] = [];
    for (const [table, rows] of this.batch) for (const [key, row] of rows) out.push({ table, key, row });
    return out;
  }

  /** The view as a handler sees it: one object per table with get, query, put and delete. */
  view(): Record<string, unknown> {
    const view: Record<string, unknown> = {};
    for (const table of Object.keys(this.layout)) view[table] = this.table(table);
    return view;
  }

  private pending(table: string, key: string): Row | null | undefined {
    return this.batch.get(table)?.get(key);
  }

  private table(table: string) {
    const layout = this.layout[table];
    if (!layout) throw new UnilogError('InvalidArgument', `No table ${table} in this view.`, { argument: 'table', reason: 'unknown table' });
    // The table's pending rows, made up front: every get and put of the batch looks here first.
    const rows = new Map<string, Row | null>();
    this.batch.set(table, rows);
    const write = (key: string, row: Row | null) => {
      const i = this.undoCount++;
      this.undoRows[i] = rows;
      this.undoKeys[i] = key;
      this.undoPrevious[i] = rows.get(key);
      rows.set(key, row);
    };
    return {
      get: async (key: string): Promise<Row | undefined> => {
        const pending = rows.get(key);
        if (pending !== undefined) return pending ?? undefined;
        const cached = this.cache.get(table, key);
        if (cached !== undefined) return cached ?? undefined;
        const stored = await this.store.get(table, key);
        this.cache.set(table, key, stored ?? null);
        return stored;
      },
      query: async (field: string, value: string | number | boolean): Promise<Row[]> => {
        const stored = await this.store.query(table, { index: field, value, limit: Number.MAX_SAFE_INTEGER });
        // Pending writes win over stored rows: drop stored rows they replace, add pending rows that match.
        const result = new Map<string, Row>();
        for (const row of stored) {
          const key = String(row[layout.key]);
          if (this.pending(table, key) === undefined) result.set(key, row);
        }
        for (const [key, row] of this.batch.get(table) ?? []) {
          if (row && row[field] === value) result.set(key, row);
          else result.delete(key);
        }
        return [...result.values()];
      },
      put: (row: Row): void => {
        const key = row[layout.key];
        if (typeof key !== 'string' && typeof key !== 'number') {
          throw new UnilogError('InvalidArgument', `A ${table} row needs its key field ${layout.key} as a string or number.`, { argument: `${table}.${layout.key}`, reason: 'missing key' });
        }
        // Frozen, not copied: a handler that changed the row after writing it, or after a failed try, would make the
        // view depend on more than the events. Build a new row instead (`{ ...row, field }`).
        write(String(key), deepFreeze(row));
      },
      delete: (key: string): void => {
        write(key, null);
      },
    };
  }
}
