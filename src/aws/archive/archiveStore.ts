/**
 * Reads and writes a stream archive in S3 (the layout is in ./archiveFormat.ts): listing, the JSON objects, segments.
 * @module
 */
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { z } from 'zod';
import { UnilogError } from '../../errors.ts';
import {
  decodeSegment,
  encodeSegment,
  parseSegmentKey,
  segmentIndexSchema,
  segmentRef,
  shardFolder,
  shardMetaKey,
  shardMetaSchema,
  streamMetaKey,
  streamMetaSchema,
  type ArchivedRecord,
  type SegmentIndex,
  type SegmentRef,
  type ShardMeta,
  type StreamMeta,
} from './archiveFormat.ts';

/** Where an archive is: a bucket, a normalised prefix, and the caller's S3 client. */
export interface ArchiveLocation {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly prefix: string;
}

/** One shard as the archive holds it. */
export interface ShardArchive {
  readonly shardId: string;
  readonly meta: ShardMeta | undefined;
  /** In sequence order. */
  readonly segments: readonly SegmentRef[];
}

/** The archive as listed at one moment. */
export interface ArchiveSnapshot {
  readonly stream: StreamMeta | undefined;
  readonly shards: ReadonlyMap<string, ShardArchive>;
}

/** A decoded segment and the shard-wide index of its first record. */
export interface LoadedSegment {
  readonly firstIndex: number;
  readonly records: readonly ArchivedRecord[];
}

let sdkPromise: Promise<typeof S3Sdk> | undefined;
// The SDK loads on first use, like the other AWS adapters.
const sdk = () => (sdkPromise ??= import('@aws-sdk/client-s3'));

/** `s3://bucket/key`, for messages and error details. */
export const objectUrl = (location: ArchiveLocation, key: string): string => `s3://${location.bucket}/${key}`;

/** Every key under `prefix` (or, with `delimiter`, the common prefixes too), after `startAfter`. */
async function listKeys(location: ArchiveLocation, prefix: string, options: { startAfter?: string; delimiter?: string } = {}): Promise<{ keys: string[]; folders: string[] }> {
  const { ListObjectsV2Command } = await sdk();
  const keys: string[] = [];
  const folders: string[] = [];
  let token: string | undefined;
  do {
    const page = await location.s3.send(new ListObjectsV2Command({
      Bucket: location.bucket,
      Prefix: prefix,
      ...(options.delimiter === undefined ? {} : { Delimiter: options.delimiter }),
      ...(options.startAfter === undefined || token !== undefined ? {} : { StartAfter: options.startAfter }),
      ...(token === undefined ? {} : { ContinuationToken: token }),
    }));
    for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
    for (const folder of page.CommonPrefixes ?? []) if (folder.Prefix !== undefined) folders.push(folder.Prefix);
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return { keys, folders };
}

/** The body of an object, or undefined when there is no such key. */
async function getObject(location: ArchiveLocation, key: string): Promise<Buffer | undefined> {
  const { GetObjectCommand } = await sdk();
  try {
    const response = await location.s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: key }));
    return Buffer.from(response.Body ? await response.Body.transformToByteArray() : new Uint8Array(0));
  } catch (error) {
    // Only a missing key means "not there"; a missing bucket or denied access is thrown as it is.
    if ((error as { name?: unknown } | null)?.name === 'NoSuchKey') return undefined;
    throw error;
  }
}

async function putObject(location: ArchiveLocation, key: string, body: Uint8Array, contentType: string): Promise<void> {
  const { PutObjectCommand } = await sdk();
  await location.s3.send(new PutObjectCommand({ Bucket: location.bucket, Key: key, Body: body, ContentType: contentType, ContentLength: body.byteLength }));
}

