import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLocalBlobStore } from '../../src/index.ts';
import { tempDir } from '../support/tempDir.ts';
import { describeBlobStoreContract, traversalKeys } from './blobStore.contract.ts';

describeBlobStoreContract('local folder', {
  create: async () => {
    const { dir, remove } = await tempDir('unilog-blobs-');
    const blobs = await openLocalBlobStore({ dir: path.join(dir, 'blobs') });
    return {
      blobs,
      reopen: () => openLocalBlobStore({ dir: path.join(dir, 'blobs') }),
      dispose: async () => {
        await blobs.close();
        await remove();
      },
    };
  },
});

describe('local folder blob store', () => {
  it('writes nothing outside its folder, whatever the key', async () => {
    const { dir, remove } = await tempDir('unilog-blobs-');
    try {
      const blobs = await openLocalBlobStore({ dir: path.join(dir, 'store', 'blobs') });
      for (const key of traversalKeys) await blobs.put(key, new Uint8Array([1]), { contentType: 'text/plain' }).catch(() => undefined);
      await blobs.put('products/p1/main.jpg', new Uint8Array([1]), { contentType: 'image/jpeg' });
      await blobs.close();
      // The only entry outside the blob folder is the folder itself: a traversal would have left a file beside it.
      expect(await readdir(dir, { recursive: true })).toEqual(expect.arrayContaining(['store', path.join('store', 'blobs')]));
      const outside = (await readdir(dir, { recursive: true })).filter((entry) => !entry.startsWith(path.join('store', 'blobs')) && entry !== 'store');
      expect(outside, 'files written outside the blob folder').toEqual([]);
      const files = (await readdir(path.join(dir, 'store', 'blobs'), { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
      expect(files.map((f) => f.name), 'one blob file, no temporary file left').toHaveLength(1);
    } finally {
      await remove();
    }
  });
});
