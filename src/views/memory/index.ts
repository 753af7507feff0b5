/**
 * View storage held in memory: for tests and short-lived tools; nothing survives the process.
 * @module
 */
import type { Position } from '../../log/eventLog.ts';
import type { Checkpoint, DeadLetter, DeadLetterAudit, ParkedEvent, Row, TableLayout, ViewChanges, ViewStorage, ViewStore } from '../viewStore.ts';
import { checkLayout, checkName, invalid, parseLimit, subjectOf, toJson } from '../viewChecks.ts';

interface StoredRow {
  /** What `get` parses: a fresh copy per read. */
  readonly json: string;
  /** The index keys of the row's indexed fields, so an update can unlink the old values. */
  readonly indexKeys: Map<string, string>;
}

interface TableData {
  key: string;
  readonly rows: Map<string, StoredRow>;
  /** Field → index key of a value → keys of the rows holding it. */
  readonly indexes: Map<string, Map<string, Set<string>>>;
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





/**
 * The index key of a field value, mirroring SQLite's `json_extract` comparison: strings and numbers never equal
 * each other, booleans compare as 1 and 0, objects and arrays as their JSON text; null and missing are not indexed.
 */
function indexKey(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return `s${value}`;
    case 'number':
      return Number.isFinite(value) ? `n${value}` : undefined;
    case 'boolean':
      return value ? 'n1' : 'n0';
    case 'object':
      return value === null ? undefined : `s${JSON.stringify(value)}`;
    default:
      return undefined;
  }
}

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


function checkPosition(argument: string, position: unknown): Position {
  if (typeof position === 'string' && position !== '') return position;
  throw invalid(argument, `${JSON.stringify(position)} is not a position`, 'Pass the position of a log event.');
}


/** Checks a dead letter's fields (the SQLite adapter keeps them in NOT NULL columns) and serializes it. */
function checkDeadLetter(deadLetter: DeadLetter, i: number): { position: Position; json: string } {
  const argument = `changes.deadLetters.add[${i}]`;
  const position = checkPosition(`${argument}.position`, deadLetter.position);
  subjectOf(argument, deadLetter);
  const { error, attempts, at, mode } = deadLetter as Partial<DeadLetter>;
  if (typeof error !== 'object' || typeof error.message !== 'string') throw invalid(argument, 'it has no error message', 'Pass the handler\'s error.');
  if (typeof attempts !== 'number' || !Number.isSafeInteger(attempts) || typeof at !== 'string' || (mode !== 'parked' && mode !== 'skipped')) {
    throw invalid(argument, 'its attempts, at or mode is missing or wrong', 'Pass a whole number of attempts, an ISO time and parked or skipped.');
  }
  return { position, json: toJson(argument, deadLetter) };
}

/** Runs `fn` and returns its result as a promise; a throw becomes a rejection. */
function settle<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => {
    resolve(fn());
  });
}

function emptyTable(layout: TableLayout): TableData {
  return { key: layout.key, rows: new Map(), indexes: new Map(), sorted: undefined };
}

/** Makes `table` follow `layout`: a new key field is taken as given, a new index is built from the stored rows. */
function applyLayout(table: TableData, layout: TableLayout): void {
  table.key = layout.key;
  for (const field of layout.indexes) {
    if (table.indexes.has(field)) continue;
    const index = new Map<string, Set<string>>();
    table.indexes.set(field, index);
    for (const [key, stored] of table.rows) {
      const value = indexKey((JSON.parse(stored.json) as Row)[field]);
      if (value === undefined) continue;
      stored.indexKeys.set(field, value);
      const keys = index.get(value);
      if (keys) keys.add(key);
      else index.set(value, new Set([key]));
    }
  }
}

function unlink(table: TableData, key: string, stored: StoredRow): void {
  for (const [field, value] of stored.indexKeys) {
    const keys = table.indexes.get(field)?.get(value);
    keys?.delete(key);
    if (keys?.size === 0) table.indexes.get(field)?.delete(value);
  }
}

function link(table: TableData, key: string, row: Row): Map<string, string> {
  const indexKeys = new Map<string, string>();
  for (const [field, index] of table.indexes) {
    const value = indexKey(row[field]);
    if (value === undefined) continue;
    indexKeys.set(field, value);
    const keys = index.get(value);
    if (keys) keys.add(key);
    else index.set(value, new Set([key]));
  }
  return indexKeys;
}

type RowOp = { readonly table: TableData; readonly key: string; readonly json: string; readonly row: Row } | { readonly table: TableData; readonly key: string; readonly json: null };

