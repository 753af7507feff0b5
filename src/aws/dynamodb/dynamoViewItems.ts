import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Position } from '../../log/eventLog.ts';

// The item layout of DynamoDB views (docs/aws.md, "DynamoDB views"): one table, `pk` + `sk` strings.
// A copy is one partition, `pk` = `<projection>/<copy>` ('/' is in no name), so `drop` is one Query away from every item.

/** A DynamoDB item, as the low-level client takes it. */
export type Item = Record<string, AttributeValue>;

/** The partition of a copy. */
export const copyPk = (projection: string, copy: string): string => `${projection}/${copy}`;
/** The partition of a projection's current-copy item. */
export const currentPk = (projection: string): string => projection;

export const checkpointSk = 'cp';
export const metaSk = 'meta';
export const currentSk = 'current';
/** Rows of a table: `r#<table>#<key>`; table names have no '#', so a table's rows share this prefix and sort by key. */
export const rowPrefix = (table: string): string => `r#${table}#`;
/** Index entries of one field value; the value is length-prefixed, so no value's prefix is another value's. */
export const indexPrefix = (table: string, field: string, value: string): string => `i#${table}#${field}#${value.length}:${value}#`;
export const deadLetterSk = (position: Position): string => `d#${position}`;
export const parkedSk = (position: Position): string => `p#${position}`;
export const auditPrefix = 'a#';

const decimalPattern = /^(0|[1-9][0-9]*)$/;

/** Index values compare as in the memory and SQLite adapters (one definition for all). */
export { indexValue } from '../../views/viewChecks.ts';

/** Decimal positions (embedded logs) compare as numbers; others as strings. */
export function comparePositions(a: string, b: string): number {
  if (a.length !== b.length && decimalPattern.test(a) && decimalPattern.test(b)) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}



/** A string attribute of an item, or undefined. */
export const str = (item: Item | undefined, name: string): string | undefined => item?.[name]?.S;
