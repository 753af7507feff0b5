import { DeleteTableCommand, DynamoDBClient, PutItemCommand, ScanCommand, TransactionCanceledException, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { awsResources, createDynamoTimerStore, timerTableName } from '../../src/aws/index.ts';
import { ensureTable } from '../../src/aws/init.ts';
import { createManualClock, createMemoryEventLog, createPublisher, createTimerScheduler, defineEvent, isUnilogError, timerEventId, type TimerStore } from '../../src/index.ts';
import { awsEndpoints } from '../aws/endpoints.ts';
import { describeTimerStoreContract } from './timerStore.contract.ts';

const aws = awsEndpoints();
const { dynamodb } = aws;

// DynamoDB Local needs Java 17: on a machine without it the suite is reported skipped, naming why, not silently absent.
if ('unavailable' in dynamodb) {
  describe('TimerStore contract: dynamodb (DynamoDB Local)', () => {
    it.skip(`runs against DynamoDB Local (skipped: ${dynamodb.unavailable})`, () => {});
  });
} else {
  const client = new DynamoDBClient({ endpoint: dynamodb.endpoint, region: aws.region, credentials: aws.credentials, requestHandler: new NodeHttpHandler(), maxAttempts: 2 });
  afterAll(() => { client.destroy(); });
  const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  let tables = 0;

  /** A fresh timer table as the deployment defines it (`awsResources`), under a prefix naming this run and test. */
  const createTable = async (): Promise<{ tableName: string; remove: () => Promise<void> }> => {
    const prefix = `tm${run}${++tables}-`;
    const definition = awsResources({ prefix }).tables.find((t) => t.purpose === 'timers');
    if (definition === undefined) throw new Error('awsResources() defines no timers table');
    expect(definition.name).toBe(timerTableName(prefix));
    await ensureTable(client, definition, 60);
    return { tableName: definition.name, remove: async () => { await client.send(new DeleteTableCommand({ TableName: definition.name })); } };
  };

  describeTimerStoreContract('dynamodb (DynamoDB Local, a table per test)', {
    create: async () => {
      const { tableName, remove } = await createTable();
      const store = createDynamoTimerStore({ dynamodb: client, tableName });
      return {
        store,
        reopen: () => Promise.resolve(createDynamoTimerStore({ dynamodb: client, tableName })),
        dispose: async () => {
          await store.close();
          await remove();
        },
      };
    },
  });

  const t0 = Date.parse('2025-01-01T00:00:00.000Z');
  const event = (n: number) => ({ type: 'thing.due', data: { thingId: 't1', n } });

  /** A store on a fresh table for one test, the table removed afterwards. */
  const withStore = async (body: (store: TimerStore, tableName: string) => Promise<void>) => {
    const { tableName, remove } = await createTable();
    const store = createDynamoTimerStore({ dynamodb: client, tableName });
    try {
      await body(store, tableName);
    } finally {
      await store.close();
      await remove();
    }
  };
  const scan = async (TableName: string) =>
    ((await client.send(new ScanCommand({ TableName, ConsistentRead: true }))).Items ?? [])
      .map((item) => ({ pk: item['pk']?.S, sk: item['sk']?.S, state: item['state']?.S, dueAt: item['dueAt']?.N, id: item['id']?.S }))
      .sort((a, b) => `${a.pk} ${a.sk}`.localeCompare(`${b.pk} ${b.sk}`));

  describe('DynamoDB timer store', () => {
    it('keeps a state item per timer and a pending item per pending timer, as docs/aws.md describes', async () => {
      await withStore(async (store, tableName) => {
        await store.add({ id: 'a', dueAt: t0 + 5, event: event(1) });
        await store.add({ id: 'b', dueAt: -5, event: event(2) });
        await store.add({ id: 'c', dueAt: t0, event: event(3) });
        await store.cancel('b');
        await store.markFired('c');
        expect(await scan(tableName)).toEqual([
          { pk: 'pending', sk: `p000${t0 + 5}#a`, state: undefined, dueAt: String(t0 + 5), id: 'a' },
          { pk: 'timer#a', sk: '-', state: 'pending', dueAt: String(t0 + 5), id: 'a' },
          { pk: 'timer#b', sk: '-', state: 'cancelled', dueAt: '-5', id: 'b' },
          { pk: 'timer#c', sk: '-', state: 'fired', dueAt: String(t0), id: 'c' },
        ]);
        expect(`p000${t0 + 5}`, 'the due time is 16 digits').toHaveLength(17);
      });
    });

    it('refuses an id over 1006 bytes of UTF-8 (a sort key holds 1024) with InvalidArgument', async () => {
      await withStore(async (store) => {
        expect(await store.add({ id: 'é'.repeat(503), dueAt: t0, event: event(1) }), '1006 bytes').toBe(true);
        await expect(store.add({ id: 'é'.repeat(504), dueAt: t0, event: event(1) }), '1008 bytes').rejects.toSatisfy((e) => isUnilogError(e, 'InvalidArgument') && e.details.argument === 'id');
        expect(await store.get('é'.repeat(504)), 'such an id is unknown, without a request DynamoDB would refuse').toBeUndefined();
        expect(await store.cancel('é'.repeat(504))).toBe(false);
      });
    });

    it('refuses an event too large for a DynamoDB item with EventTooLarge, and a malformed one with InvalidArgument', async () => {
      await withStore(async (store) => {
        const error: unknown = await store.add({ id: 'big', dueAt: t0, event: { type: 'thing.due', data: 'x'.repeat(360_000) } }).catch((e: unknown) => e);
        expect(isUnilogError(error, 'EventTooLarge') && error.details, 'the size and the limit').toEqual({ bytes: 360_030, limit: 350_000, type: 'thing.due' });
        await expect(store.add({ id: 'bad', dueAt: t0, event: { type: '', data: 1 } })).rejects.toSatisfy((e) => isUnilogError(e, 'InvalidArgument') && e.details.argument === 'event');
        expect(await store.nextDueAt(), 'nothing stored').toBeUndefined();
      });
    });

    it('a missing table is LogNotFound, naming the table', async () => {
      const tableName = `tm${run}-missing`;
      const store = createDynamoTimerStore({ dynamodb: client, tableName });
      const error: unknown = await store.add({ id: 'a', dueAt: t0, event: event(1) }).catch((e: unknown) => e);
      expect(isUnilogError(error, 'LogNotFound'), String(error)).toBe(true);
      expect((error as Error).message).toContain(tableName);
      await expect(store.due(t0, 10)).rejects.toSatisfy((e) => isUnilogError(e, 'LogNotFound'));
    });

    it('an item that is not a unilog timer is LogCorrupted', async () => {
      await withStore(async (store, TableName) => {
        await client.send(new PutItemCommand({ TableName, Item: { pk: { S: 'pending' }, sk: { S: 'p0000000000000001#x' }, id: { S: 'x' }, dueAt: { N: '1' }, event: { S: '{"data":1}' } } }));
        await client.send(new PutItemCommand({ TableName, Item: { pk: { S: 'timer#y' }, sk: { S: '-' }, id: { S: 'y' }, dueAt: { N: '1' }, event: { S: '{"type":"a"}' }, state: { S: 'done' } } }));
        const corrupt = (e: unknown) => isUnilogError(e, 'LogCorrupted') && e.details.segment === `dynamodb:${TableName}`;
        await expect(store.due(t0, 10), 'a pending item without an event type').rejects.toSatisfy(corrupt);
        await expect(store.get('y'), 'a state item with an unknown state').rejects.toSatisfy(corrupt);
      });
    });

    it('two stores on one table, racing: each id is added once and settled once', async () => {
      await withStore(async (first, tableName) => {
        const second = createDynamoTimerStore({ dynamodb: client, tableName });
        const idList = Array.from({ length: 12 }, (_, i) => `race-${i}`);
        const added = await Promise.all(idList.flatMap((id, i) => [first.add({ id, dueAt: t0 + i, event: event(1) }), second.add({ id, dueAt: t0 + i, event: event(2) })]));
        expect(added.filter(Boolean), 'one add per id stored it').toHaveLength(idList.length);
        const cancelled = await Promise.all(idList.map(async (id) => (await Promise.all([first.cancel(id), second.markFired(id), second.cancel(id)])).filter(Boolean).length));
        for (const [i, id] of idList.entries()) {
          const state = (await first.get(id))?.state;
          expect(state === 'cancelled' ? 1 : 0, `${id} (${String(state)}): cancel said true once exactly when it was cancelled`).toBe(cancelled[i]);
        }
        expect(await scan(tableName).then((items) => items.filter((item) => item.pk === 'pending')), 'no pending item is left').toEqual([]);
        await second.close();
      });
    });

    it('a transaction cancelled by a conflicting one is retried; endless conflicts are ServiceUnavailable', async () => {
      await withStore(async (_, tableName) => {
        let conflicts = 0;
        let transactions = 0;
        // DynamoDB Local runs transactions one at a time: the conflicts real DynamoDB reports are injected in front of it.
        const conflicting = {
          send: (command: unknown) => {
            if (command instanceof TransactWriteItemsCommand) {
              transactions++;
              if (conflicts-- > 0) return Promise.reject(new TransactionCanceledException({ message: 'Transaction cancelled', $metadata: {}, CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }] }));
            }
            // Any command: the cast only picks one of send's overloads.
            return client.send(command as TransactWriteItemsCommand);
          },
        } as unknown as DynamoDBClient;
        const store = createDynamoTimerStore({ dynamodb: conflicting, tableName });
        conflicts = 2;
        expect(await store.add({ id: 'a', dueAt: t0, event: event(1) }), 'stored on the third try').toBe(true);
        expect(transactions).toBe(3);
        conflicts = 2;
        expect(await store.cancel('a'), 'cancelled on the third try').toBe(true);
        expect(await store.nextDueAt(), 'its pending item went with it').toBeUndefined();
        conflicts = Number.POSITIVE_INFINITY;
        await expect(store.add({ id: 'b', dueAt: t0, event: event(1) })).rejects.toSatisfy((e) => isUnilogError(e, 'ServiceUnavailable') && e.details.reason === 'transaction conflicts');
        expect(await store.get('b'), 'nothing stored').toBeUndefined();
      });
    });

    it('a transaction that reached DynamoDB twice (the SDK retrying a lost answer) reports what the first did', async () => {
      await withStore(async (_, tableName) => {
        // Sends each transaction twice, as the SDK does when an answer is lost: the same request, the same token.
        const twice = {
          send: async (command: unknown) => {
            if (command instanceof TransactWriteItemsCommand) await client.send(command);
            return client.send(command as TransactWriteItemsCommand);
          },
        } as unknown as DynamoDBClient;
        const store = createDynamoTimerStore({ dynamodb: twice, tableName });
        expect(await store.add({ id: 'a', dueAt: t0, event: event(1) }), 'the add stored it').toBe(true);
        expect(await store.add({ id: 'a', dueAt: t0, event: event(1) }), 'a second add is refused').toBe(false);
        expect(await store.cancel('a'), 'the cancel cancelled it').toBe(true);
        expect((await store.get('a'))?.state).toBe('cancelled');
      });
    });

    it('the timer scheduler fires timers stored in DynamoDB once, also from a second store after a restart', async () => {
      const Due = defineEvent({ type: 'thing.due', schema: z.strictObject({ thingId: z.string(), n: z.number().int() }), key: (d) => d.thingId });
      await withStore(async (store, tableName) => {
        const log = createMemoryEventLog();
        const clock = createManualClock(t0);
        const publisher = createPublisher({ log, catalog: [Due], source: 'timers-test' });
        const first = createTimerScheduler({ store, publisher, clock });
        await first.schedule('one', { at: t0 + 10, event: { type: 'thing.due', data: { thingId: 't1', n: 1 } } });
        await first.schedule('two', { at: t0 + 20, event: { type: 'thing.due', data: { thingId: 't1', n: 2 } } });
        await first.schedule('gone', { at: t0 + 5, event: { type: 'thing.due', data: { thingId: 't1', n: 0 } } });
        expect(await first.cancel('gone')).toBe(true);
        clock.advance(10);
        expect(await first.fireDue()).toBe(1);
        await first.stop();

        const second = createTimerScheduler({ store: createDynamoTimerStore({ dynamodb: client, tableName }), publisher, clock });
        clock.advance(100);
        expect(await second.fireDue()).toBe(1);
        expect(await second.fireDue(), 'nothing fires twice').toBe(0);
        const events = (await log.read({ limit: 10 })).events.map((e) => ({ id: e.event.id, data: e.event.data }));
        expect(events).toEqual([
          { id: timerEventId('one'), data: { thingId: 't1', n: 1 } },
          { id: timerEventId('two'), data: { thingId: 't1', n: 2 } },
        ]);
      });
    });
  });
}
