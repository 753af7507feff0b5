/**
 * View storage held in memory: for tests and short-lived tools; nothing survives the process.
 * @module
 */
import type { Position } from '../../log/eventLog.ts';
import type { Checkpoint, DeadLetter, DeadLetterAudit, ParkedEvent, Row, TableLayout, ViewChanges, ViewStorage, ViewStore } from '../viewStore.ts';
import { checkLayout, checkLetterChanges, checkName, checkPositionText as checkPosition, indexValue, invalid, parseLimit, toJson } from '../viewChecks.ts';

/** A stored row, updated in place by later commits of its key. */
interface StoredRow {
  /** A deep-frozen plain JSON copy of the committed row: reads return it as it is. */
  row: Row;
  /** The index keys of the row's indexed fields, by position in {@link TableData.fields} (undefined: not indexed). */
  indexKeys: (string | undefined)[];
}

/** Field index: index key of a value → keys of the rows holding it. */
type FieldIndex = Map<string, Set<string>>;

interface TableData {
  key: string;
  readonly rows: Map<string, StoredRow>;
  /** The indexed fields, in the order of each row's `indexKeys`; only ever grows. */
  readonly fields: string[];
  /** The index of each field of {@link fields}, at the same position. */
  readonly fieldIndexes: FieldIndex[];
  /** Field → its index: what `query` looks up. */
  readonly indexes: Map<string, FieldIndex>;
  /** Every key in scan order, rebuilt after a commit adds or removes a key. */
  sorted: string[] | undefined;
}

interface CopyData {
  readonly tables: Map<string, TableData>;
  checkpoint: Checkpoint | undefined;
  readonly deadLetters: Map<Position, string>;
  readonly parked: Map<Position, { readonly subject: string; readonly json: string }>;
  readonly audit: string[];
  /** Stores open on this copy: `drop` closes them. */
  readonly stores: Set<() => void>;
}

const decimalPattern = /^(0|[1-9][0-9]*)$/;


// Surrogates encode code points above U+FFFF: rank them after U+E000–U+FFFF, so keys sort by code point (UTF-8 byte order, as SQLite sorts TEXT).
const rank = (unit: number): number => (unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit);

/** Compares keys by code point. */
function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/** Decimal positions (embedded logs) compare as numbers; others by code point. */
function comparePositions(a: string, b: string): number {
  if (a.length !== b.length && decimalPattern.test(a) && decimalPattern.test(b)) return a.length - b.length;
  return compareKeys(a, b);
}




/** A rejection with what was thrown, as it is (the checks throw UnilogErrors; a caller's getter may throw anything). */
function rejected(error: unknown): Promise<never> {
  const reason = error as Error;
  return Promise.reject(reason);
}

/** Runs `fn` and returns its result as a promise; a throw becomes a rejection. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return rejected(error);
  }
}

/** Freezes a freshly parsed JSON value and everything in it (without recursion: parsed JSON can nest deeply). */
function deepFreeze(value: object): void {
  const pending: object[] = [value];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    Object.freeze(next);
    // Parsed JSON holds plain objects and arrays only: their own values are all there is.
    for (const child of Object.values(next) as unknown[]) if (typeof child === 'object' && child !== null) pending.push(child);
  }
}

/** What {@link plainCopy} gives for a value it leaves to a JSON round trip. */
const notPlain = Symbol('not plain JSON');
/** Deeper values are left to a JSON round trip (which also reports cycles). */
const plainCopyDepth = 64;
// Node 21+ (JSON.rawJSON): raw JSON objects serialize as their text.
const isRawJson = (JSON as { isRawJSON?: (value: unknown) => boolean }).isRawJSON;

/**
 * A deep-frozen copy of `value` exactly as `JSON.parse(JSON.stringify(value))` gives it, without the text: undefined,
 * functions and symbols are left out of objects and are null in arrays, non-finite numbers are null, -0 is 0.
 * Gives `notPlain` for anything a round trip treats specially (toJSON, class instances, boxed primitives, dates, maps,
 * bigints, a `__proto__` key, raw JSON, deep nesting); undefined for a value JSON leaves out.
 */
function plainCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : null;
    case 'object': {
      if (value === null) return null;
      if (depth >= plainCopyDepth || 'toJSON' in value) return notPlain;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return notPlain;
        const items: unknown[] = value;
        const length = items.length;
        const copy = new Array<unknown>(length);
        for (let i = 0; i < length; i++) {
          const item = plainCopy(items[i], depth + 1);
          if (item === notPlain) return notPlain;
          copy[i] = item === undefined ? null : item;
        }
        return Object.freeze(copy);
      }
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && (prototype !== null || isRawJson?.(value) === true)) return notPlain;
      const copy: Record<string, unknown> = {};
      for (const key in value) {
        // JSON takes own enumerable string keys, in the order for-in gives them; JSON.parse makes `__proto__` an own key.
        if (!Object.hasOwn(value, key)) continue;
        if (key === '__proto__') return notPlain;
        const item = plainCopy((value as Record<string, unknown>)[key], depth + 1);
        if (item === notPlain) return notPlain;
        if (item !== undefined) copy[key] = item;
      }
      return Object.freeze(copy);
    }
    case 'undefined':
    case 'symbol':
      return undefined;
    case 'function':
      return 'toJSON' in value ? notPlain : undefined;
    default:
      // bigint: JSON refuses it (unless BigInt.prototype.toJSON is set).
      return notPlain;
  }
}

/** A deep-frozen plain JSON copy of a row, or `InvalidArgument` when it is not JSON. */
function copyRow(row: object): unknown {
  let copy: unknown;
  try {
    copy = plainCopy(row, 0);
  } catch {
    // A throwing getter: the round trip below throws it again, as InvalidArgument.
    copy = notPlain;
  }
  if (copy !== notPlain) return copy;
  copy = JSON.parse(toJson('changes.rows', row));
  if (typeof copy === 'object' && copy !== null) deepFreeze(copy);
  return copy;
}

function emptyTable(layout: TableLayout): TableData {
  return { key: layout.key, rows: new Map(), fields: [], fieldIndexes: [], indexes: new Map(), sorted: undefined };
}

function addToIndex(index: FieldIndex, value: string, key: string): void {
  const keys = index.get(value);
  if (keys) keys.add(key);
  else index.set(value, new Set([key]));
}

function removeFromIndex(index: FieldIndex, value: string, key: string): void {
  const keys = index.get(value);
  if (!keys) return;
  keys.delete(key);
  if (keys.size === 0) index.delete(value);
}

/** Makes `table` follow `layout`: a new key field is taken as given, a new index is built from the stored rows. */
function applyLayout(table: TableData, layout: TableLayout): void {
  table.key = layout.key;
  for (const field of layout.indexes) {
    if (table.indexes.has(field)) continue;
    const index: FieldIndex = new Map();
    table.fields.push(field);
    table.fieldIndexes.push(index);
    table.indexes.set(field, index);
    for (const [key, stored] of table.rows) {
      const value = indexValue(stored.row[field]);
      // A new array: rows of a table without indexes share one empty array.
      stored.indexKeys = [...stored.indexKeys, value];
      if (value !== undefined) addToIndex(index, value, key);
    }
  }
}

const noIndexKeys: (string | undefined)[] = [];

/** Stores a row under a new key, indexing it. */
function insertRow(table: TableData, key: string, row: Row): void {
  const { fields, fieldIndexes } = table;
  const count = fields.length;
  const indexKeys = count === 0 ? noIndexKeys : new Array<string | undefined>(count);
  for (let i = 0; i < count; i++) {
    const value = indexValue(row[fields[i] as string]);
    indexKeys[i] = value;
    if (value !== undefined) addToIndex(fieldIndexes[i] as FieldIndex, value, key);
  }
  table.rows.set(key, { row, indexKeys });
  table.sorted = undefined;
}

/** Replaces a stored row, moving its key only in the indexes whose value changed. */
function updateRow(table: TableData, key: string, stored: StoredRow, row: Row): void {
  const { fields, fieldIndexes } = table;
  const old = stored.row;
  const { indexKeys } = stored;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as string;
    const value = row[field];
    // The same primitive has the same index key (objects are fresh copies, so they are compared by index key).
    if (value === old[field]) continue;
    const next = indexValue(value);
    const previous = indexKeys[i];
    if (next === previous) continue;
    const index = fieldIndexes[i] as FieldIndex;
    if (previous !== undefined) removeFromIndex(index, previous, key);
    if (next !== undefined) addToIndex(index, next, key);
    indexKeys[i] = next;
  }
  stored.row = row;
}

/** Removes a stored row from the table and its indexes. */
function deleteRow(table: TableData, key: string, stored: StoredRow): void {
  const { fieldIndexes } = table;
  const { indexKeys } = stored;
  for (let i = 0; i < indexKeys.length; i++) {
    const value = indexKeys[i];
    if (value !== undefined) removeFromIndex(fieldIndexes[i] as FieldIndex, value, key);
  }
  table.rows.delete(key);
  table.sorted = undefined;
}

/** Checked row changes, in parallel arrays (no object per change): `rows[i]` is null for a delete. */
interface RowOps {
  readonly tables: TableData[];
  readonly keys: string[];
  readonly rows: (Row | null)[];
}

