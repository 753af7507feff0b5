/**
 * The layout of a Kinesis stream archive in S3: object keys, the JSON objects beside the segments, and the segments
 * themselves, which hold the file log's CRC-framed records. Pure data and encoding: no SDK, no I/O.
 * @see docs/aws-archive.md
 * @module
 */
import { z } from 'zod';
import { UnilogError } from '../../errors.ts';
import { checkFrame, encodeBatch, maxPosition } from '../../log/file/frame.ts';
import { maxFramePayloadBytes } from '../../log/file/segment.ts';
import { compareSequences } from '../kinesis/positions.ts';

/** Orders two sequence numbers of one shard (decimal strings without leading zeros). */
export { compareSequences };

/** Sequence numbers in segment keys are zero-padded to this many digits (the most a Kinesis position holds), so key order is sequence order. */
export const sequenceDigits = 128;

/** One archived Kinesis record: its sequence number, its arrival time (ms) and its data, a unilog envelope as JSON. */
export interface ArchivedRecord {
  readonly sequence: string;
  readonly arrival: number;
  readonly data: string;
}

const sequenceSchema = z.string().regex(/^(?:0|[1-9][0-9]{0,127})$/);
const shardIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/);

/**
 * What the archiver vouches for: at `at` (its clock, ms) the shard held no record after `through` (null: none at all).
 * Any record after `through` arrived later, so it is still retained until `at` plus the stream's retention period.
 */
const watermarkSchema = z.object({ through: sequenceSchema.nullable(), at: z.number().int().nonnegative() });
/** A watermark, as `shard.json` holds it. */
export type Watermark = z.infer<typeof watermarkSchema>;

/** `<prefix><shardId>/shard.json`: the shard's lineage, whether it is complete, and the archiver's latest watermark. */
export const shardMetaSchema = z.object({
  format: z.literal(1),
  shardId: shardIdSchema,
  /** ParentShardId and AdjacentParentShardId, when the shard has them: they are read first. */
  parents: z.array(shardIdSchema).max(2),
  /** True once the shard is closed and every record of it is archived. */
  complete: z.boolean(),
  checked: watermarkSchema.optional(),
  /** The last segment when this object was written, so a restarted archiver lists only the segments after it. */
  tail: z.object({ key: z.string(), sequence: sequenceSchema, nextIndex: z.number().int().nonnegative() }).optional(),
});
/** The contents of `shard.json`. */
export type ShardMeta = z.infer<typeof shardMetaSchema>;

/** `<prefix>stream.json`: the shards the archiver listed and when, so a reader knows which shards are newer than that. */
export const streamMetaSchema = z.object({
  format: z.literal(1),
  streamName: z.string(),
  listedAt: z.number().int().nonnegative(),
  shards: z.array(shardIdSchema),
});
/** The contents of `stream.json`. */
export type StreamMeta = z.infer<typeof streamMetaSchema>;

/**
 * `<segment base>.seq.json`, written before its segment: the shard-wide index of the segment's first record (also
 * the first frame's position) and each record's sequence number and arrival time, which a frame has no room for.
 */
export const segmentIndexSchema = z.object({
  format: z.literal(1),
  shardId: shardIdSchema,
  firstIndex: z.number().int().nonnegative(),
  records: z.array(z.tuple([sequenceSchema, z.number().int()])).min(1),
});
/** The contents of a segment's `.seq.json`. */
export type SegmentIndex = z.infer<typeof segmentIndexSchema>;

/** A segment as listed: its object key, the key of its index, and the first and last sequence numbers its key names. */
export interface SegmentRef {
  readonly key: string;
  readonly indexKey: string;
  readonly first: string;
  readonly last: string;
}

/** Checks and normalises an archive prefix: "/"-separated segments ending in "/", or "" for the bucket's root. */
export function normalizeArchivePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  // Shard ids (≤ 128), two 128-digit sequence numbers and a suffix stay within S3's 1024-byte keys after 512 characters.
  if (bare.length <= 512 && bare.split('/').every((segment) => /^[A-Za-z0-9_.=-]+$/.test(segment) && segment !== '.' && segment !== '..')) return `${bare}/`;
  throw new UnilogError('InvalidArgument', `An archive prefix is "/"-separated segments of letters, digits, "_", ".", "=" and "-", at most 512 characters (such as "archive/events"), not ${JSON.stringify(prefix)}.`, {
    argument: 'prefix',
    reason: 'invalid prefix',
  });
}

