import { afterEach, beforeEach, describe, expect } from 'vitest';
import { isUnilogError } from '../../src/errors.ts';
import type { BlobStore } from '../../src/blobs/blobStore.ts';
import { contractCase, type SkippedCases } from './skip.ts';

/** A fresh blob store for one test, and how to dispose of it. */
export interface BlobStoreFixture {
  readonly blobs: BlobStore;
  /** A new store over the same data, as after a restart; adapters that keep nothing leave it out and skip the case. */
  readonly reopen?: () => Promise<BlobStore>;
  readonly dispose: () => Promise<void>;
}

/** Keys that try to leave the store's namespace (or the folder): every adapter refuses them before any I/O. */
export const traversalKeys = ['../escape', 'a/../../escape', '..', '.', './a', 'a/./b', '/etc/passwd', 'a//b', 'a/', '', 'a\\..\\b', '..\\escape', '%2e%2e/escape', 'a/.hidden', '-rf', 'a\u0000b', 'x'.repeat(513)];

const bytes = (...values: number[]) => new Uint8Array(values);
const text = (value: string) => new TextEncoder().encode(value);

/** The BlobStore contract: every adapter runs these cases. */
export function describeBlobStoreContract(name: string, options: { create: () => Promise<BlobStoreFixture>; skip?: readonly SkippedCases[] }): void {
  const test = contractCase(options.skip);

  describe(`BlobStore contract: ${name}`, () => {
    let fixture: BlobStoreFixture;
    let blobs: BlobStore;
    beforeEach(async () => {
      fixture = await options.create();
      blobs = fixture.blobs;
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    test('put then get returns the bytes and content type', async () => {
      await blobs.put('products/p1/main.jpg', bytes(0xff, 0xd8, 0xff, 0x00, 0x0a, 0x0d), { contentType: 'image/jpeg' });
      const blob = await blobs.get('products/p1/main.jpg');
      expect(blob, 'the stored blob is read back').toBeDefined();
      expect([...blob!.body]).toEqual([0xff, 0xd8, 0xff, 0x00, 0x0a, 0x0d]);
      expect(blob!.contentType).toBe('image/jpeg');
    });

    test('get and exists of a missing key report it missing', async () => {
      expect(await blobs.get('nothing/here')).toBeUndefined();
      expect(await blobs.exists('nothing/here')).toBe(false);
      await blobs.put('nothing/there', text('x'), { contentType: 'text/plain' });
      expect(await blobs.exists('nothing/there')).toBe(true);
      expect(await blobs.exists('nothing')).toBe(false);
    });

    test('put replaces the blob under the same key', async () => {
      await blobs.put('k', text('first, longer value'), { contentType: 'text/plain' });
      await blobs.put('k', text('second'), { contentType: 'image/png' });
      const blob = await blobs.get('k');
      expect(new TextDecoder().decode(blob!.body)).toBe('second');
      expect(blob!.contentType).toBe('image/png');
    });

    test('an empty blob is stored', async () => {
      await blobs.put('empty', new Uint8Array(0), { contentType: 'application/octet-stream' });
      expect(await blobs.exists('empty')).toBe(true);
      expect((await blobs.get('empty'))!.body.byteLength).toBe(0);
    });

    test('keys are distinct: a key and its prefix, similar keys, case', async () => {
      const keys = ['a', 'a/b', 'a/b/c', 'A', 'a.b', 'a_b', 'a-b', 'products/p1/MM1/main.jpg'];
      for (const key of keys) await blobs.put(key, text(key), { contentType: 'text/plain' });
      for (const key of keys) expect(new TextDecoder().decode((await blobs.get(key))!.body), `blob ${key}`).toBe(key);
    });

    test('delete removes a blob and reports whether there was one', async () => {
      await blobs.put('gone/soon', text('x'), { contentType: 'text/plain' });
      expect(await blobs.delete('gone/soon')).toEqual({ deleted: true });
      expect(await blobs.exists('gone/soon')).toBe(false);
      expect(await blobs.get('gone/soon')).toBeUndefined();
      expect(await blobs.delete('gone/soon')).toEqual({ deleted: false });
    });

    test('the stored bytes do not change when the caller changes its array', async () => {
      const body = text('original');
      await blobs.put('copy', body, { contentType: 'text/plain' });
      body.fill(0);
      const read = await blobs.get('copy');
      read!.body.fill(1);
      expect(new TextDecoder().decode((await blobs.get('copy'))!.body)).toBe('original');
    });

    test('the content type is stored as its media type, lower-cased', async () => {
      await blobs.put('typed', text('x'), { contentType: 'Image/JPEG; charset=binary' });
      expect((await blobs.get('typed'))!.contentType).toBe('image/jpeg');
    });

    test('keys that try path traversal or are malformed are refused by every operation', async () => {
      for (const key of traversalKeys) {
        const refused = (e: unknown) => isUnilogError(e, 'InvalidArgument') && e.details.argument === 'key';
        await expect(blobs.put(key, text('x'), { contentType: 'text/plain' }), `put ${JSON.stringify(key)}`).rejects.toSatisfy(refused);
        await expect(blobs.get(key), `get ${JSON.stringify(key)}`).rejects.toSatisfy(refused);
        await expect(blobs.exists(key), `exists ${JSON.stringify(key)}`).rejects.toSatisfy(refused);
        await expect(blobs.delete(key), `delete ${JSON.stringify(key)}`).rejects.toSatisfy(refused);
      }
    });

    test('a bad content type or body is refused and stores nothing', async () => {
      for (const contentType of ['', 'jpeg', 'image/', '/jpeg', 'image/jpeg/x', 'image jpeg']) {
        await expect(blobs.put('bad', text('x'), { contentType }), `contentType ${JSON.stringify(contentType)}`).rejects.toSatisfy((e) => isUnilogError(e, 'InvalidArgument'));
      }
      await expect(blobs.put('bad', 'not bytes' as unknown as Uint8Array, { contentType: 'text/plain' })).rejects.toSatisfy((e) => isUnilogError(e, 'InvalidArgument'));
      expect(await blobs.exists('bad')).toBe(false);
    });

    test('a closed store refuses calls', async () => {
      await blobs.put('k', text('x'), { contentType: 'text/plain' });
      await blobs.close();
      await expect(blobs.get('k')).rejects.toSatisfy((e) => isUnilogError(e, 'LogClosed'));
      await expect(blobs.put('k', text('y'), { contentType: 'text/plain' })).rejects.toSatisfy((e) => isUnilogError(e, 'LogClosed'));
    });

    test('a reopened store keeps its blobs', async () => {
      if (!fixture.reopen) throw new Error('this adapter declares reopen support but its fixture has no reopen');
      await blobs.put('kept/main.jpg', bytes(1, 2, 3), { contentType: 'image/jpeg' });
      await blobs.close();
      const reopened = await fixture.reopen();
      try {
        const blob = await reopened.get('kept/main.jpg');
        expect([...blob!.body]).toEqual([1, 2, 3]);
        expect(blob!.contentType).toBe('image/jpeg');
      } finally {
        await reopened.close();
      }
    });
  });
}