/**
 * Checks every change and copies its row (as a JSON round trip would: plain JSON, nothing shared with the caller),
 * deep-frozen, so that applying cannot fail halfway.
 */
function prepareRows(data: CopyData, changes: ViewChanges['rows'], where: string): RowOps {
  // Untyped callers exist; checking an `unknown` alias keeps `changes` typed below (Array.isArray would make it any[]).
  const list: unknown = changes;
  if (!Array.isArray(list)) throw invalid('changes.rows', 'it is not an array', 'Pass the rows to write.');
  const count = changes.length;
  const ops: RowOps = { tables: new Array<TableData>(count), keys: new Array<string>(count), rows: new Array<Row | null>(count) };
  for (let i = 0; i < count; i++) {
    const { table: name, key, row } = changes[i] as ViewChanges['rows'][number];
    const table = data.tables.get(name);
    if (!table) throw invalid('changes.rows', `${where} has no table ${JSON.stringify(name)}`, `Use one of: ${[...data.tables.keys()].join(', ') || '(none)'}.`);
    if (typeof key !== 'string') throw invalid('changes.rows', `change ${i} has no string key`, 'Pass each row\'s key as a string.');
    ops.tables[i] = table;
    ops.keys[i] = key;
    if (row === null) {
      ops.rows[i] = null;
      continue;
    }
    if (typeof row !== 'object' || Array.isArray(row)) throw invalid('changes.rows', `change ${i} is not an object row`, 'Rows are JSON objects.');
    const rowKey = row[table.key];
    if (!(typeof rowKey === 'string' || (typeof rowKey === 'number' && Number.isFinite(rowKey)))) {
      throw invalid('changes.rows', `a row of ${name} has no string or number ${JSON.stringify(table.key)} field`, `Set the row's ${table.key}.`);
    }
    if (String(rowKey) !== key) throw invalid('changes.rows', `change ${i} has key ${JSON.stringify(key)} but its row's ${table.key} is ${JSON.stringify(rowKey)}`, 'Pass the row\'s own key.');
    const copy = copyRow(row);
    // A toJSON method can turn a row into something else: only objects can be indexed and read back as rows.
    if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) throw invalid('changes.rows', `change ${i} is not an object row as JSON`, 'Rows are JSON objects.');
    ops.rows[i] = copy as Row;
  }
  return ops;
}

