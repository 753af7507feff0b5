import type { Row } from '../views/viewStore.ts';

/** Freezes a row and everything in it, so that a cached row cannot be changed behind the store's back. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Rows the consumer has read or committed, by table and key (null: known to be absent). A consumer is the only
 * writer of its view copy, so rows it committed are what the store holds: reads need not go back to the store.
 * Bounded: past `maxRows` the oldest entries of a table are forgotten.
 */
export class RowCache {
  private readonly tables = new Map<string, Map<string, Row | null>>();
  private size = 0;

  constructor(private readonly maxRows = 200_000) {}

  get(table: string, key: string): Row | null | undefined {
    return this.tables.get(table)?.get(key);
  }

  /** Remembers a row (frozen) or its absence. */
  set(table: string, key: string, row: Row | null): void {
    let rows = this.tables.get(table);
    if (!rows) this.tables.set(table, (rows = new Map<string, Row | null>()));
    if (!rows.has(key)) this.size++;
    rows.set(key, row === null ? null : deepFreeze(row));
    if (this.size > this.maxRows) {
      const oldest = rows.keys().next().value;
      if (oldest !== undefined && oldest !== key) {
        rows.delete(oldest);
        this.size--;
      }
    }
  }

  clear(): void {
    this.tables.clear();
    this.size = 0;
  }
}
