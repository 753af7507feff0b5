import { DeleteBucketCommand, DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { createBucketIfMissing, createS3BlobStore } from '../../src/aws/index.ts';
import { isUnilogError } from '../../src/errors.ts';
import { awsEndpoints } from '../aws/endpoints.ts';
import { describeBlobStoreContract } from './blobStore.contract.ts';

/** A client for s3rver: path-style addressing, its own key pair, and checksums only where S3 requires them (s3rver checks none). */
function s3rverClient(): S3Client {
  const aws = awsEndpoints();
  return new S3Client({
    endpoint: aws.s3,
    region: aws.region,
    credentials: aws.s3Credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
  });
}

const client = s3rverClient();
afterAll(() => { client.destroy(); });

let buckets = 0;

/** A fresh, uniquely named bucket, and how to empty and delete it. */
async function createTestBucket(): Promise<{ bucket: string; remove: () => Promise<void> }> {
  const bucket = `unilog-${process.pid}-${Date.now().toString(36)}-${++buckets}`;
  await createBucketIfMissing(client, bucket);
  return {
    bucket,
    remove: async () => {
      const { Contents = [] } = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      for (const { Key } of Contents) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    },
  };
}

describeBlobStoreContract('s3 (s3rver, a bucket per test)', {
  create: async () => {
    const { bucket, remove } = await createTestBucket();
    const blobs = createS3BlobStore({ client, bucket });
    return {
      blobs,
      reopen: () => Promise.resolve(createS3BlobStore({ client, bucket })),
      dispose: async () => {
        await blobs.close();
        await remove();
      },
    };
  },
});

describe('S3 blob store', () => {
  it('stores objects under its prefix, and stores with other prefixes do not see them', async () => {
    const { bucket, remove } = await createTestBucket();
    try {
      const photos = createS3BlobStore({ client, bucket, prefix: 'shop/blobs' });
      const other = createS3BlobStore({ client, bucket, prefix: 'shop/other/' });
      await photos.put('products/p1/main.jpg', new Uint8Array([1, 2]), { contentType: 'image/jpeg' });
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'shop/blobs/products/p1/main.jpg' }));
      expect(head.ContentType, 'the object key is prefix/key and keeps its Content-Type').toBe('image/jpeg');
      expect(await other.exists('products/p1/main.jpg'), 'another prefix is another namespace').toBe(false);
      expect(await createS3BlobStore({ client, bucket }).exists('products/p1/main.jpg'), 'no prefix is another namespace').toBe(false);
      expect(await createS3BlobStore({ client, bucket, prefix: 'shop/blobs/' }).exists('products/p1/main.jpg'), 'a trailing "/" is optional').toBe(true);
    } finally {
      await remove();
    }
  });

  it('refuses a malformed prefix when created', () => {
    for (const prefix of ['/abs', '../up', 'a//b', '.hidden', 'x'.repeat(512)]) {
      expect(() => createS3BlobStore({ client, bucket: 'any', prefix }), `prefix ${JSON.stringify(prefix)}`).toThrow(
        expect.objectContaining({ code: 'InvalidArgument', details: expect.objectContaining({ argument: 'prefix' }) as unknown }),
      );
    }
  });

  it('a missing bucket is an error, not a missing blob', async () => {
    const blobs = createS3BlobStore({ client, bucket: `unilog-missing-${process.pid}-${Date.now().toString(36)}` });
    const error: unknown = await blobs.get('k').catch((e: unknown) => e);
    expect(error, 'get on a missing bucket throws').toBeInstanceOf(Error);
    expect(isUnilogError(error), 'the SDK error passes through').toBe(false);
    expect((error as Error).name).toBe('NoSuchBucket');
  });

  it('createBucketIfMissing is idempotent', async () => {
    const { bucket, remove } = await createTestBucket();
    try {
      await createBucketIfMissing(client, bucket);
      await createS3BlobStore({ client, bucket }).put('k', new Uint8Array([1]), { contentType: 'text/plain' });
      await createBucketIfMissing(client, bucket);
      expect(await createS3BlobStore({ client, bucket }).exists('k'), 'the second call leaves the bucket as it was').toBe(true);
    } finally {
      await remove();
    }
  });
});
