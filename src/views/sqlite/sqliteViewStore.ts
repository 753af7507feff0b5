import type BetterSqlite3 from 'better-sqlite3';
import type { Checkpoint, DeadLetter, DeadLetterAudit, ParkedEvent, Row, ViewLayout, ViewStore } from '../viewStore.ts';
import { checkCheckpoint, checkDeadLetter, checkLayout, indexName, invalid, parseLimit, positionNumber, prepareRows, subjectOf, toJson } from '../viewChecks.ts';

type Database = BetterSqlite3.Database;
type Statement<P extends unknown[], R = unknown> = BetterSqlite3.Statement<P, R>;

/** The system tables; the layout is documented in docs/view-tables.md. */
const systemSchema = `
CREATE TABLE IF NOT EXISTS _unilog_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS _unilog_dead_letters (position INTEGER PRIMARY KEY, subject TEXT NOT NULL, event TEXT NOT NULL, error TEXT NOT NULL, attempts INTEGER NOT NULL, at TEXT NOT NULL, mode TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS _unilog_parked (position INTEGER PRIMARY KEY, subject TEXT NOT NULL, event TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS _unilog_parked__subject ON _unilog_parked(subject);
CREATE TABLE IF NOT EXISTS _unilog_audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, position TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL);
`;

/** The field's value as SQL; only for fields checked by `checkLayout` (identifiers, so nothing to escape). */
const extract = (field: string) => `json_extract(data, '$.${field}')`;

/** The CREATE statements of one view table and its indexes. */
function tableSchema(table: string, indexes: readonly string[]): string {
  return [
    `CREATE TABLE IF NOT EXISTS "${table}" (key TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;`,
    ...indexes.map((field) => `CREATE INDEX IF NOT EXISTS "${indexName(table, field)}" ON "${table}"(${extract(field)});`),
  ].join('\n');
}

interface TableStatements {
  readonly get: Statement<[string], string>;
  readonly put: Statement<[string, string]>;
  readonly delete: Statement<[string]>;
  readonly scanFirst: Statement<[number], string>;
  readonly scanAfter: Statement<[string, number], string>;
  readonly query: ReadonlyMap<string, Statement<[string | number, number], string>>;
}

function prepareTable(db: Database, table: string, indexes: readonly string[]): TableStatements {
  const t = `"${table}"`;
  return {
    get: db.prepare<[string], string>(`SELECT data FROM ${t} WHERE key = ?`).pluck(),
    put: db.prepare<[string, string]>(`INSERT OR REPLACE INTO ${t} (key, data) VALUES (?, ?)`),
    delete: db.prepare<[string]>(`DELETE FROM ${t} WHERE key = ?`),
    scanFirst: db.prepare<[number], string>(`SELECT data FROM ${t} ORDER BY key LIMIT ?`).pluck(),
    scanAfter: db.prepare<[string, number], string>(`SELECT data FROM ${t} WHERE key > ? ORDER BY key LIMIT ?`).pluck(),
    query: new Map(indexes.map((field) => [field, db.prepare<[string | number, number], string>(`SELECT data FROM ${t} WHERE ${extract(field)} = ? ORDER BY key LIMIT ?`).pluck()])),
  };
}

interface DeadLetterRow {
  position: number;
  event: string;
  error: string;
  attempts: number;
  at: string;
  mode: DeadLetter['mode'];
}

/** Options of {@link openSqliteViewStore}. */
export interface SqliteViewStoreOptions {
  /** The database file. */
  readonly file: string;
  /** The tables to create (when missing) and serve. */
  readonly layout: ViewLayout;
  /** `projection/copy`, for messages. */
  readonly where: string;
  /** How long a statement waits for another connection's lock, in milliseconds. */
  readonly busyTimeoutMs: number;
  /** Called once when the store closes. */
  readonly onClose: () => void;
}

/** Runs `fn` and returns its result as a promise; a throw becomes a rejection. */
function settle<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => {
    resolve(fn());
  });
}

