import { UnilogError } from '../../errors.ts';
import type { Position, PositionOrder } from '../../log/eventLog.ts';

/** Where reading resumes in one shard: at or after a sequence number, or nowhere (the shard is closed and fully read). */
export type ShardCursor = { readonly kind: 'at' | 'after'; readonly sequence: string } | { readonly kind: 'end' };

/** A cut through the stream: one cursor per shard; a shard it does not name is read from its start (TRIM_HORIZON). */
export type Cut = ReadonlyMap<string, ShardCursor>;

const prefix = 'kinesis:';
const entryPattern = /^([A-Za-z0-9_.-]{1,128})=(?:(at|after)\.([0-9]{1,128})|end)$/;

/** Parses a Kinesis position; throws `InvalidPosition` for anything else (including embedded positions such as `"0"`). */
export function parseCut(position: Position | undefined): Cut {
  const cut = new Map<string, ShardCursor>();
  if (position === undefined) return cut;
  const invalid = () =>
    new UnilogError('InvalidPosition', `Invalid position ${JSON.stringify(position)}: Kinesis positions look like "kinesis:shardId-000000000000=at.4959…"; use a position this log returned.`, { position });
  if (typeof position !== 'string' || !position.startsWith(prefix)) throw invalid();
  const body = position.slice(prefix.length);
  if (body === '') return cut;
  for (const entry of body.split(',')) {
    const match = entryPattern.exec(entry);
    const shardId = match?.[1];
    if (match === null || shardId === undefined || cut.has(shardId)) throw invalid();
    const kind = match[2];
    const sequence = match[3];
    cut.set(shardId, kind === 'at' || kind === 'after' ? { kind, sequence: sequence ?? '' } : { kind: 'end' });
  }
  return cut;
}

/** Formats a cut; entries are sorted by shard id, so equal cuts give equal strings. */
export function formatCut(cut: Cut): Position {
  const entries = [...cut.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([shardId, cursor]) => (cursor.kind === 'end' ? `${shardId}=end` : `${shardId}=${cursor.kind}.${cursor.sequence}`));
  return prefix + entries.join(',');
}

/** The position of one stored record: its shard, at its sequence number. */
export function recordPosition(shardId: string, sequence: string): Position {
  return formatCut(new Map([[shardId, { kind: 'at', sequence }]]));
}

/** Orders two Kinesis sequence numbers of one shard (decimal strings of up to 128 digits, no leading zeros) without BigInt: longer is larger. */
export function compareSequences(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** How far a cursor has read, comparable across kinds: not named < at s < after s < at s' (s < s') … < end. */
function passes(at: ShardCursor | undefined, target: ShardCursor): boolean {
  if (target.kind === 'end') return at?.kind === 'end';
  if (at === undefined) return false;
  if (at.kind === 'end') return true;
  const order = compareSequences(at.sequence, target.sequence);
  // "after s" has processed s; "at s" has not. Sequence numbers are sparse, so "after s" < "at s'" for every s < s'
  // is the safe answer: the reader may have nothing left before s', but the cut cannot show it.
  if (at.kind === target.kind) return order >= 0;
  return at.kind === 'after' ? order >= 0 : order > 0;
}

/**
 * The position order of Kinesis logs: a reader position is a cut, and an event's position names its shard; only a
 * shard's own records are ordered, so a reader has reached a cut when it has reached it in every shard the cut names.
 */
export const kinesisPositions: PositionOrder = Object.freeze({
  start: formatCut(new Map()),
  after(from: Position, event: Position): Position {
    const [entry, ...rest] = parseCut(event);
    if (entry === undefined || rest.length > 0 || entry[1].kind !== 'at') {
      throw new UnilogError('InvalidPosition', `${JSON.stringify(event)} is not the position of one event: pass the position a read or a subscription delivered with it (to wait for a head, use consumer.catchUp).`, { position: event });
    }
    const cut = new Map(parseCut(from));
    const current = cut.get(entry[0]);
    const next: ShardCursor = { kind: 'after', sequence: entry[1].sequence };
    if (current === undefined || !passes(current, next)) cut.set(entry[0], next);
    return formatCut(cut);
  },
  reached(at: Position, target: Position): boolean {
    const reader = parseCut(at);
    for (const [shardId, cursor] of parseCut(target)) if (!passes(reader.get(shardId), cursor)) return false;
    return true;
  },
  count: () => undefined,
});
