import { DynamoDBClient, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoViewStorage } from '../../src/aws/index.ts';
import { isUnilogError } from '../../src/errors.ts';
import type { ViewChanges, ViewLayout } from '../../src/views/viewStore.ts';
import { awsEndpoints } from '../aws/endpoints.ts';
import { describeViewStoreContract } from './viewStore.contract.ts';

const aws = awsEndpoints();
const { dynamodb } = aws;

// DynamoDB Local needs Java 17: on a machine without it the suite is reported skipped, naming why, not silently absent.
if ('unavailable' in dynamodb) {
  describe('ViewStore contract: dynamodb (DynamoDB Local)', () => {
    it.skip(`runs against DynamoDB Local (skipped: ${dynamodb.unavailable})`, () => {});
  });
} else {
  const client = new DynamoDBClient({ endpoint: dynamodb.endpoint, region: aws.region, credentials: aws.credentials, requestHandler: new NodeHttpHandler(), maxAttempts: 2 });
  afterAll(() => { client.destroy(); });
  // A fresh table per test: the prefix names this file, the process and the test.
  const run = `${process.pid}-${Date.now().toString(36)}`;
  let tables = 0;

  describeViewStoreContract('dynamodb (DynamoDB Local)', {
    create: () => {
      const tablePrefix = `unilog-views-${run}-${++tables}-`;
      return Promise.resolve({
        storage: createDynamoViewStorage({ client, tablePrefix }),
        reopen: () => Promise.resolve(createDynamoViewStorage({ client, tablePrefix })),
        dispose: () => Promise.resolve(),
      });
    },
  });

  describe('DynamoDB view storage: effectively-once commits', () => {
    const layout: ViewLayout = { products: { key: 'id', indexes: ['category'] } };
    const rows = (count: number, category: string): ViewChanges['rows'] =>
      Array.from({ length: count }, (_, i) => ({ table: 'products', key: `p${String(i).padStart(4, '0')}`, row: { id: `p${String(i).padStart(4, '0')}`, category } }));
    const conflict = (e: unknown) => isUnilogError(e, 'CheckpointConflict');

    it('a second writer that read the same checkpoint fails and applies nothing', async () => {
      const storage = createDynamoViewStorage({ client, tablePrefix: `unilog-views-${run}-writers-` });
      const first = await storage.open('catalog', 'v1', layout);
      const second = await storage.open('catalog', 'v1', layout);
      expect(await first.checkpoint()).toBeUndefined();
      expect(await second.checkpoint()).toBeUndefined();
      await first.commit({ rows: rows(3, 'a') }, { position: '3', version: 1 });
      await expect(second.commit({ rows: rows(5, 'b') }, { position: '5', version: 1 }), 'a stale checkpoint fails').rejects.toSatisfy(conflict);
      // A split batch (250 rows, 2 items each) fails on its first transaction.
      await expect(second.commit({ rows: rows(250, 'b') }, { position: '250', version: 1 }), 'a stale split batch fails').rejects.toSatisfy(conflict);
      expect((await first.query('products', { index: 'category', value: 'b' })).length, 'nothing of the failed commits applied').toBe(0);
      expect(await second.checkpoint(), 'after reading the checkpoint again it commits').toEqual({ position: '3', version: 1 });
      await second.commit({ rows: [] }, { position: '4', version: 1 });
      await expect(first.commit({ rows: rows(3, 'a') }, { position: '4', version: 1 }), 'a replayed batch fails').rejects.toSatisfy(conflict);
      await first.close();
      await second.close();
    });

    it('a split batch that crashed halfway is retried whole: rows and indexes end as if it ran once', async () => {
      const tablePrefix = `unilog-views-${run}-crash-`;
      let transactions = 0;
      // A client that dies on the fourth transaction, after three parts of the batch were written.
      const crashing = {
        send: (command: unknown) => {
          if (command instanceof TransactWriteItemsCommand && ++transactions === 4) return Promise.reject(new Error('crash'));
          return client.send(command as TransactWriteItemsCommand);
        },
      } as unknown as DynamoDBClient;
      const before = await createDynamoViewStorage({ client, tablePrefix }).open('catalog', 'v1', layout);
      await before.commit({ rows: rows(300, 'a') }, { position: '300', version: 1 });
      transactions = 0;
      const dying = await createDynamoViewStorage({ client: crashing, tablePrefix }).open('catalog', 'v1', layout);
      await expect(dying.commit({ rows: rows(300, 'b') }, { position: '600', version: 1 })).rejects.toThrow('crash');
      expect(transactions, 'the batch needed several transactions').toBe(4);
      const partly = (await before.query('products', { index: 'category', value: 'b', limit: 5000 })).length;
      expect(partly, 'part of the batch was written').toBeGreaterThan(0);
      expect(partly).toBeLessThan(300);
      expect(await before.checkpoint(), 'the checkpoint did not move').toEqual({ position: '300', version: 1 });
      await before.commit({ rows: rows(300, 'b') }, { position: '600', version: 1 });
      expect(await before.query('products', { index: 'category', value: 'a', limit: 5000 }), 'no stale index entry is left').toEqual([]);
      expect(await before.query('products', { index: 'category', value: 'b', limit: 5000 })).toHaveLength(300);
      expect(await before.checkpoint()).toEqual({ position: '600', version: 1 });
    });
  });
}