/** The key of `stream.json`. */
export const streamMetaKey = (prefix: string): string => `${prefix}stream.json`;
/** The "folder" (key prefix) of a shard's objects. */
export const shardFolder = (prefix: string, shardId: string): string => `${prefix}${shardId}/`;
/** The key of a shard's `shard.json`. */
export const shardMetaKey = (prefix: string, shardId: string): string => `${shardFolder(prefix, shardId)}shard.json`;

/** The keys of the segment holding `first` .. `last` of a shard, and of its index. */
export function segmentRef(prefix: string, shardId: string, first: string, last: string): SegmentRef {
  const base = `${shardFolder(prefix, shardId)}${first.padStart(sequenceDigits, '0')}-${last}`;
  return { key: `${base}.seg`, indexKey: `${base}.seq.json`, first, last };
}

const segmentName = /^([0-9]{128})-((?:0|[1-9][0-9]{0,127}))\.seg$/;

/** The segment named by `key` in a shard's folder, or undefined when the key is not a segment. */
export function parseSegmentKey(prefix: string, shardId: string, key: string): SegmentRef | undefined {
  const folder = shardFolder(prefix, shardId);
  if (!key.startsWith(folder)) return undefined;
  const match = segmentName.exec(key.slice(folder.length));
  const padded = match?.[1];
  const last = match?.[2];
  if (padded === undefined || last === undefined) return undefined;
  const first = padded.replace(/^0+(?=.)/, '');
  if (compareSequences(first, last) > 0) return undefined;
  return segmentRef(prefix, shardId, first, last);
}

/** Encodes records (in sequence order) as one segment: file-log frames whose positions count on from `firstIndex`, and its index. */
export function encodeSegment(shardId: string, firstIndex: number, records: readonly ArchivedRecord[]): { body: Buffer; index: SegmentIndex } {
  if (firstIndex + records.length > maxPosition) {
    throw new UnilogError('InvalidArgument', `Shard ${shardId} would hold more than ${maxPosition} archived records: archive it under a new prefix.`, { argument: 'firstIndex', reason: 'too many records' });
  }
  const { buffer } = encodeBatch(records.map((r) => r.data), firstIndex);
  return { body: buffer, index: { format: 1, shardId, firstIndex, records: records.map((r) => [r.sequence, r.arrival]) } };
}

/**
 * Decodes a segment against its index: every frame whole, CRC-checked, at the next position, one per index entry, in
 * ascending sequence order from the key's first to its last. Damage is `LogCorrupted`, naming the object.
 */
export function decodeSegment(where: string, ref: SegmentRef, body: Buffer, index: SegmentIndex): ArchivedRecord[] {
  const corrupt = (offset: number, reason: string) =>
    new UnilogError('LogCorrupted', `Archive object ${where} is damaged at byte ${offset} (${reason}): restore it from a backup or a versioned copy; a reader cannot go past it.`, { segment: where, offset, reason });
  const records: ArchivedRecord[] = [];
  let offset = 0;
  for (const [i, [sequence, arrival]] of index.records.entries()) {
    const frame = checkFrame(body, offset, body.length, maxFramePayloadBytes, index.firstIndex + i);
    if (frame.kind === 'short') throw corrupt(offset, `record ${i} of ${index.records.length} is cut short`);
    if (frame.kind === 'bad') throw corrupt(offset, frame.reason);
    const previous = records.at(-1);
    if (previous && compareSequences(previous.sequence, sequence) >= 0) throw corrupt(offset, `sequence ${sequence} does not follow ${previous.sequence}`);
    records.push({ sequence, arrival, data: body.toString('utf8', frame.payloadStart, frame.payloadEnd) });
    offset = frame.end;
  }
  if (offset !== body.length) throw corrupt(offset, `${body.length - offset} bytes after the last indexed record`);
  if (records[0]?.sequence !== ref.first || records.at(-1)?.sequence !== ref.last) throw corrupt(0, `the index runs from ${records[0]?.sequence ?? '-'} to ${records.at(-1)?.sequence ?? '-'}, the key names ${ref.first}-${ref.last}`);
  return records;
}
