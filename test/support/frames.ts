import { readFile } from 'node:fs/promises';

/** The byte offset of every frame in a segment file, read with the documented layout (length at byte 8, 16-byte header). */
export async function frameOffsets(file: string): Promise<number[]> {
  const bytes = await readFile(file);
  const offsets: number[] = [];
  for (let at = 0; at + 16 <= bytes.length; at += 16 + bytes.readUInt32LE(at + 8)) offsets.push(at);
  return offsets;
}
