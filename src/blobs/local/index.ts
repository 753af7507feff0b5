import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { UnilogError } from '../../errors.ts';
import { checkBlobKey, checkBody, checkContentType, type BlobStore } from '../blobStore.ts';

/** Options of {@link openLocalBlobStore}. */
export interface LocalBlobStoreOptions {
  /** The folder the blobs live in; created when missing. */
  readonly dir: string;
}

const tmpFolder = '.tmp';

/**
 * A blob store in a local folder, the default for the embedded demo. Each blob is one file named after the SHA-256
 * of its key, so no key can name a path outside the folder, whatever it contains; the file starts with one JSON
 * line (`{ key, contentType }`) and then holds the bytes. A put writes a temporary file, syncs it and renames it
 * into place: a crash leaves the old blob or the new one.
 * @example
 * const blobs = await openLocalBlobStore({ dir: '.unilog/blobs' });
 */
export async function openLocalBlobStore(options: LocalBlobStoreOptions): Promise<BlobStore> {
  const dir = path.resolve(options.dir);
  await mkdir(path.join(dir, tmpFolder), { recursive: true });
  let closed = false;
  const pending = new Set<Promise<unknown>>();

  const assertOpen = () => {
    if (closed) throw new UnilogError('LogClosed', `The blob store in ${dir} is closed: open it again.`, {});
  };
  /** The file of a key: hashed, and two hex digits of fan-out so that no folder grows past a few thousand files. */
  const fileOf = (key: string) => {
    const hash = createHash('sha256').update(checkBlobKey(key)).digest('hex');
    return path.join(dir, hash.slice(0, 2), hash);
  };
  const track = <T>(work: Promise<T>): Promise<T> => {
    pending.add(work);
    return work.finally(() => pending.delete(work));
  };

  const write = async (key: string, body: Uint8Array, contentType: string) => {
    const file = fileOf(key);
    const header = Buffer.from(`${JSON.stringify({ key, contentType })}\n`);
    const tmp = path.join(dir, tmpFolder, `${randomBytes(8).toString('hex')}.part`);
    const handle = await open(tmp, 'wx');
    try {
      await handle.writev([header, body]);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await rename(tmp, file);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    // The rename is durable only once its folder is synced: the caller may commit an event naming this key next.
    const folder = await open(path.dirname(file), 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  };

  const put: BlobStore['put'] = async (key, body, putOptions) => {
    assertOpen();
    const checkedKey = checkBlobKey(key);
    const bytes = checkBody(body);
    const contentType = checkContentType(putOptions.contentType);
    await track(write(checkedKey, bytes, contentType));
  };

  const get: BlobStore['get'] = async (key) => {
    assertOpen();
    let data: Buffer<ArrayBuffer>;
    try {
      data = await readFile(fileOf(key));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    const newline = data.indexOf(0x0a);
    const header = newline < 0 ? undefined : parseHeader(data.subarray(0, newline).toString('utf8'));
    // A hash collision (or a foreign file) would show as another key: treat it as absent rather than serve it.
    if (header?.key !== key) return undefined;
    return { body: data.subarray(newline + 1), contentType: header.contentType };
  };

  const exists: BlobStore['exists'] = async (key) => {
    assertOpen();
    try {
      return (await stat(fileOf(key))).isFile();
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  };

  const remove: BlobStore['delete'] = async (key) => {
    assertOpen();
    const file = fileOf(key);
    const existed = await exists(key);
    if (existed) await track(rm(file, { force: true }));
    return { deleted: existed };
  };

  const close: BlobStore['close'] = async () => {
    closed = true;
    await Promise.allSettled([...pending]);
  };

  return { put, get, exists, delete: remove, close };
}

function parseHeader(line: string): { key: string; contentType: string } | undefined {
  try {
    const value = JSON.parse(line) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const { key, contentType } = value as Record<string, unknown>;
    return typeof key === 'string' && typeof contentType === 'string' ? { key, contentType } : undefined;
  } catch {
    return undefined;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
