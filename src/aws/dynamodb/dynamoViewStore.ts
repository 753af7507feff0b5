/**
 * View storage on DynamoDB: every copy of every projection in one table, a commit as conditioned transactions.
 * @see docs/aws.md
 * @module
 */
import type * as DynamoSdk from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { UnilogError } from '../../errors.ts';
import type { Checkpoint, DeadLetter, DeadLetterAudit, ParkedEvent, Row, ViewLayout, ViewStorage, ViewStore } from '../../views/viewStore.ts';
import { checkCheckpoint, checkLayout, checkLetterChanges, checkName, invalid, parseLimit, prepareRows } from '../../views/viewChecks.ts';
import {
  auditPrefix, checkpointSk, comparePositions, copyPk, currentPk, currentSk, deadLetterSk, indexPrefix, indexValue,
  type Item, metaSk, parkedSk, rowPrefix, str,
} from './dynamoViewItems.ts';
import { viewTableName } from '../resources.ts';

/** Options of {@link createDynamoViewStorage}. */
export interface DynamoViewStorageOptions {
  /** The DynamoDB client to use; you own it (and destroy it). */
  readonly client: DynamoDBClient;
  /** Prefix of the table names: a projection's views live in the table `<tablePrefix>view-<projection>`. */
  readonly tablePrefix: string;
  /** Create the table (on-demand billing) on first use when it does not exist. @default true */
  readonly createTable?: boolean;
}

/** Actions per `TransactWriteItems` (the DynamoDB limit). */
const maxTransactItems = 100;
/** Bytes per transaction, under the 4 MB limit of DynamoDB with room for keys and expressions. */
const maxTransactBytes = 3_500_000;
/** Keys per `BatchGetItem`, items per `BatchWriteItem`. */
const maxBatchGet = 100;
const maxBatchWrite = 25;

/** One change, as an action of a transaction, with its estimated size. */
interface Op {
  readonly action: TransactWriteItem;
  readonly bytes: number;
}

let lastAuditMs = 0;
/** Audit sort keys: milliseconds, strictly increasing within the process, so a writer's entries keep their order. */
const nextAuditSk = (): string => `${auditPrefix}${String((lastAuditMs = Math.max(Date.now(), lastAuditMs + 1))).padStart(16, '0')}`;

const s = (value: string) => ({ S: value });

/** The name of an error the SDK threw (service errors carry it in `name`). */
const errorName = (error: unknown): string | undefined => (typeof error === 'object' && error !== null ? (error as { name?: unknown }).name as string | undefined : undefined);