function openMemoryViewStore(data: CopyData, where: string): ViewStore {
  let closed = false;
  const close = () => {
    closed = true;
    data.stores.delete(close);
  };
  data.stores.add(close);

  const tableOf = (name: string): TableData => {
    if (closed) throw invalid('store', 'closed', `The view ${where} is closed: open it again.`);
    const table = data.tables.get(name);
    if (!table) throw invalid('table', `${where} has no table ${JSON.stringify(name)}`, `Use one of: ${[...data.tables.keys()].join(', ') || '(none)'}.`);
    return table;
  };
  const assertOpen = () => {
    if (closed) throw invalid('store', 'closed', `The view ${where} is closed: open it again.`);
  };
  const read = (table: TableData, key: string): Row | undefined => table.rows.get(key)?.row;

  return {
    // The hot path of a projection: no closure, no copy (rows are frozen).
    get: (name, key) => {
      try {
        return Promise.resolve(read(tableOf(name), key));
      } catch (error) {
        return rejected(error);
      }
    },
    query: (name, { index, value, limit }) =>
      settle(() => {
        const table = tableOf(name);
        const entries = table.indexes.get(index);
        if (!entries) throw invalid('index', `${name}.${index} is not indexed`, `Query one of: ${[...table.indexes.keys()].join(', ') || '(none)'}, or add it to the table's indexes.`);
        if (!(typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))) {
          throw invalid('value', `${String(value)} is not a string, finite number or boolean`, 'Query by a JSON scalar.');
        }
        const max = parseLimit(limit);
        const keys = [...(entries.get(indexValue(value) ?? '') ?? [])].sort(compareKeys).slice(0, max);
        return keys.map((key) => read(table, key)).filter((row) => row !== undefined);
      }),
    scan: (name, options = {}) =>
      settle(() => {
        const table = tableOf(name);
        const max = parseLimit(options.limit);
        const { after } = options;
        if (after !== undefined && typeof after !== 'string') throw invalid('after', `${JSON.stringify(after)} is not a key`, 'Pass the key of the last row of the previous page.');
        table.sorted ??= [...table.rows.keys()].sort(compareKeys);
        const sorted = table.sorted;
        // Binary search for the first key after `after`.
        let low = 0;
        let high = sorted.length;
        if (after !== undefined) {
          while (low < high) {
            const middle = (low + high) >>> 1;
            if (compareKeys(sorted[middle] ?? '', after) <= 0) low = middle + 1;
            else high = middle;
          }
        }
        return sorted.slice(low, low + max).map((key) => read(table, key)).filter((row) => row !== undefined);
      }),
    checkpoint: () =>
      settle(() => {
        assertOpen();
        return data.checkpoint && { ...data.checkpoint };
      }),
    commit: (changes, checkpoint) =>
      settle(() => {
        assertOpen();
        // Everything is checked and copied first: a bad change throws before anything is applied, and applying cannot throw.
        const rows = prepareRows(data, changes.rows, where);
        const { deadLetters, deadLettersGone, parked, parkedGone, audit } = checkLetterChanges(changes);
        const position = checkPosition('checkpoint.position', checkpoint.position);
        if (!Number.isSafeInteger(checkpoint.version)) throw invalid('checkpoint.version', `${String(checkpoint.version)} is not an integer`, 'Pass the projection version.');

        for (let i = 0; i < rows.keys.length; i++) {
          const table = rows.tables[i] as TableData;
          const key = rows.keys[i] as string;
          const row = rows.rows[i] as Row | null;
          const stored = table.rows.get(key);
          if (row === null) {
            if (stored) deleteRow(table, key, stored);
          } else if (stored) updateRow(table, key, stored, row);
          else insertRow(table, key, row);
        }
        // Removals first, then additions: a position both removed and added in one commit stays.
        for (const p of deadLettersGone) data.deadLetters.delete(p);
        for (const d of deadLetters) data.deadLetters.set(d.position, d.json);
        for (const p of parkedGone) data.parked.delete(p);
        for (const p of parked) data.parked.set(p.position, { subject: p.subject, json: p.json });
        data.audit.push(...audit);
        data.checkpoint = { position, version: checkpoint.version };
      }),
    deadLetters: () =>
      settle(() => {
        assertOpen();
        return [...data.deadLetters].sort(([a], [b]) => comparePositions(a, b)).map(([, json]) => JSON.parse(json) as DeadLetter);
      }),
    parked: (subject) =>
      settle(() => {
        assertOpen();
        return [...data.parked]
          .filter(([, p]) => subject === undefined || p.subject === subject)
          .sort(([a], [b]) => comparePositions(a, b))
          .map(([, p]) => JSON.parse(p.json) as ParkedEvent);
      }),
    audit: () =>
      settle(() => {
        assertOpen();
        return data.audit.map((json) => JSON.parse(json) as DeadLetterAudit);
      }),
    close: () => settle(close),
  };
}

/**
 * View storage held in memory: each copy lives in a Map, and so does each projection's current copy.
 * A commit copies each row as a JSON round trip would, so stored rows are plain JSON, as SQLite returns them, and share
 * nothing with the caller. The copy is deep-frozen, and `get`, `query` and `scan` return it as it is, without copying:
 * **rows are frozen; copy before changing** (`{ ...row, field: value }`). Changing a returned row throws a `TypeError`
 * in strict mode (and does nothing otherwise); the stored row never changes.
 * @example
 * const storage = createMemoryViewStorage();
 * const view = await storage.open('product-catalog', 'v1', { products: { key: 'id', indexes: ['category'] } });
 */
export function createMemoryViewStorage(): ViewStorage {
  const copies = new Map<string, CopyData>();
  const current = new Map<string, string>();
  const id = (projection: string, copy: string) => `${checkName('projection', projection)}/${checkName('copy', copy)}`;

  return {
    open: (projection, copy, layout) =>
      settle(() => {
        const where = id(projection, copy);
        checkLayout(layout);
        let data = copies.get(where);
        if (!data) {
          data = { tables: new Map(), checkpoint: undefined, deadLetters: new Map(), parked: new Map(), audit: [], stores: new Set() };
          copies.set(where, data);
        }
        for (const [name, tableLayout] of Object.entries(layout)) {
          let table = data.tables.get(name);
          if (!table) {
            table = emptyTable(tableLayout);
            data.tables.set(name, table);
          }
          applyLayout(table, tableLayout);
        }
        return openMemoryViewStore(data, where);
      }),
    current: (projection) => settle(() => current.get(checkName('projection', projection))),
    setCurrent: (projection, copy) =>
      settle(() => {
        const where = id(projection, copy);
        if (!copies.has(where)) throw invalid('copy', `${where} does not exist`, 'Open (and build) the copy before it serves reads.');
        current.set(projection, copy);
      }),
    drop: (projection, copy) =>
      settle(() => {
        const where = id(projection, copy);
        if (current.get(projection) === copy) throw invalid('copy', `${where} serves reads`, 'Make another copy current before dropping this one.');
        for (const close of [...(copies.get(where)?.stores ?? [])]) close();
        copies.delete(where);
      }),
  };
}
