import { UnilogError } from '../errors.ts';
import type { Checkpoint, DeadLetter, ParkedEvent, ViewChanges, ViewLayout } from './viewStore.ts';

// Checks every ViewStore adapter makes, so that all of them accept and refuse the same input.

const projectionPattern = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const copyPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const tablePattern = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const fieldPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
// The INTEGER position columns hold embedded log positions: decimal, one spelling, exact as a double.
const positionPattern = /^(0|[1-9][0-9]{0,15})$/;

/** An `InvalidArgument` error: what is wrong with which argument, and what to do. */
export function invalid(argument: string, reason: string, hint: string): UnilogError<'InvalidArgument'> {
  return new UnilogError('InvalidArgument', `Invalid ${argument}: ${reason}. ${hint}`, { argument, reason });
}

/** Checks a projection or copy name, which become folder and file names. */
export function checkName(argument: 'projection' | 'copy', name: unknown): string {
  const pattern = argument === 'projection' ? projectionPattern : copyPattern;
  if (typeof name === 'string' && pattern.test(name)) return name;
  throw invalid(argument, `${JSON.stringify(name)} is not a ${argument} name`, argument === 'projection' ? 'Use a letter, then letters, digits, - and _.' : 'Use letters, digits, ., - and _, starting with a letter or digit.');
}

/** The SQLite index of a view table's indexed field. */
export const indexName = (table: string, field: string): string => `${table}__${field}`;

/**
 * Checks that a layout's names can be spliced into SQL: table names and fields match their patterns (no quotes),
 * and no two schema objects (tables, indexes) share a name, which SQLite compares case-insensitively.
 */
export function checkLayout(layout: ViewLayout): void {
  const names = new Set<string>();
  const claim = (name: string) => {
    const folded = name.toLowerCase();
    if (names.has(folded) || folded.startsWith('sqlite_')) throw invalid('layout', `the SQLite name ${JSON.stringify(name)} is taken or reserved`, 'Rename the table or field: SQLite names ignore case, and index names are <table>__<field>.');
    names.add(folded);
  };
  for (const [table, { key, indexes }] of Object.entries(layout)) {
    if (!tablePattern.test(table)) throw invalid('layout', `table name ${JSON.stringify(table)} is not allowed`, 'Use a letter, then letters, digits, - and _.');
    claim(table);
    for (const field of [key, ...indexes]) {
      if (!fieldPattern.test(field)) throw invalid('layout', `table ${table}: field ${JSON.stringify(field)} is not an identifier`, 'Key and index fields are identifiers.');
    }
    for (const field of indexes) claim(indexName(table, field));
  }
}

/** Checks a page size: a whole number from 1 up, 1000 when not given. */
export function parseLimit(limit: number | undefined): number {
  if (limit === undefined) return 1000;
  if (Number.isSafeInteger(limit) && limit >= 1) return limit;
  throw invalid('limit', `${JSON.stringify(limit)} is not a positive integer`, 'Pass a whole number from 1 up.');
}

/** Checks an embedded log position and returns it as the integer SQLite stores. */
export function positionNumber(argument: string, position: unknown): number {
  if (typeof position === 'string' && positionPattern.test(position)) {
    const n = Number(position);
    if (Number.isSafeInteger(n)) return n;
  }
  throw invalid(argument, `${JSON.stringify(position)} is not an embedded log position`, 'SQLite views keep the decimal positions of embedded logs.');
}

/** JSON text of `value`, or `InvalidArgument` naming `argument`. */
export function toJson(argument: string, value: unknown): string {
  try {
    // JSON.stringify gives undefined for undefined, functions and symbols, though its type says string.
    const json = JSON.stringify(value) as string | undefined;
    if (json !== undefined) return json;
  } catch (error) {
    throw new UnilogError('InvalidArgument', `Invalid ${argument}: it is not JSON (${(error as Error).message}).`, { argument, reason: 'not JSON' }, { cause: error });
  }
  throw invalid(argument, 'it is not JSON', 'Pass plain JSON data.');
}

/** A row change, checked and serialized: `json` is null for a delete. */
export interface RowChange {
  readonly table: string;
  readonly key: string;
  readonly json: string | null;
}

/** Checks the row changes against the layout: known tables, object rows whose key field is the change's key. */
export function prepareRows(layout: ViewLayout, rows: ViewChanges['rows'], where: string): RowChange[] {
  // Untyped callers exist; checking an `unknown` alias keeps `rows` typed below (Array.isArray would make it any[]).
  const list: unknown = rows;
  if (!Array.isArray(list)) throw invalid('changes.rows', 'it is not an array', 'Pass the rows to write.');
  return rows.map(({ table, key, row }, i): RowChange => {
    const tableLayout = Object.hasOwn(layout, table) ? layout[table] : undefined;
    if (!tableLayout) throw invalid('changes.rows', `${where} has no table ${JSON.stringify(table)}`, `Use one of: ${Object.keys(layout).join(', ') || '(none)'}.`);
    if (typeof key !== 'string') throw invalid('changes.rows', `change ${i} has no string key`, 'Pass each row\'s key as a string.');
    if (row === null) return { table, key, json: null };
    if (typeof row !== 'object' || Array.isArray(row)) throw invalid('changes.rows', `change ${i} is not an object row`, 'Rows are JSON objects.');
    const rowKey = row[tableLayout.key];
    if (!(typeof rowKey === 'string' || (typeof rowKey === 'number' && Number.isFinite(rowKey)))) {
      throw invalid('changes.rows', `a row of ${table} has no string or number ${JSON.stringify(tableLayout.key)} field`, `Set the row's ${tableLayout.key}.`);
    }
    if (String(rowKey) !== key) throw invalid('changes.rows', `change ${i} has key ${JSON.stringify(key)} but its row's ${tableLayout.key} is ${JSON.stringify(rowKey)}`, 'Pass the row\'s own key.');
    return { table, key, json: toJson('changes.rows', row) };
  });
}

