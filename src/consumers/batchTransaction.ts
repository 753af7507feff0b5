import { UnilogError } from '../errors.ts';
import type { Row, ViewLayout, ViewStore } from '../views/viewStore.ts';

/** A row write pending in a batch: the row, or null for a delete. */
type Pending = Map<string, Row | null>;

/**
 * The writes of one batch, layered over the store: handlers read their own and earlier events' writes.
 * Each event writes into its own layer first, merged into the batch only when its handler succeeds, so a
 * failed or retried handler leaves nothing behind.
 */
export class BatchTransaction {
  private readonly batch = new Map<string, Pending>();
  private event = new Map<string, Pending>();

  constructor(
    private readonly store: ViewStore,
    private readonly layout: ViewLayout,
  ) {}

  /** Starts a new event's layer, dropping an unfinished one. */
  beginEvent(): void {
    this.event = new Map();
  }

  /** Keeps the current event's writes. */
  commitEvent(): void {
    for (const [table, rows] of this.event) {
      let target = this.batch.get(table);
      if (!target) this.batch.set(table, (target = new Map<string, Row | null>()));
      for (const [key, row] of rows) target.set(key, row);
    }
    this.event = new Map();
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
    const own = this.event.get(table)?.get(key);
    if (own !== undefined) return own;
    return this.batch.get(table)?.get(key);
  }

  private table(table: string) {
    const layout = this.layout[table];
    if (!layout) throw new UnilogError('InvalidArgument', `No table ${table} in this view.`, { argument: 'table', reason: 'unknown table' });
    const write = (key: string, row: Row | null) => {
      let rows = this.event.get(table);
      if (!rows) this.event.set(table, (rows = new Map<string, Row | null>()));
      rows.set(key, row);
    };
    return {
      get: async (key: string): Promise<Row | undefined> => {
        const pending = this.pending(table, key);
        if (pending !== undefined) return pending ?? undefined;
        return this.store.get(table, key);
      },
      query: async (field: string, value: string | number | boolean): Promise<Row[]> => {
        const stored = await this.store.query(table, { index: field, value, limit: Number.MAX_SAFE_INTEGER });
        // Pending writes win over stored rows: drop stored rows they replace, add pending rows that match.
        const result = new Map<string, Row>();
        for (const row of stored) {
          const key = String(row[layout.key]);
          if (this.pending(table, key) === undefined) result.set(key, row);
        }
        for (const layer of [this.batch.get(table), this.event.get(table)]) {
          for (const [key, row] of layer ?? []) {
            if (row && row[field] === value) result.set(key, row);
            else result.delete(key);
          }
        }
        return [...result.values()];
      },
      put: (row: Row): void => {
        const key = row[layout.key];
        if (typeof key !== 'string' && typeof key !== 'number') {
          throw new UnilogError('InvalidArgument', `A ${table} row needs its key field ${layout.key} as a string or number.`, { argument: `${table}.${layout.key}`, reason: 'missing key' });
        }
        // Not copied here: the store copies rows as it commits them, and one copy per write is enough.
        write(String(key), row);
      },
      delete: (key: string): void => {
        write(key, null);
      },
    };
  }
}