/** Opens one copy's database file, creating its tables and indexes; the storage closes it too, on `drop`. */
export function openSqliteViewStore(Database: typeof BetterSqlite3, options: SqliteViewStoreOptions): ViewStore {
  const { layout, where } = options;
  checkLayout(layout);
  // Not exclusive: other processes read the current copy while this one commits (WAL lets them).
  const db = new Database(options.file, { timeout: options.busyTimeoutMs });
  let tables: Map<string, TableStatements>;
  let statements: ReturnType<typeof prepareSystem>;
  try {
    db.pragma('journal_mode = WAL');
    // NORMAL would let the last commits of a WAL database roll back on power loss; a committed checkpoint must survive it, so every commit syncs.
    db.pragma('synchronous = FULL');
    db.transaction(() => {
      db.exec(systemSchema);
      for (const [table, { indexes }] of Object.entries(layout)) db.exec(tableSchema(table, indexes));
    })();
    tables = new Map(Object.entries(layout).map(([table, { indexes }]) => [table, prepareTable(db, table, indexes)]));
    statements = prepareSystem(db);
  } catch (error) {
    db.close();
    throw error;
  }
  const s = statements;

  let closed = false;
  const assertOpen = () => {
    if (closed) throw invalid('store', 'closed', `The view ${where} is closed: open it again.`);
  };
  const tableOf = (table: string): TableStatements => {
    assertOpen();
    const found = tables.get(table);
    if (!found) throw invalid('table', `${where} has no table ${JSON.stringify(table)}`, `Use one of: ${[...tables.keys()].join(', ') || '(none)'}.`);
    return found;
  };
  const parseRows = (rows: string[]): Row[] => rows.map((data) => JSON.parse(data) as Row);

  // One transaction per commit: rows, dead letters, parked events, audit and checkpoint land together or not at all.
  const apply = db.transaction((changes: PreparedChanges) => {
    for (const { table, key, json } of changes.rows) {
      const t = tables.get(table);
      if (!t) throw invalid('changes.rows', `${where} has no table ${table}`, 'This is a bug: prepareRows checks tables.');
      if (json === null) t.delete.run(key);
      else t.put.run(key, json);
    }
    // Removals first, then additions: a position both removed and added in one commit stays.
    for (const position of changes.deadLettersGone) s.deleteDeadLetter.run(position);
    for (const d of changes.deadLetters) s.putDeadLetter.run(d.position, d.subject, d.event, d.error, d.attempts, d.at, d.mode);
    for (const position of changes.parkedGone) s.deleteParked.run(position);
    for (const p of changes.parked) s.putParked.run(p.position, p.subject, p.event);
    for (const a of changes.audit) s.putAudit.run(a.at, a.position, a.action, a.detail);
    s.putCheckpoint.run(changes.checkpoint.position, changes.checkpoint.version, new Date().toISOString());
  });

  return {
    get: (table, key) =>
      settle(() => {
        const data = tableOf(table).get.get(key);
        return data === undefined ? undefined : (JSON.parse(data) as Row);
      }),
    query: (table, { index, value, limit }) =>
      settle(() => {
        const statement = tableOf(table).query.get(index);
        if (!statement) throw invalid('index', `${table}.${index} is not indexed`, `Query one of: ${layout[table]?.indexes.join(', ') || '(none)'}, or add it to the table's indexes.`);
        let bound: string | number;
        // json_extract gives 1 and 0 for JSON true and false.
        if (typeof value === 'boolean') bound = value ? 1 : 0;
        else if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) bound = value;
        else throw invalid('value', `${String(value)} is not a string, finite number or boolean`, 'Query by a JSON scalar.');
        return parseRows(statement.all(bound, parseLimit(limit)));
      }),
    scan: (table, options = {}) =>
      settle(() => {
        const t = tableOf(table);
        const limit = parseLimit(options.limit);
        const { after } = options;
        if (after === undefined) return parseRows(t.scanFirst.all(limit));
        if (typeof after !== 'string') throw invalid('after', `${JSON.stringify(after)} is not a key`, 'Pass the key of the last row of the previous page.');
        return parseRows(t.scanAfter.all(after, limit));
      }),
    checkpoint: () =>
      settle(() => {
        assertOpen();
        const row = s.getCheckpoint.get();
        return row && { position: row.position, version: row.version };
      }),
    commit: (changes, checkpoint) =>
      settle(() => {
        assertOpen();
        // Checked and serialized before the transaction, so that it holds the write lock only to write.
        apply({
          rows: prepareRows(layout, changes.rows, where),
          deadLetters: (changes.deadLetters?.add ?? []).map(checkDeadLetter),
          deadLettersGone: (changes.deadLetters?.remove ?? []).map((p, i) => positionNumber(`changes.deadLetters.remove[${i}]`, p)),
          parked: (changes.parked?.add ?? []).map((p, i) => {
            const argument = `changes.parked.add[${i}]`;
            return { position: positionNumber(`${argument}.position`, p.position), subject: subjectOf(argument, p), event: toJson(argument, p.event) };
          }),
          parkedGone: (changes.parked?.remove ?? []).map((p, i) => positionNumber(`changes.parked.remove[${i}]`, p)),
          audit: (changes.audit ?? []).map((a, i) => {
            if (typeof a.at !== 'string' || typeof a.position !== 'string' || typeof a.action !== 'string' || typeof a.detail !== 'string') {
              throw invalid(`changes.audit[${i}]`, 'its at, position, action or detail is not a string', 'Pass complete audit entries.');
            }
            return a;
          }),
          checkpoint: checkCheckpoint(checkpoint),
        });
      }),
    deadLetters: () =>
      settle(() => {
        assertOpen();
        return s.allDeadLetters.all().map((r) => ({ position: String(r.position), event: JSON.parse(r.event) as DeadLetter['event'], error: JSON.parse(r.error) as DeadLetter['error'], attempts: r.attempts, at: r.at, mode: r.mode }));
      }),
    parked: (subject) =>
      settle(() => {
        assertOpen();
        const rows = subject === undefined ? s.allParked.all() : s.parkedOf.all(subject);
        return rows.map((r): ParkedEvent => ({ position: String(r.position), event: JSON.parse(r.event) as ParkedEvent['event'] }));
      }),
    audit: () =>
      settle(() => {
        assertOpen();
        return s.allAudit.all();
      }),
    close: () =>
      settle(() => {
        if (closed) return;
        closed = true;
        db.close();
        options.onClose();
      }),
  };
}

