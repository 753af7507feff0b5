import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { checkFrame, frameHeaderBytes, frameMagic } from './frame.ts';
import { readAt } from './io.ts';

/** No frame payload is larger than this, whatever the log's event limit: a larger length field is damage. */
export const maxFramePayloadBytes = 64 * 1024 * 1024;

/** Index entries are kept at most this many bytes of segment apart. */
const indexSpacingBytes = 4096;

const segmentSuffix = '.seg';
const indexSuffix = '.idx';

/** The file name of the segment whose first record has position `base`. */
export function segmentFileName(base: number): string {
  return `${String(base).padStart(20, '0')}${segmentSuffix}`;
}

/** The bases of the segments in `dir`, ascending. */
export async function listSegmentBases(dir: string): Promise<number[]> {
  const names = await readdir(dir);
  return names
    .filter((name) => /^\d{20}\.seg$/.test(name))
    .map((name) => Number(name.slice(0, 20)))
    .sort((a, b) => a - b);
}

/** A sparse map from position to file offset within one segment: an entry at least every 4 KiB. */
export class SparseIndex {
  readonly positions: number[] = [];
  readonly offsets: number[] = [];

  /** Drops the entries at or after `offset` (bytes cut from the segment). */
  truncate(offset: number): void {
    while (this.offsets.length > 0 && (this.offsets[this.offsets.length - 1] as number) >= offset) {
      this.offsets.pop();
      this.positions.pop();
    }
  }

  /** Records that the frame of `position` starts at `offset`, if far enough from the previous entry. */
  add(position: number, offset: number): void {
    const last = this.offsets.length - 1;
    if (last >= 0 && offset - (this.offsets[last] as number) < indexSpacingBytes) return;
    this.positions.push(position);
    this.offsets.push(offset);
  }

  /** The entry with the greatest position not above `position`, or undefined before the first entry. */
  floor(position: number): { position: number; offset: number } | undefined {
    let lo = 0;
    let hi = this.positions.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.positions[mid] as number) <= position) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? undefined : { position: this.positions[found] as number, offset: this.offsets[found] as number };
  }
}

/** One segment file: its records from `base` (inclusive) to `endPosition` (exclusive) fill bytes 0..endOffset. */
export class Segment {
  index = new SparseIndex();
  /** Bytes known to hold whole, checked batches (for the writer: durable ones). */
  endOffset = 0;
  /** The position after the last record below `endOffset`. */
  endPosition: number;
  /** A read-only descriptor, opened on first read. */
  readFd: number | undefined;

  constructor(
    readonly dir: string,
    readonly base: number,
  ) {
    this.endPosition = base;
  }

  get name(): string {
    return segmentFileName(this.base);
  }

  get path(): string {
    return path.join(this.dir, this.name);
  }

  get indexPath(): string {
    return path.join(this.dir, this.name.replace(segmentSuffix, indexSuffix));
  }
}

const indexMagic = 0x58444955; // "UIDX"
const indexVersion = 1;
const indexHeaderBytes = 32;

/** Writes the segment's index file (temp file, then rename); it is derived data, so it is not fsynced. */
export async function writeIndexFile(segment: Segment): Promise<void> {
  const { positions, offsets } = segment.index;
  const buffer = Buffer.alloc(indexHeaderBytes + positions.length * 8 + 4);
  buffer.writeUInt32LE(indexMagic, 0);
  buffer.writeUInt32LE(indexVersion, 4);
  buffer.writeUIntLE(segment.base, 8, 6);
  buffer.writeUIntLE(segment.endPosition, 16, 6);
  buffer.writeUInt32LE(segment.endOffset, 24);
  buffer.writeUInt32LE(positions.length, 28);
  for (let i = 0; i < positions.length; i++) {
    buffer.writeUInt32LE((positions[i] as number) - segment.base, indexHeaderBytes + i * 8);
    buffer.writeUInt32LE(offsets[i] as number, indexHeaderBytes + i * 8 + 4);
  }
  buffer.writeUInt32LE(crc32(buffer.subarray(0, buffer.length - 4)), buffer.length - 4);
  const temp = `${segment.indexPath}.tmp`;
  await writeFile(temp, buffer);
  await rename(temp, segment.indexPath);
}

/** Why an index file could not be used. */
export type IndexProblem = 'missing' | 'damaged' | 'stale';