/** Checks a dead letter's fields, which fill NOT NULL columns. */
export function checkDeadLetter(deadLetter: DeadLetter, i: number): { position: number; subject: string; event: string; error: string; attempts: number; at: string; mode: string } {
  const argument = `changes.deadLetters.add[${i}]`;
  const position = positionNumber(`${argument}.position`, deadLetter.position);
  const subject = subjectOf(argument, deadLetter);
  const { error, attempts, at, mode } = deadLetter as Partial<DeadLetter>;
  if (typeof error !== 'object' || typeof error.message !== 'string') throw invalid(argument, 'it has no error message', 'Pass the handler\'s error.');
  if (typeof attempts !== 'number' || !Number.isSafeInteger(attempts) || typeof at !== 'string' || (mode !== 'parked' && mode !== 'skipped')) {
    throw invalid(argument, 'its attempts, at or mode is missing or wrong', 'Pass a whole number of attempts, an ISO time and parked or skipped.');
  }
  return { position, subject, event: toJson(argument, deadLetter.event), error: toJson(argument, error), attempts, at, mode };
}

/** The partition key of a dead-lettered or parked event. */
export function subjectOf(argument: string, item: DeadLetter | ParkedEvent): string {
  const subject: unknown = (item.event as { subject?: unknown } | undefined)?.subject;
  if (typeof subject !== 'string') throw invalid(argument, 'its event has no subject', 'Pass log events.');
  return subject;
}

/** Checks a checkpoint. */
export function checkCheckpoint(checkpoint: Checkpoint): Checkpoint {
  const { position, version } = checkpoint as Partial<Checkpoint>;
  if (typeof position !== 'string' || position === '') throw invalid('checkpoint.position', `${JSON.stringify(position)} is not a position`, 'Pass the position of the next event to process.');
  if (!Number.isSafeInteger(version)) throw invalid('checkpoint.version', `${String(version)} is not an integer`, 'Pass the projection version.');
  return { position, version: version as number };
}


/**
 * The index value of a field, mirroring SQLite's `json_extract` comparison: strings and numbers never equal
 * each other, booleans compare as 1 and 0, objects and arrays as their JSON text; null and missing are not indexed.
 */
export function indexValue(value: unknown): string | undefined {
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

/** Checks a log position kept as text (any non-empty string: Kinesis positions are not decimal). */
export function checkPositionText(argument: string, position: unknown): string {
  if (typeof position === 'string' && position !== '') return position;
  throw invalid(argument, `${JSON.stringify(position)} is not a position`, 'Pass the position of a log event.');
}

/** Checks a dead letter's fields and serializes it (the adapters that keep dead letters as JSON). */
export function serializeDeadLetter(deadLetter: DeadLetter, i: number): { position: string; json: string } {
  const argument = `changes.deadLetters.add[${i}]`;
  const position = checkPositionText(`${argument}.position`, deadLetter.position);
  subjectOf(argument, deadLetter);
  const { error, attempts, at, mode } = deadLetter as Partial<DeadLetter>;
  if (typeof error !== 'object' || typeof error.message !== 'string') throw invalid(argument, 'it has no error message', 'Pass the handler\'s error.');
  if (typeof attempts !== 'number' || !Number.isSafeInteger(attempts) || typeof at !== 'string' || (mode !== 'parked' && mode !== 'skipped')) {
    throw invalid(argument, 'its attempts, at or mode is missing or wrong', 'Pass a whole number of attempts, an ISO time and parked or skipped.');
  }
  return { position, json: toJson(argument, deadLetter) };
}

/** A commit's dead-letter, parked and audit changes, checked and serialized before anything is written. */
export function checkLetterChanges(changes: ViewChanges): {
  deadLetters: { position: string; json: string }[];
  deadLettersGone: string[];
  parked: { position: string; subject: string; json: string }[];
  parkedGone: string[];
  audit: string[];
} {
  return {
    deadLetters: (changes.deadLetters?.add ?? []).map(serializeDeadLetter),
    deadLettersGone: (changes.deadLetters?.remove ?? []).map((p, i) => checkPositionText(`changes.deadLetters.remove[${i}]`, p)),
    parked: (changes.parked?.add ?? []).map((p, i) => {
      const argument = `changes.parked.add[${i}]`;
      return { position: checkPositionText(`${argument}.position`, p.position), subject: subjectOf(argument, p), json: toJson(argument, p) };
    }),
    parkedGone: (changes.parked?.remove ?? []).map((p, i) => checkPositionText(`changes.parked.remove[${i}]`, p)),
    audit: (changes.audit ?? []).map((a, i) => {
      if (typeof a.at !== 'string' || typeof a.position !== 'string' || typeof a.action !== 'string' || typeof a.detail !== 'string') {
        throw invalid(`changes.audit[${i}]`, 'its at, position, action or detail is not a string', 'Pass complete audit entries.');
      }
      return toJson(`changes.audit[${i}]`, a);
    }),
  };
}