/** Checks every change and serializes it, so that applying cannot fail halfway. */
function prepareRows(data: CopyData, rows: ViewChanges['rows'], where: string): RowOp[] {
  // Untyped callers exist; checking an `unknown` alias keeps `rows` typed below (Array.isArray would make it any[]).
  const list: unknown = rows;
  if (!Array.isArray(list)) throw invalid('changes.rows', 'it is not an array', 'Pass the rows to write.');
  return rows.map(({ table: name, key, row }, i) => {
    const table = data.tables.get(name);
    if (!table) throw invalid('changes.rows', `${where} has no table ${JSON.stringify(name)}`, `Use one of: ${[...data.tables.keys()].join(', ') || '(none)'}.`);
    if (typeof key !== 'string') throw invalid('changes.rows', `change ${i} has no string key`, 'Pass each row\'s key as a string.');
    if (row === null) return { table, key, json: null };
    if (typeof row !== 'object' || Array.isArray(row)) throw invalid('changes.rows', `change ${i} is not an object row`, 'Rows are JSON objects.');
    const rowKey = row[table.key];
    if (!(typeof rowKey === 'string' || (typeof rowKey === 'number' && Number.isFinite(rowKey)))) {
      throw invalid('changes.rows', `a row of ${name} has no string or number ${JSON.stringify(table.key)} field`, `Set the row's ${table.key}.`);
    }
    if (String(rowKey) !== key) throw invalid('changes.rows', `change ${i} has key ${JSON.stringify(key)} but its row's ${table.key} is ${JSON.stringify(rowKey)}`, 'Pass the row\'s own key.');
    const json = toJson('changes.rows', row);
    return { table, key, json, row: JSON.parse(json) as Row };
  });
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
  const read = (table: TableData, key: string): Row | undefined => {
    const stored = table.rows.get(key);
    return stored && (JSON.parse(stored.json) as Row);
  };

  return {
    get: (name, key) => settle(() => read(tableOf(name), key)),
    query: (name, { index, value, limit }) =>
      settle(() => {
        const table = tableOf(name);
        const entries = table.indexes.get(index);
        if (!entries) throw invalid('index', `${name}.${index} is not indexed`, `Query one of: ${[...table.indexes.keys()].join(', ') || '(none)'}, or add it to the table's indexes.`);
        if (!(typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))) {
          throw invalid('value', `${String(value)} is not a string, finite number or boolean`, 'Query by a JSON scalar.');
        }
        const max = parseLimit(limit);
        const keys = [...(entries.get(indexKey(value) ?? '') ?? [])].sort(compareKeys).slice(0, max);
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
        // Everything is checked and serialized first: a bad change throws before anything is applied.
        const rows = prepareRows(data, changes.rows, where);
        const deadLetters = (changes.deadLetters?.add ?? []).map(checkDeadLetter);
        const deadLettersGone = (changes.deadLetters?.remove ?? []).map((p, i) => checkPosition(`changes.deadLetters.remove[${i}]`, p));
        const parked = (changes.parked?.add ?? []).map((p, i) => {
          const argument = `changes.parked.add[${i}]`;
          return { position: checkPosition(`${argument}.position`, p.position), subject: subjectOf(argument, p), json: toJson(argument, p) };
        });
        const parkedGone = (changes.parked?.remove ?? []).map((p, i) => checkPosition(`changes.parked.remove[${i}]`, p));
        const audit = (changes.audit ?? []).map((a, i) => {
          if (typeof a.at !== 'string' || typeof a.position !== 'string' || typeof a.action !== 'string' || typeof a.detail !== 'string') {
            throw invalid(`changes.audit[${i}]`, 'its at, position, action or detail is not a string', 'Pass complete audit entries.');
          }
          return toJson(`changes.audit[${i}]`, a);
        });
        const position = checkPosition('checkpoint.position', checkpoint.position);
        if (!Number.isSafeInteger(checkpoint.version)) throw invalid('checkpoint.version', `${String(checkpoint.version)} is not an integer`, 'Pass the projection version.');

        for (const op of rows) {
          const { table, key } = op;
          const old = table.rows.get(key);
          if (old) unlink(table, key, old);
          if (op.json === null) {
            if (old) {
              table.rows.delete(key);
              table.sorted = undefined;
            }
          } else {
            table.rows.set(key, { json: op.json, indexKeys: link(table, key, op.row) });
            if (!old) table.sorted = undefined;
          }
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
 * Rows are kept as JSON, so callers can neither change stored rows nor get rows that differ from what SQLite returns.
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