/** Whether a transaction was cancelled because a condition failed. */
function conditionFailed(error: unknown): boolean {
  if (errorName(error) !== 'TransactionCanceledException') return false;
  const reasons = (error as { CancellationReasons?: readonly { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.some((reason) => reason.Code === 'ConditionalCheckFailed');
}

/**
 * View storage on DynamoDB (one table, created when missing): rows, secondary indexes, checkpoint, dead letters,
 * parked events and audit of each copy are items of one partition, and `commit` is `TransactWriteItems` conditioned
 * on the checkpoint the store last saw, so a second writer or a replayed batch fails with `CheckpointConflict`.
 * @example
 * const storage = createDynamoViewStorage({ client: new DynamoDBClient({}), tablePrefix: 'shop-' });
 * const view = await storage.open('product-catalog', 'v1', { products: { key: 'id', indexes: ['category'] } });
 * @see docs/aws.md
 */
export function createDynamoViewStorage(options: DynamoViewStorageOptions): ViewStorage {
  const { client } = options;
  // The SDK loads on first use, so creating storage (say, from a config that is never used) costs nothing.
  let sdkPromise: Promise<typeof DynamoSdk> | undefined;
  const sdk = () => (sdkPromise ??= import('@aws-sdk/client-dynamodb'));
  /** Stores open per copy partition: `drop` closes them. */
  const open = new Map<string, Set<() => void>>();

  /** The operations on one projection's table. */
  const forTable = (TableName: string) => {
  let ready: Promise<typeof DynamoSdk> | undefined;
  const ensureTable = () =>
    (ready ??= (async () => {
      const sdkModule = await sdk();
      const { DescribeTableCommand, CreateTableCommand } = sdkModule;
      const status = async () => (await client.send(new DescribeTableCommand({ TableName }))).Table?.TableStatus;
      let current: string | undefined;
      try {
        current = await status();
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw error;
        if (options.createTable === false) throw invalid('tablePrefix', `the table ${TableName} does not exist`, 'Create it (pk and sk strings) or leave createTable on.');
        try {
          await client.send(
            new CreateTableCommand({
              TableName,
              AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
              KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
              BillingMode: 'PAY_PER_REQUEST',
            }),
          );
        } catch (createError) {
          // Another process created it first.
          if (errorName(createError) !== 'ResourceInUseException') throw createError;
        }
        current = await status();
      }
      for (let i = 0; current !== 'ACTIVE'; i++) {
        if (i > 600) throw new Error(`The DynamoDB table ${TableName} did not become ACTIVE within a minute (it is ${String(current)}).`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        current = await status();
      }
      return sdkModule;
    })().catch((error: unknown) => {
      ready = undefined;
      throw error;
    }));

  const getItem = async (pk: string, sk: string): Promise<Item | undefined> => {
    const { GetItemCommand } = await ensureTable();
    return (await client.send(new GetItemCommand({ TableName, Key: { pk: s(pk), sk: s(sk) }, ConsistentRead: true }))).Item;
  };

  /** Items of a partition whose sort key starts with `prefix`, in sort-key order, after `prefix + after`. */
  const queryItems = async (pk: string, prefix: string | undefined, limit = Infinity, after?: string): Promise<Item[]> => {
    const { QueryCommand } = await ensureTable();
    const items: Item[] = [];
    let start: Item | undefined = after === undefined || prefix === undefined ? undefined : { pk: s(pk), sk: s(prefix + after) };
    do {
      const out = await client.send(
        new QueryCommand({
          TableName,
          KeyConditionExpression: prefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: prefix === undefined ? { ':pk': s(pk) } : { ':pk': s(pk), ':prefix': s(prefix) },
          ConsistentRead: true,
          ...(Number.isFinite(limit) ? { Limit: limit - items.length } : {}),
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start !== undefined && items.length < limit);
    return items;
  };

  /** Runs transactions one after another (parallel ones would conflict on the checkpoint item they all check). */
  const transact = async (transactions: readonly TransactWriteItem[][]): Promise<void> => {
    const { TransactWriteItemsCommand } = await ensureTable();
    for (const TransactItems of transactions) await client.send(new TransactWriteItemsCommand({ TransactItems }));
  };

  /** Packs groups of actions (each group applied together) into transactions, leaving `reserve` actions free in each. */
  const pack = (groups: readonly Op[][], reserve: number): TransactWriteItem[][] => {
    const chunks: TransactWriteItem[][] = [];
    let chunk: TransactWriteItem[] = [];
    let bytes = 0;
    for (const group of groups) {
      const groupBytes = group.reduce((sum, op) => sum + op.bytes, 0);
      if (group.length + reserve > maxTransactItems || groupBytes > maxTransactBytes) {
        throw invalid('changes.rows', `one row needs ${group.length} items (${groupBytes} bytes), more than one DynamoDB transaction holds`, 'Index fewer fields or make the row smaller.');
      }
      if (chunk.length + group.length + reserve > maxTransactItems || bytes + groupBytes > maxTransactBytes) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(...group.map((op) => op.action));
      bytes += groupBytes;
    }
    if (chunk.length > 0 || chunks.length === 0) chunks.push(chunk);
    return chunks;
  };

  const put = (pk: string, sk: string, attributes: Item, bytes: number): Op => ({ action: { Put: { TableName, Item: { pk: s(pk), sk: s(sk), ...attributes } } }, bytes: bytes + sk.length + 100 });
  const remove = (pk: string, sk: string): Op => ({ action: { Delete: { TableName, Key: { pk: s(pk), sk: s(sk) } } }, bytes: sk.length + 100 });

  /** The fields indexed in a copy, per table: those of the meta item (every layout it was opened with). */
  const readIndexes = async (pk: string): Promise<Record<string, string[]> | undefined> => {
    const json = str(await getItem(pk, metaSk), 'indexes');
    return json === undefined ? undefined : (JSON.parse(json) as Record<string, string[]>);
  };

  /** The index entries of a row: sort keys of its indexed field values. */
  const indexSks = (table: string, fields: readonly string[], key: string, row: Row): string[] =>
    fields.flatMap((field) => {
      const value = indexValue(row[field]);
      return value === undefined ? [] : [indexPrefix(table, field, value) + key];
    });

  /** The actions writing `row` whole: the row item (listing its index entries), its index entries, and deletes of its stale ones. */
  const rowGroup = (pk: string, table: string, key: string, json: string | null, fields: readonly string[], old: readonly string[], batch: string): Op[] => {
    const rowSk = rowPrefix(table) + key;
    if (json === null) return [remove(pk, rowSk), ...old.map((sk) => remove(pk, sk))];
    const sks = indexSks(table, fields, key, JSON.parse(json) as Row);
    const bytes = Buffer.byteLength(json);
    return [
      put(pk, rowSk, { j: s(json), ix: { L: sks.map(s) }, b: s(batch) }, bytes + sks.reduce((sum, sk) => sum + sk.length, 0)),
      ...sks.map((sk) => put(pk, sk, { j: s(json), b: s(batch) }, bytes)),
      ...old.filter((sk) => !sks.includes(sk)).map((sk) => remove(pk, sk)),
    ];
  };

  /** The index entries the stored rows list, by row sort key (rows without entries are left out). */
  const readEntries = async (pk: string, rowSks: readonly string[]): Promise<Map<string, string[]>> => {
    const { BatchGetItemCommand } = await ensureTable();
    const entries = new Map<string, string[]>();
    for (let i = 0; i < rowSks.length; i += maxBatchGet) {
      let keys: Item[] | undefined = rowSks.slice(i, i + maxBatchGet).map((sk) => ({ pk: s(pk), sk: s(sk) }));
      for (let attempt = 0; keys !== undefined && keys.length > 0; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** attempt)));
        const out: DynamoSdk.BatchGetItemCommandOutput = await client.send(new BatchGetItemCommand({ RequestItems: { [TableName]: { Keys: keys, ConsistentRead: true, ProjectionExpression: 'sk, ix' } } }));
        for (const item of out.Responses?.[TableName] ?? []) {
          const sk = str(item, 'sk');
          const list = (item['ix']?.L ?? []).flatMap((v) => (v.S === undefined ? [] : [v.S]));
          if (sk !== undefined && list.length > 0) entries.set(sk, list);
        }
        keys = out.UnprocessedKeys?.[TableName]?.Keys;
      }
    }
    return entries;
  };

  /** Indexes the stored rows of `table` by `fields` (a copy opened with new indexes). */
  const backfill = async (pk: string, table: string, allFields: readonly string[]): Promise<void> => {
    const rows = await queryItems(pk, rowPrefix(table));
    const groups = rows.flatMap((item) => {
      const sk = str(item, 'sk');
      const json = str(item, 'j');
      if (sk === undefined || json === undefined) return [];
      const old = (item['ix']?.L ?? []).flatMap((v) => (v.S === undefined ? [] : [v.S]));
      return [rowGroup(pk, table, sk.slice(rowPrefix(table).length), json, allFields, old, str(item, 'b') ?? '')];
    });
    await transact(pack(groups, 0));
  };

  const openStore = (pk: string, where: string, layout: ViewLayout, indexes: Record<string, string[]>): ViewStore => {
    let closed = false;
    const close = () => {
      closed = true;
      open.get(pk)?.delete(close);
    };
    let stores = open.get(pk);
    if (!stores) open.set(pk, (stores = new Set()));
    stores.add(close);
    /** The checkpoint this store last read or wrote (null: none); undefined until it knows. */
    let expected: Checkpoint | null | undefined;

    const assertOpen = () => {
      if (closed) throw invalid('store', 'closed', `The view ${where} is closed: open it again.`);
    };
    const tableOf = (name: string) => {
      assertOpen();
      const table = Object.hasOwn(layout, name) ? layout[name] : undefined;
      if (!table) throw invalid('table', `${where} has no table ${JSON.stringify(name)}`, `Use one of: ${Object.keys(layout).join(', ') || '(none)'}.`);
      return table;
    };
    const rowsOf = (items: readonly Item[]): Row[] => items.flatMap((item) => {
      const json = str(item, 'j');
      return json === undefined ? [] : [JSON.parse(json) as Row];
    });
    const listOf = async (prefix: string): Promise<{ position: string; value: unknown; item: Item }[]> =>
      (await queryItems(pk, prefix))
        .map((item) => ({ position: (str(item, 'sk') ?? '').slice(prefix.length), value: JSON.parse(str(item, 'j') ?? 'null') as unknown, item }))
        .sort((a, b) => comparePositions(a.position, b.position));
    const readCheckpoint = async (): Promise<Checkpoint | null> => {
      const item = await getItem(pk, checkpointSk);
      const position = str(item, 'cp');
      const version = item?.['v']?.N;
      return position === undefined || version === undefined ? null : { position, version: Number(version) };
    };

    return {
      get: async (name, key) => {
        tableOf(name);
        const json = str(await getItem(pk, rowPrefix(name) + key), 'j');
        return json === undefined ? undefined : (JSON.parse(json) as Row);
      },
      query: async (name, { index, value, limit }) => {
        tableOf(name);
        const fields = indexes[name] ?? [];
        if (!fields.includes(index)) throw invalid('index', `${name}.${index} is not indexed`, `Query one of: ${fields.join(', ') || '(none)'}, or add it to the table's indexes.`);
        if (!(typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))) {
          throw invalid('value', `${String(value)} is not a string, finite number or boolean`, 'Query by a JSON scalar.');
        }
        const max = parseLimit(limit);
        return rowsOf(await queryItems(pk, indexPrefix(name, index, indexValue(value) ?? ''), max));
      },
      scan: async (name, scanOptions = {}) => {
        tableOf(name);
        const max = parseLimit(scanOptions.limit);
        const { after } = scanOptions;
        if (after !== undefined && typeof after !== 'string') throw invalid('after', `${JSON.stringify(after)} is not a key`, 'Pass the key of the last row of the previous page.');
        return rowsOf(await queryItems(pk, rowPrefix(name), max, after));
      },
      checkpoint: async () => {
        assertOpen();
        expected = await readCheckpoint();
        return expected ?? undefined;
      },
      commit: async (changes, checkpoint) => {
        assertOpen();
        // Everything is checked first: a bad change throws before anything is written.
        const rows = prepareRows(layout, changes.rows, where);
        const { deadLetters, deadLettersGone, parked, parkedGone, audit } = checkLetterChanges(changes);
        const next = checkCheckpoint(checkpoint);

        // The last write per table and key wins: one action per item, as a transaction requires.
        const last = new Map<string, { table: string; key: string; json: string | null }>();
        for (const change of rows) {
          const sk = rowPrefix(change.table) + change.key;
          last.delete(sk);
          last.set(sk, change);
        }
        if (expected === undefined) expected = await readCheckpoint();
        const previous = expected;
        const indexed = [...last.keys()].filter((sk) => (indexes[last.get(sk)?.table ?? '']?.length ?? 0) > 0);
        const old = await readEntries(pk, indexed);
        const batch = next.position;
        const groups: Op[][] = [...last].map(([sk, { table, key, json }]) => rowGroup(pk, table, key, json, indexes[table] ?? [], old.get(sk) ?? [], batch));
        // Removals first, then additions: a position both removed and added in one commit stays.
        const letters = new Map<string, Op>();
        for (const p of deadLettersGone) letters.set(p, remove(pk, deadLetterSk(p)));
        for (const d of deadLetters) letters.set(d.position, put(pk, deadLetterSk(d.position), { j: s(d.json), b: s(batch) }, Buffer.byteLength(d.json)));
        const parkedOps = new Map<string, Op>();
        for (const p of parkedGone) parkedOps.set(p, remove(pk, parkedSk(p)));
        for (const p of parked) parkedOps.set(p.position, put(pk, parkedSk(p.position), { j: s(p.json), s: s(p.subject), b: s(batch) }, Buffer.byteLength(p.json)));
        groups.push(...[...letters.values(), ...parkedOps.values()].map((op) => [op]));
        groups.push(...audit.map((json) => [put(pk, nextAuditSk(), { j: s(json), b: s(batch) }, Buffer.byteLength(json))]));

        // Every transaction is conditioned on the checkpoint still being `previous`; the last one moves it.
        const condition = previous === null
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : { ConditionExpression: '#cp = :cp AND #v = :v', ExpressionAttributeNames: { '#cp': 'cp', '#v': 'v' }, ExpressionAttributeValues: { ':cp': s(previous.position), ':v': { N: String(previous.version) } } };
        const key = { pk: s(pk), sk: s(checkpointSk) };
        const chunks = pack(groups, 1);
        const transactions = chunks.map((chunk, i): TransactWriteItem[] => [
          ...chunk,
          i === chunks.length - 1
            ? { Put: { TableName, Item: { ...key, cp: s(next.position), v: { N: String(next.version) }, b: s(batch) }, ...condition } }
            : { ConditionCheck: { TableName, Key: key, ...condition } },
        ]);
        try {
          await transact(transactions);
        } catch (error) {
          if (!conditionFailed(error)) throw error;
          throw new UnilogError(
            'CheckpointConflict',
            `The checkpoint of the view ${where} is no longer ${previous === null ? 'absent' : JSON.stringify(previous)}: another writer committed, or this batch was committed already. Read checkpoint() and process from there.`,
            { view: where, expected: previous === null ? null : previous.position },
            { cause: error },
          );
        }
        expected = next;
      },
      deadLetters: async () => {
        assertOpen();
        return (await listOf(deadLetterSk(''))).map(({ value }) => value as DeadLetter);
      },
      parked: async (subject) => {
        assertOpen();
        return (await listOf(parkedSk(''))).filter(({ item }) => subject === undefined || str(item, 's') === subject).map(({ value }) => value as ParkedEvent);
      },
      audit: async () => {
        assertOpen();
        return (await queryItems(pk, auditPrefix)).map((item) => JSON.parse(str(item, 'j') ?? 'null') as DeadLetterAudit);
      },
      close: () => {
        close();
        return Promise.resolve();
      },
    };
  };

  return { ensureTable, getItem, queryItems, backfill, openStore, readIndexes };
  };
  const tables = new Map<string, ReturnType<typeof forTable>>();
  const tableOf = (projection: string) => {
    const name = viewTableName(options.tablePrefix, checkName('projection', projection));
    let ops = tables.get(name);
    if (!ops) tables.set(name, (ops = forTable(name)));
    return { TableName: name, ...ops };
  };

  return {
    open: async (projection, copy, layout) => {
      const pk = copyPk(checkName('projection', projection), checkName('copy', copy));
      checkLayout(layout);
      const { TableName, ensureTable, readIndexes, backfill, openStore } = tableOf(projection);
      const { PutItemCommand } = await ensureTable();
      const meta = await readIndexes(pk);
      const stored = meta ?? {};
      const indexes: Record<string, string[]> = { ...stored };
      for (const [table, { indexes: fields }] of Object.entries(layout)) {
        const before = stored[table] ?? [];
        const added = fields.filter((field) => !before.includes(field));
        indexes[table] = [...before, ...added];
        // A new copy has no rows to index.
        if (added.length > 0 && meta !== undefined) await backfill(pk, table, indexes[table]);
      }
      await client.send(new PutItemCommand({ TableName, Item: { pk: s(pk), sk: s(metaSk), indexes: s(JSON.stringify(indexes)) } }));
      return openStore(pk, pk, layout, indexes);
    },
    current: async (projection) => str(await tableOf(projection).getItem(currentPk(projection), currentSk), 'copy'),
    setCurrent: async (projection, copy) => {
      const pk = copyPk(checkName('projection', projection), checkName('copy', copy));
      const { TableName, ensureTable } = tableOf(projection);
      const { TransactWriteItemsCommand } = await ensureTable();
      try {
        await client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { ConditionCheck: { TableName, Key: { pk: s(pk), sk: s(metaSk) }, ConditionExpression: 'attribute_exists(pk)' } },
              { Put: { TableName, Item: { pk: s(currentPk(projection)), sk: s(currentSk), copy: s(copy) } } },
            ],
          }),
        );
      } catch (error) {
        if (conditionFailed(error)) throw invalid('copy', `${pk} does not exist`, 'Open (and build) the copy before it serves reads.');
        throw error;
      }
    },
    drop: async (projection, copy) => {
      const pk = copyPk(checkName('projection', projection), checkName('copy', copy));
      const { TableName, ensureTable, getItem, queryItems } = tableOf(projection);
      const { BatchWriteItemCommand } = await ensureTable();
      if (str(await getItem(currentPk(projection), currentSk), 'copy') === copy) throw invalid('copy', `${pk} serves reads`, 'Make another copy current before dropping this one.');
      for (const close of [...(open.get(pk) ?? [])]) close();
      const items = await queryItems(pk, undefined);
      for (let i = 0; i < items.length; i += maxBatchWrite) {
        let requests: DynamoSdk.WriteRequest[] | undefined = items.slice(i, i + maxBatchWrite).map((item) => ({ DeleteRequest: { Key: { pk: s(pk), sk: s(str(item, 'sk') ?? '') } } }));
        for (let attempt = 0; requests !== undefined && requests.length > 0; attempt++) {
          if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** attempt)));
          requests = (await client.send(new BatchWriteItemCommand({ RequestItems: { [TableName]: requests } }))).UnprocessedItems?.[TableName];
        }
      }
    },
  };
}
