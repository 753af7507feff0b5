import { crc32 } from 'node:zlib';

/**
 * Record frame, little-endian (see docs/architecture.md#record-format):
 *   0       u8   magic 0xE7
 *   1       u8   flags: bit 0 set on the last record of an append batch
 *   2       u48  position (global sequence number)
 *   8       u32  payload length n in bytes
 *   12      n    payload: the envelope as UTF-8 JSON
 *   12 + n  u32  CRC-32 of bytes 0 .. 12 + n (header and payload)
 * The CRC trails the payload so that one contiguous crc32 call covers the whole frame.
 */
export const frameHeaderBytes = 12;
/** Header and CRC trailer: the bytes a frame has besides its payload. */
export const frameOverheadBytes = 16;
export const frameMagic = 0xe7;
export const batchEndFlag = 0x01;
/** Positions are stored in 48 bits. */
export const maxPosition = 2 ** 48 - 1;

/** Encodes a batch of serialized events into one buffer of consecutive frames; the last carries the batch-end flag. */
export function encodeBatch(jsons: readonly string[], firstPosition: number): { buffer: Buffer; frameOffsets: Uint32Array } {
  // A UTF-16 unit takes at most 3 UTF-8 bytes: with room for that, each payload is written in one pass, with no
  // separate byte count. Huge batches count first instead, so that the bound does not triple their memory.
  let bound = 0;
  for (const json of jsons) bound += frameOverheadBytes + json.length * 3;
  const exact = bound > singlePassLimitBytes;
  let total = bound;
  if (exact) {
    total = 0;
    for (const json of jsons) total += frameOverheadBytes + Buffer.byteLength(json);
  }
  const { buffer, start } = exact ? { buffer: Buffer.allocUnsafe(total), start: 0 } : carve(bound);
  const frameOffsets = new Uint32Array(jsons.length);
  let offset = start;
  for (let i = 0; i < jsons.length; i++) {
    frameOffsets[i] = offset - start;
    buffer[offset] = frameMagic;
    buffer[offset + 1] = i === jsons.length - 1 ? batchEndFlag : 0;
    buffer.writeUIntLE(firstPosition + i, offset + 2, 6);
    const length = buffer.write(jsons[i] as string, offset + frameHeaderBytes, 'utf8');
    buffer.writeUInt32LE(length, offset + 8);
    const crcAt = offset + frameHeaderBytes + length;
    buffer.writeUInt32LE(crc32(buffer.subarray(offset, crcAt)), crcAt);
    offset = crcAt + 4;
  }
  if (exact) return { buffer, frameOffsets };
  if (buffer === slab) slabUsed = (offset + 7) & ~7;
  return { buffer: buffer.subarray(start, offset), frameOffsets };
}

/** Batches are encoded into shared slabs of this size, each batch a slice: one allocation for many batches. */
const slabBytes = 1024 * 1024;
let slab: Buffer | undefined;
let slabUsed = 0;

/**
 * Room for `bound` bytes in the current slab (a new slab when it is full). A buffer per batch, sized for the worst
 * case, cost more than encoding it: a fresh allocation, three times the bytes needed, and more work for the GC.
 * A slab is freed once no batch encoded in it is referenced any more.
 */
function carve(bound: number): { buffer: Buffer; start: number } {
  if (bound > slabBytes / 4) return { buffer: Buffer.allocUnsafe(bound), start: 0 };
  if (!slab || slabUsed + bound > slab.length) {
    slab = Buffer.allocUnsafe(slabBytes);
    slabUsed = 0;
  }
  return { buffer: slab, start: slabUsed };
}

/** Batches whose worst-case size is above this are measured exactly before they are encoded. */
const singlePassLimitBytes = 4 * 1024 * 1024;

/** The outcome of decoding the frame at one offset of a buffer. */
export type FrameCheck =
  | { readonly kind: 'ok'; readonly position: number; readonly batchEnd: boolean; readonly payloadStart: number; readonly payloadEnd: number; readonly end: number }
  /** The buffer ends before the frame does: read more, or the log ends here. */
  | { readonly kind: 'short'; readonly needed: number }
  | { readonly kind: 'bad'; readonly reason: string };

/**
 * Checks the header at `offset` without the CRC: returns the payload length, or why the header is bad.
 * Shared by the scanner and the read loop, so both judge damage alike.
 */
export function checkHeader(buffer: Buffer, offset: number, maxPayloadBytes: number, expectedPosition: number | undefined): number | string {
  if (buffer[offset] !== frameMagic) return 'bad magic byte';
  if (((buffer[offset + 1] as number) & ~batchEndFlag) !== 0) return 'unknown flags';
  if (expectedPosition !== undefined) {
    const position = buffer.readUIntLE(offset + 2, 6);
    if (position !== expectedPosition) return `position ${position} where ${expectedPosition} was expected`;
  }
  const length = buffer.readUInt32LE(offset + 8);
  if (length === 0 || length > maxPayloadBytes) return `implausible length ${length}`;
  return length;
}

/** True when the CRC of the frame at `offset` with a payload of `length` bytes matches its trailer. */
export function crcMatches(buffer: Buffer, offset: number, length: number): boolean {
  const crcAt = offset + frameHeaderBytes + length;
  return crc32(buffer.subarray(offset, crcAt)) === buffer.readUInt32LE(crcAt);
}

/** Decodes and checks the frame at `offset`; `expectedPosition` (when given) must match, and the CRC is checked when `verify`. */
export function checkFrame(buffer: Buffer, offset: number, end: number, maxPayloadBytes: number, expectedPosition: number | undefined, verify = true): FrameCheck {
  if (end - offset < frameHeaderBytes) {
    // Even a short header can be recognised as garbage, which matters for a zero-filled tail.
    if (end > offset && buffer[offset] !== frameMagic) return { kind: 'bad', reason: 'bad magic byte' };
    return { kind: 'short', needed: frameHeaderBytes };
  }
  const length = checkHeader(buffer, offset, maxPayloadBytes, expectedPosition);
  if (typeof length === 'string') return { kind: 'bad', reason: length };
  const frameEnd = offset + frameOverheadBytes + length;
  if (frameEnd > end) return { kind: 'short', needed: frameOverheadBytes + length };
  if (verify && !crcMatches(buffer, offset, length)) return { kind: 'bad', reason: 'CRC mismatch' };
  const payloadStart = offset + frameHeaderBytes;
  return { kind: 'ok', position: buffer.readUIntLE(offset + 2, 6), batchEnd: ((buffer[offset + 1] as number) & batchEndFlag) !== 0, payloadStart, payloadEnd: payloadStart + length, end: frameEnd };
}
