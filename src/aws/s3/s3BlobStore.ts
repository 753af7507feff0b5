import type * as S3Sdk from '@aws-sdk/client-s3';
import type { BucketLocationConstraint, S3Client } from '@aws-sdk/client-s3';
import { checkBlobKey, checkBody, checkContentType, isBlobKey, maxBlobKeyLength, type BlobStore } from '../../blobs/blobStore.ts';
import { UnilogError } from '../../errors.ts';

/** Options of {@link createS3BlobStore}. */
export interface S3BlobStoreOptions {
  /** The client to use; the caller owns it (`close()` does not destroy it). */
  readonly client: S3Client;
  /** The bucket; it must exist (see {@link createBucketIfMissing} for tests and development). */
  readonly bucket: string;
  /**
   * A folder-like prefix put before every key (`blobs` stores `products/p1/main.jpg` as `blobs/products/p1/main.jpg`);
   * segments as in blob keys, at most 511 characters, a trailing `/` optional.
   * @default '' (keys are object keys as they are)
   */
  readonly prefix?: string;
}

/** The media type of an object stored without one (or written by another tool with a malformed one). */
const defaultContentType = 'application/octet-stream';

/**
 * A blob store in an S3 bucket: one object per blob, its key the blob key (after `prefix`), its `Content-Type` the
 * blob's media type. `put` is `PutObject`, which S3 makes atomic and durable before it answers.
 * @example
 * const blobs = createS3BlobStore({ client: new S3Client({ region: 'eu-west-1' }), bucket: 'shop-photos', prefix: 'blobs' });
 * @see docs/aws.md
 */
export function createS3BlobStore(options: S3BlobStoreOptions): BlobStore {
  const { client, bucket } = options;
  const prefix = checkPrefix(options.prefix);
  let closed = false;
  const pending = new Set<Promise<unknown>>();

  // The SDK loads on first use, like the other AWS adapters: creating a store that is never used costs nothing.
  let sdkPromise: Promise<typeof S3Sdk> | undefined;
  const sdk = () => (sdkPromise ??= import('@aws-sdk/client-s3'));

  const assertOpen = () => {
    if (closed) throw new UnilogError('LogClosed', `The S3 blob store of bucket ${bucket} is closed: create a new one.`, {});
  };
  const objectKey = (key: string) => prefix + checkBlobKey(key);
  const track = <T>(work: Promise<T>): Promise<T> => {
    pending.add(work);
    return work.finally(() => pending.delete(work));
  };
  const head = async (Key: string): Promise<boolean> => {
    const { HeadObjectCommand } = await sdk();
    try {
      await client.send(new HeadObjectCommand({ Bucket: bucket, Key }));
      return true;
    } catch (error) {
      // A HEAD answer has no body, so S3 cannot say which of key or bucket is missing: both read as "no blob".
      if (errorName(error) === 'NotFound' || httpStatus(error) === 404) return false;
      throw error;
    }
  };

  const put: BlobStore['put'] = async (key, body, putOptions) => {
    assertOpen();
    const Key = objectKey(key);
    const bytes = checkBody(body);
    const contentType = checkContentType(putOptions.contentType);
    const { PutObjectCommand } = await sdk();
    await track(client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: bytes, ContentType: contentType, ContentLength: bytes.byteLength })));
  };

  const get: BlobStore['get'] = async (key) => {
    assertOpen();
    const Key = objectKey(key);
    const { GetObjectCommand } = await sdk();
    let response: S3Sdk.GetObjectCommandOutput;
    try {
      response = await client.send(new GetObjectCommand({ Bucket: bucket, Key }));
    } catch (error) {
      // Only a missing key is "no blob"; a missing bucket (`NoSuchBucket`) is a configuration error and is thrown.
      if (errorName(error) === 'NoSuchKey') return undefined;
      throw error;
    }
    const received = response.Body ? await response.Body.transformToByteArray() : new Uint8Array(0);
    // A copy into memory of its own: the SDK's array may be a view of a pooled or shared buffer.
    return { body: new Uint8Array(received), contentType: mediaType(response.ContentType) };
  };

  const exists: BlobStore['exists'] = async (key) => {
    assertOpen();
    return head(objectKey(key));
  };

  const remove: BlobStore['delete'] = async (key) => {
    assertOpen();
    const Key = objectKey(key);
    // @debt: DeleteObject succeeds whether or not the object was there, so `deleted` comes from a HEAD just before;
    // a concurrent put or delete between the two can make it wrong (the delete itself is still right).
    const existed = await head(Key);
    if (existed) {
      const { DeleteObjectCommand } = await sdk();
      await track(client.send(new DeleteObjectCommand({ Bucket: bucket, Key })));
    }
    return { deleted: existed };
  };

  const close: BlobStore['close'] = async () => {
    closed = true;
    await Promise.allSettled([...pending]);
  };

  return { put, get, exists, delete: remove, close };
}

/**
 * Creates `bucket` unless it exists (outside us-east-1, in the client's region). Meant for tests and development:
 * production buckets belong in infrastructure code, with their own access and lifecycle rules.
 * @example await createBucketIfMissing(client, 'shop-photos');
 */
export async function createBucketIfMissing(client: S3Client, bucket: string): Promise<void> {
  const { CreateBucketCommand, HeadBucketCommand } = await import('@aws-sdk/client-s3');
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (error) {
    if (errorName(error) !== 'NotFound' && httpStatus(error) !== 404) throw error;
  }
  const region = await client.config.region();
  try {
    await client.send(
      new CreateBucketCommand({
        Bucket: bucket,
        // us-east-1 is the default location and S3 refuses it as an explicit constraint.
        ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
      }),
    );
  } catch (error) {
    // Another process created it first: fine.
    if (errorName(error) !== 'BucketAlreadyOwnedByYou') throw error;
  }
}

function checkPrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  // 511 + '/' + a 512-character key stays within S3's 1024-byte object keys (keys are ASCII).
  if (isBlobKey(bare) && bare.length < maxBlobKeyLength) return `${bare}/`;
  throw new UnilogError('InvalidArgument', `An S3 blob store prefix is "/"-separated segments as in blob keys, at most ${maxBlobKeyLength - 1} characters (such as "blobs"), not ${JSON.stringify(prefix)}.`, {
    argument: 'prefix',
    reason: 'invalid prefix',
  });
}

/** The stored media type, as the other adapters return it: lower-cased, without parameters. */
function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return defaultContentType;
  try {
    return checkContentType(contentType);
  } catch {
    return defaultContentType;
  }
}

function errorName(error: unknown): unknown {
  return (error as { name?: unknown } | null)?.name;
}

function httpStatus(error: unknown): unknown {
  return (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
}