interface PreparedChanges {
  readonly rows: readonly { readonly table: string; readonly key: string; readonly json: string | null }[];
  readonly deadLetters: readonly { position: number; subject: string; event: string; error: string; attempts: number; at: string; mode: string }[];
  readonly deadLettersGone: readonly number[];
  readonly parked: readonly { position: number; subject: string; event: string }[];
  readonly parkedGone: readonly number[];
  readonly audit: readonly DeadLetterAudit[];
  readonly checkpoint: Checkpoint;
}

function prepareSystem(db: Database) {
  return {
    getCheckpoint: db.prepare<[], { position: string; version: number }>('SELECT position, version FROM _unilog_checkpoint WHERE id = 1'),
    putCheckpoint: db.prepare<[string, number, string]>('INSERT OR REPLACE INTO _unilog_checkpoint (id, position, version, updated_at) VALUES (1, ?, ?, ?)'),
    putDeadLetter: db.prepare<[number, string, string, string, number, string, string]>(
      'INSERT OR REPLACE INTO _unilog_dead_letters (position, subject, event, error, attempts, at, mode) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    deleteDeadLetter: db.prepare<[number]>('DELETE FROM _unilog_dead_letters WHERE position = ?'),
    allDeadLetters: db.prepare<[], DeadLetterRow>('SELECT position, event, error, attempts, at, mode FROM _unilog_dead_letters ORDER BY position'),
    putParked: db.prepare<[number, string, string]>('INSERT OR REPLACE INTO _unilog_parked (position, subject, event) VALUES (?, ?, ?)'),
    deleteParked: db.prepare<[number]>('DELETE FROM _unilog_parked WHERE position = ?'),
    allParked: db.prepare<[], { position: number; event: string }>('SELECT position, event FROM _unilog_parked ORDER BY position'),
    parkedOf: db.prepare<[string], { position: number; event: string }>('SELECT position, event FROM _unilog_parked WHERE subject = ? ORDER BY position'),
    putAudit: db.prepare<[string, string, string, string]>('INSERT INTO _unilog_audit (at, position, action, detail) VALUES (?, ?, ?, ?)'),
    allAudit: db.prepare<[], DeadLetterAudit>('SELECT at, position, action, detail FROM _unilog_audit ORDER BY seq'),
  };
}
