import fs from 'node:fs';
import { promisify } from 'node:util';

// The callback API, promisified: FileHandle adds an object and a promise per call, which shows on the hot path.
const readAsync = promisify(fs.read);

export const openFile = promisify(fs.open);
export const closeFile = promisify(fs.close);
export const fdatasync = promisify(fs.fdatasync);
export const ftruncate = promisify(fs.ftruncate);
export const fstat = promisify(fs.fstat);

/** Reads up to `length` bytes at `position` into `buffer` from 0; returns how many were read (fewer only at end of file). */
export async function readAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await readAsync(fd, buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Writes every buffer at `position`, looping over short writes; one thread-pool round trip when the write is whole. */
export function writeAllAt(fd: number, buffers: Buffer[], position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const write = (pending: Buffer[], at: number): void => {
      fs.writev(fd, pending, at, (error, written) => {
        if (error) {
          reject(error);
          return;
        }
        let skip = written;
        const rest: Buffer[] = [];
        for (const buffer of pending) {
          if (skip >= buffer.length) {
            skip -= buffer.length;
          } else {
            rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
            skip = 0;
          }
        }
        if (rest.length === 0) resolve();
        else write(rest, at + written);
      });
    };
    write(buffers, position);
  });
}

/** Makes a directory's entries (created, renamed or deleted files) durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const fd = await openFile(dir, 'r');
  try {
    await promisify(fs.fsync)(fd);
  } finally {
    await closeFile(fd);
  }
}
