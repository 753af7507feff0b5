import { UnilogError } from '../errors.ts';

/**
 * The BlobStore port: bytes (images, exports) under string keys, beside the log. Events carry the key, never the
 * bytes: a log event is small (1 MiB at most) and an image is not.
 * Adapters: `createMemoryBlobStore` (tests), `openLocalBlobStore` (a folder, the default), and `createS3BlobStore`
 * on the `unilog/aws` subpath; all run one contract suite.
 * @module
 */

/** Options of {@link BlobStore.put}. */
export interface PutBlobOptions {
  /** The media type served with the bytes, such as `image/jpeg`. */
  readonly contentType: string;
}

/** A blob as read back: its bytes and the media type it was stored with. */
export interface StoredBlob {
  /** The bytes, in memory of their own (never shared), so they can be sent as a response body as they are. */
  readonly body: Uint8Array<ArrayBuffer>;
  readonly contentType: string;
}

/** The result of {@link BlobStore.delete}. */
export interface DeleteBlobResult {
  /** False when there was no blob under the key (deleting twice is not an error). */
  readonly deleted: boolean;
}

/**
 * Bytes under keys. `put` replaces whatever the key held and is atomic: a reader sees the old blob or the new one,
 * never a part, so writers that derive keys from their input can retry a put safely.
 */
export interface BlobStore {
  /** Stores `body` under `key`, replacing any blob there; resolves once it is durable. */
  put(key: string, body: Uint8Array, options: PutBlobOptions): Promise<void>;
  /** The blob under `key`, or `undefined` when there is none. */
  get(key: string): Promise<StoredBlob | undefined>;
  /** Whether a blob is stored under `key`. */
  exists(key: string): Promise<boolean>;
  /** Removes the blob under `key`. */
  delete(key: string): Promise<DeleteBlobResult>;
  /** Finishes pending writes; later calls throw `LogClosed`. */
  close(): Promise<void>;
}

/** The longest key, in characters (S3 allows 1024 bytes; half keeps room for a prefix). */
export const maxBlobKeyLength = 512;

// Segments start with a letter, digit or `_`: no `.`/`..` segment, no hidden file, no option-like `-` name. The same
// rule for every adapter, so a key that works on the folder adapter works on S3 too.
const keyPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;
const contentTypePattern = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/;

/** Whether `key` is a valid blob key: `/`-separated segments of `[A-Za-z0-9._-]`, none starting with `.` or `-`. */
export function isBlobKey(key: unknown): key is string {
  return typeof key === 'string' && key.length <= maxBlobKeyLength && keyPattern.test(key);
}

/** Returns `key` if it is a valid blob key; else throws `InvalidArgument` (keys such as `../x` or `/etc` never reach an adapter). */
export function checkBlobKey(key: unknown): string {
  if (isBlobKey(key)) return key;
  const shown = typeof key === 'string' ? JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key) : typeof key;
  throw new UnilogError('InvalidArgument', `A blob key is 1 to ${maxBlobKeyLength} characters of "/"-separated segments of letters, digits, ".", "_" and "-", no segment starting with "." or "-" (such as "products/p1/main.jpg"), not ${shown}.`, {
    argument: 'key',
    reason: 'invalid blob key',
  });
}

/** Returns the media type, lower-cased and without parameters; throws `InvalidArgument` unless it is `type/subtype`. */
export function checkContentType(contentType: unknown): string {
  const essence = typeof contentType === 'string' ? (contentType.split(';')[0] ?? '').trim().toLowerCase() : '';
  if (contentTypePattern.test(essence)) return essence;
  throw new UnilogError('InvalidArgument', `A blob's contentType is a media type such as "image/jpeg", not ${JSON.stringify(contentType)}.`, { argument: 'contentType', reason: 'invalid media type' });
}

/** Throws `InvalidArgument` unless `body` is a Uint8Array (a Buffer is one). */
export function checkBody(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return body;
  throw new UnilogError('InvalidArgument', 'A blob body is a Uint8Array (or a Buffer).', { argument: 'body', reason: 'not bytes' });
}
