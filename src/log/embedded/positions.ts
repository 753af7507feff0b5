import { UnilogError } from '../../errors.ts';
import type { Position, PositionOrder } from '../eventLog.ts';

/** Parses an embedded log position (a decimal sequence number); throws `InvalidPosition` for anything else. */
export function parseSequence(position: Position | undefined): number {
  if (position === undefined) return 0;
  // Decimal digits only, no sign, no exponent, no leading zeros: one spelling per position.
  if (typeof position === 'string' && /^(0|[1-9][0-9]{0,14})$/.test(position)) return Number(position);
  throw new UnilogError('InvalidPosition', `Invalid position ${JSON.stringify(position)}: embedded logs use the decimal sequence number of an event (0 is the first).`, { position });
}

/** Formats a sequence number as a position. */
export function formatSequence(sequence: number): Position {
  return String(sequence);
}

/** Checks a read limit: a whole number from 1 up; throws `InvalidArgument` otherwise. */
export function parseLimit(limit: number | undefined, fallback = 1000): number {
  if (limit === undefined) return fallback;
  if (Number.isSafeInteger(limit) && limit >= 1) return limit;
  throw new UnilogError('InvalidArgument', `Invalid limit ${JSON.stringify(limit)}: pass a whole number from 1 up.`, { argument: 'limit', reason: 'not a positive integer' });
}

/** The position order of the embedded logs: a reader position is the sequence number of the next event to read. */
export const totalOrderPositions: PositionOrder = Object.freeze({
  start: '0',
  after: (from: Position, event: Position) => formatSequence(Math.max(parseSequence(from), parseSequence(event) + 1)),
  reached: (at: Position, target: Position) => parseSequence(at) >= parseSequence(target),
  count: (from: Position, to: Position) => Math.max(0, parseSequence(to) - parseSequence(from)),
});
