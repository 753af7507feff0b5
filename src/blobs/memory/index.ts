import { UnilogError } from '../../errors.ts';
import { checkBlobKey, checkBody, checkContentType, type BlobStore, type StoredBlob } from '../blobStore.ts';

/**
 * A blob store in memory, for tests: the same key rules and semantics as the folder adapter, nothing durable.
 * @example
 * const blobs = createMemoryBlobStore();
 * await blobs.put('products/p1/main.jpg', bytes, { contentType: 'image/jpeg' });
 */
export function createMemoryBlobStore(): BlobStore {
  const blobs = new Map<string, StoredBlob>();
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new UnilogError('LogClosed', 'The blob store is closed: create a new one.', {});
  };

  const put: BlobStore['put'] = async (key, body, options) => {
    await Promise.resolve();
    assertOpen();
    const stored = { body: checkBody(body).slice(), contentType: checkContentType(options.contentType) };
    blobs.set(checkBlobKey(key), stored);
  };
  const get: BlobStore['get'] = async (key) => {
    await Promise.resolve();
    assertOpen();
    const blob = blobs.get(checkBlobKey(key));
    // A copy: a caller changing the bytes it got must not change the store.
    return blob && { body: blob.body.slice(), contentType: blob.contentType };
  };
  const exists: BlobStore['exists'] = async (key) => {
    await Promise.resolve();
    assertOpen();
    return blobs.has(checkBlobKey(key));
  };
  const remove: BlobStore['delete'] = async (key) => {
    await Promise.resolve();
    assertOpen();
    return { deleted: blobs.delete(checkBlobKey(key)) };
  };
  const close: BlobStore['close'] = () => {
    closed = true;
    return Promise.resolve();
  };
  return { put, get, exists, delete: remove, close };
}