/** Reads and checks a JSON object of the archive; undefined when missing, `LogCorrupted` when not what `schema` says. */
async function readJson<S extends z.ZodType>(location: ArchiveLocation, key: string, schema: S): Promise<z.infer<S> | undefined> {
  const body = await getObject(location, key);
  if (body === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw corruptObject(location, key, `not JSON (${(cause as Error).message})`, cause);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw corruptObject(location, key, result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; '));
  return result.data;
}

function corruptObject(location: ArchiveLocation, key: string, reason: string, cause?: unknown): UnilogError<'LogCorrupted'> {
  const where = objectUrl(location, key);
  return new UnilogError('LogCorrupted', `Archive object ${where} is not valid (${reason}): only the archiver should write under this prefix; restore the object or archive to a new prefix.`, { segment: where, offset: 0, reason }, { cause });
}

async function writeJson(location: ArchiveLocation, key: string, value: unknown): Promise<void> {
  await putObject(location, key, Buffer.from(JSON.stringify(value)), 'application/json');
}

/** Reads a shard's `shard.json`, or undefined when the archive has none. */
export const readShardMeta = (location: ArchiveLocation, shardId: string): Promise<ShardMeta | undefined> => readJson(location, shardMetaKey(location.prefix, shardId), shardMetaSchema);
/** Writes a shard's `shard.json`. */
export const writeShardMeta = (location: ArchiveLocation, meta: ShardMeta): Promise<void> => writeJson(location, shardMetaKey(location.prefix, meta.shardId), meta);
/** Reads `stream.json`, or undefined when the archive has none. */
export const readStreamMeta = (location: ArchiveLocation): Promise<StreamMeta | undefined> => readJson(location, streamMetaKey(location.prefix), streamMetaSchema);
/** Writes `stream.json`. */
export const writeStreamMeta = (location: ArchiveLocation, meta: StreamMeta): Promise<void> => writeJson(location, streamMetaKey(location.prefix), meta);

/** The segments of a shard in sequence order (after the key `startAfter`, when given). */
export async function listSegments(location: ArchiveLocation, shardId: string, startAfter?: string): Promise<SegmentRef[]> {
  const { keys } = await listKeys(location, shardFolder(location.prefix, shardId), startAfter === undefined ? {} : { startAfter });
  // Keys list in byte order, which is sequence order thanks to the zero-padded first sequence number.
  return keys.map((key) => parseSegmentKey(location.prefix, shardId, key)).filter((ref) => ref !== undefined);
}

/** Lists the whole archive: every shard folder with its `shard.json` and segments, and `stream.json`. */
export async function loadSnapshot(location: ArchiveLocation): Promise<ArchiveSnapshot> {
  const [{ folders }, stream] = await Promise.all([listKeys(location, location.prefix, { delimiter: '/' }), readStreamMeta(location)]);
  const shardIds = folders.map((folder) => folder.slice(location.prefix.length, -1)).filter((id) => /^[A-Za-z0-9_.-]{1,128}$/.test(id));
  const shards = await Promise.all(shardIds.map(async (shardId): Promise<ShardArchive> => {
    const [meta, segments] = await Promise.all([readShardMeta(location, shardId), listSegments(location, shardId)]);
    return { shardId, meta, segments };
  }));
  return { stream, shards: new Map(shards.map((shard) => [shard.shardId, shard])) };
}

/** Reads the index of a segment (written before the segment itself). */
export async function readSegmentIndex(location: ArchiveLocation, shardId: string, ref: SegmentRef): Promise<SegmentIndex> {
  const index = await readJson(location, ref.indexKey, segmentIndexSchema);
  if (index === undefined) throw corruptObject(location, ref.key, `its index ${ref.indexKey} is missing`);
  if (index.shardId !== shardId) throw corruptObject(location, ref.indexKey, `it indexes shard ${index.shardId}, not ${shardId}`);
  return index;
}

/** Reads, checks and decodes a segment of a shard. */
export async function readSegment(location: ArchiveLocation, shardId: string, ref: SegmentRef): Promise<LoadedSegment> {
  const [index, body] = await Promise.all([readSegmentIndex(location, shardId, ref), getObject(location, ref.key)]);
  if (body === undefined) throw corruptObject(location, ref.key, 'listed, then gone');
  return { firstIndex: index.firstIndex, records: decodeSegment(objectUrl(location, ref.key), ref, body, index) };
}

/**
 * Writes records as one segment: the index first, then the segment, which is the commit point (readers and a
 * restarted archiver only see listed `.seg` keys). Writing the same records again writes the same two keys.
 */
export async function writeSegment(location: ArchiveLocation, shardId: string, firstIndex: number, records: readonly ArchivedRecord[]): Promise<SegmentRef> {
  const first = records[0];
  const last = records.at(-1);
  if (first === undefined || last === undefined) throw new UnilogError('InvalidArgument', 'A segment holds at least one record.', { argument: 'records', reason: 'empty' });
  const ref = segmentRef(location.prefix, shardId, first.sequence, last.sequence);
  const { body, index } = encodeSegment(shardId, firstIndex, records);
  await writeJson(location, ref.indexKey, index);
  await putObject(location, ref.key, body, 'application/octet-stream');
  return ref;
}