/** Loads the index file into `segment` when it is intact and describes `fileBytes` bytes; otherwise says why not. */
export async function loadIndexFile(segment: Segment, fileBytes: number): Promise<IndexProblem | undefined> {
  let buffer: Buffer;
  try {
    buffer = await readFile(segment.indexPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  if (buffer.length < indexHeaderBytes + 4 || buffer.readUInt32LE(0) !== indexMagic || buffer.readUInt32LE(4) !== indexVersion) return 'damaged';
  const count = buffer.readUInt32LE(28);
  if (buffer.length !== indexHeaderBytes + count * 8 + 4) return 'damaged';
  if (crc32(buffer.subarray(0, buffer.length - 4)) !== buffer.readUInt32LE(buffer.length - 4)) return 'damaged';
  if (buffer.readUIntLE(8, 6) !== segment.base || buffer.readUInt32LE(24) !== fileBytes) return 'stale';
  const index = new SparseIndex();
  for (let i = 0; i < count; i++) {
    index.positions.push(segment.base + buffer.readUInt32LE(indexHeaderBytes + i * 8));
    index.offsets.push(buffer.readUInt32LE(indexHeaderBytes + i * 8 + 4));
  }
  segment.index = index;
  segment.endOffset = fileBytes;
  segment.endPosition = buffer.readUIntLE(16, 6);
  return undefined;
}

/** The outcome of scanning a segment's frames. */
export interface ScanResult {
  /** The end of the last whole batch: bytes after it are not part of the log (yet). */
  readonly batchEndOffset: number;
  /** The position after that batch. */
  readonly batchEndPosition: number;
  /** Why the scan stopped before `until`: a damaged frame, or one cut short by the end of the data. */
  readonly stop?: { readonly offset: number; readonly reason: string; readonly kind: 'bad' | 'short' };
  /** Records after the last batch end that belong to a batch with no end. */
  readonly unfinishedRecords: number;
}

/** A frame met while scanning; `buffer` holds the frame between `offset - chunkStart` and `end - chunkStart`. */
export interface ScannedFrame {
  readonly position: number;
  readonly batchEnd: boolean;
  /** The frame's offset in the segment file. */
  readonly offset: number;
  readonly buffer: Buffer;
  readonly payloadStart: number;
  readonly payloadEnd: number;
}

const scanChunkBytes = 1024 * 1024;

/**
 * Walks frames from `startOffset` (whose frame has `startPosition`) up to `until`, checking each CRC when `verify`.
 * `onFrame` may return false to stop after that frame. Adds an index entry for every frame it passes.
 */
export async function scanFrames(
  fd: number,
  segment: Segment,
  options: { startOffset: number; startPosition: number; until: number; verify: boolean; chunkBytes?: number; onFrame?: (frame: ScannedFrame) => boolean | undefined },
): Promise<ScanResult & { readonly nextOffset: number; readonly nextPosition: number }> {
  const { until, verify, onFrame } = options;
  let offset = options.startOffset;
  let position = options.startPosition;
  let batchEndOffset = offset;
  let batchEndPosition = position;
  let unfinishedRecords = 0;
  let chunk = Buffer.allocUnsafe(Math.min(options.chunkBytes ?? scanChunkBytes, Math.max(until - offset, frameHeaderBytes)));
  while (offset < until) {
    const chunkStart = offset;
    const requested = Math.min(chunk.length, until - offset);
    const bytes = await readAt(fd, chunk, requested, offset);
    let at = 0;
    for (;;) {
      const check = checkFrame(chunk, at, bytes, maxFramePayloadBytes, position, verify);
      const frameOffset = chunkStart + at;
      if (check.kind === 'ok') {
        segment.index.add(position, frameOffset);
        const wanted = onFrame?.({ position, batchEnd: check.batchEnd, offset: frameOffset, buffer: chunk, payloadStart: check.payloadStart, payloadEnd: check.payloadEnd });
        at = check.end;
        position++;
        unfinishedRecords++;
        if (check.batchEnd) {
          batchEndOffset = chunkStart + at;
          batchEndPosition = position;
          unfinishedRecords = 0;
        }
        if (wanted === false) return { batchEndOffset, batchEndPosition, unfinishedRecords, nextOffset: chunkStart + at, nextPosition: position };
        continue;
      }
      if (check.kind === 'bad') {
        return { batchEndOffset, batchEndPosition, unfinishedRecords, nextOffset: frameOffset, nextPosition: position, stop: { offset: frameOffset, reason: check.reason, kind: 'bad' } };
      }
      // Short: the data ends here, or the frame runs past this chunk and must be read again whole.
      if (frameOffset + check.needed > until || bytes < requested) {
        const end = chunkStart + bytes;
        const stop = frameOffset >= end ? undefined : { offset: frameOffset, reason: 'record cut short', kind: 'short' as const };
        return { batchEndOffset, batchEndPosition, unfinishedRecords, nextOffset: frameOffset, nextPosition: position, ...(stop ? { stop } : {}) };
      }
      if (check.needed > chunk.length) chunk = Buffer.allocUnsafe(check.needed);
      offset = frameOffset;
      break;
    }
  }
  return { batchEndOffset, batchEndPosition, unfinishedRecords, nextOffset: offset, nextPosition: position };
}

/** Looks for any intact frame at or after `from`: finding one means the damage before it is in the middle of the log. */
export async function findIntactFrameAfter(fd: number, from: number, until: number): Promise<number | undefined> {
  const window = 1024 * 1024;
  const chunk = Buffer.allocUnsafe(window + maxFramePayloadBytes / 64);
  for (let start = from; start < until; start += window) {
    const bytes = await readAt(fd, chunk, Math.min(chunk.length, until - start), start);
    for (let at = 0; at < Math.min(window, bytes); at++) {
      if (chunk[at] !== frameMagic) continue;
      const check = checkFrame(chunk, at, bytes, maxFramePayloadBytes, undefined, true);
      if (check.kind === 'ok') return start + at;
      if (check.kind === 'short' && start + at + check.needed <= until) {
        // A plausible frame longer than the window: read it whole to check its CRC.
        const whole = Buffer.allocUnsafe(check.needed);
        const got = await readAt(fd, whole, check.needed, start + at);
        if (checkFrame(whole, 0, got, maxFramePayloadBytes, undefined, true).kind === 'ok') return start + at;
      }
    }
  }
  return undefined;
}
