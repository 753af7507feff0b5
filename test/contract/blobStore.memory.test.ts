import { createMemoryBlobStore } from '../../src/index.ts';
import { describeBlobStoreContract } from './blobStore.contract.ts';

describeBlobStoreContract('memory', {
  create: () => {
    const blobs = createMemoryBlobStore();
    return Promise.resolve({ blobs, dispose: () => blobs.close() });
  },
  skip: [{ reason: 'memory storage keeps nothing outside its object, so there is nothing to reopen', tests: ['a reopened store keeps its blobs'] }],
});
