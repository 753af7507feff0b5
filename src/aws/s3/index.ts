export { createBucketIfMissing, createS3BlobStore, type S3BlobStoreOptions } from './s3BlobStore.ts';
