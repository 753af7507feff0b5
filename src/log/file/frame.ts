import { crc32 } from 'node:zlib';

/**
 * Record frame, little-endian (see docs/architecture.md#record-format):
 *   0  u8   magic 0xE7
 *   1  u8   flags: bit 0 set on the last record of an append batch
 *   2  u48  position (global sequence number)
 *   8  u32  payload length in bytes
 *   12 u32  CRC-32 of bytes 0..11 followed by the payload
 *   16 …    payload: the envelope as UTF-8 JSON
 */
export const frameHeaderBytes = 16;
export const frameMagic = 0xe7;
export const batchEndFlag = 0x01;
/** Positions are stored in 48 bits. */
export const maxPosition = 2 ** 48 - 1;

/** Encodes a batch of serialized events into one buffer of consecutive frames; the last carries the batch-end flag. */
export function encodeBatch(jsons: readonly string[], firstPosition: number): { buffer: Buffer; frameOffsets: Uint32Array } {
  const lengths = new Array<number>(jsons.length);
  let total = 0;
  for (let i = 0; i < jsons.length; i++) {
    const bytes = Buffer.byteLength(jsons[i] as string);
    lengths[i] = bytes;
    total += frameHeaderBytes + bytes;
  }
  const buffer = Buffer.allocUnsafe(total);
  const frameOffsets = new Uint32Array(jsons.length);
  let offset = 0;
  for (let i = 0; i < jsons.length; i++) {
    const length = lengths[i] as number;
    frameOffsets[i] = offset;
    buffer[offset] = frameMagic;
    buffer[offset + 1] = i === jsons.length - 1 ? batchEndFlag : 0;
    buffer.writeUIntLE(firstPosition + i, offset + 2, 6);
    buffer.writeUInt32LE(length, offset + 8);
    buffer.write(jsons[i] as string, offset + frameHeaderBytes, length, 'utf8');
    const headerCrc = crc32(buffer.subarray(offset, offset + 12));
    buffer.writeUInt32LE(crc32(buffer.subarray(offset + frameHeaderBytes, offset + frameHeaderBytes + length), headerCrc), offset + 12);
    offset += frameHeaderBytes + length;
  }
  return { buffer, frameOffsets };
}

/** The outcome of decoding the frame at one offset of a buffer. */
export type FrameCheck =
  | { readonly kind: 'ok'; readonly position: number; readonly batchEnd: boolean; readonly payloadStart: number; readonly end: number }
  /** The buffer ends before the frame does: read more, or the log ends here. */
  | { readonly kind: 'short'; readonly needed: number }
  | { readonly kind: 'bad'; readonly reason: string };

/** Decodes and checks the frame at `offset`; `expectedPosition` (when given) must match, and the CRC is checked when `verify`. */
export function checkFrame(buffer: Buffer, offset: number, end: number, maxPayloadBytes: number, expectedPosition: number | undefined, verify = true): FrameCheck {
  if (end - offset < frameHeaderBytes) {
    // Even a short header can be recognised as garbage, which matters for a zero-filled tail.
    if (end > offset && buffer[offset] !== frameMagic) return { kind: 'bad', reason: 'bad magic byte' };
    return { kind: 'short', needed: frameHeaderBytes };
  }
  if (buffer[offset] !== frameMagic) return { kind: 'bad', reason: 'bad magic byte' };
  const flags = buffer[offset + 1] as number;
  if ((flags & ~batchEndFlag) !== 0) return { kind: 'bad', reason: 'unknown flags' };
  const position = buffer.readUIntLE(offset + 2, 6);
  if (expectedPosition !== undefined && position !== expectedPosition) return { kind: 'bad', reason: `position ${position} where ${expectedPosition} was expected` };
  const length = buffer.readUInt32LE(offset + 8);
  if (length === 0 || length > maxPayloadBytes) return { kind: 'bad', reason: `implausible length ${length}` };
  const frameEnd = offset + frameHeaderBytes + length;
  if (frameEnd > end) return { kind: 'short', needed: frameHeaderBytes + length };
  if (verify) {
    const headerCrc = crc32(buffer.subarray(offset, offset + 12));
    const actual = crc32(buffer.subarray(offset + frameHeaderBytes, frameEnd), headerCrc);
    if (actual !== buffer.readUInt32LE(offset + 12)) return { kind: 'bad', reason: 'CRC mismatch' };
  }
  return { kind: 'ok', position, batchEnd: (flags & batchEndFlag) !== 0, payloadStart: offset + frameHeaderBytes, end: frameEnd };
}
