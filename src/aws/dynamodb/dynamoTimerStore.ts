/**
 * Durable timers in DynamoDB: the `TimerStore` port on one table, for process managers running on the AWS backend.
 * @see docs/aws.md#timers-in-dynamodb
 * @module
 */
import { randomUUID } from 'node:crypto';
import type * as DynamoSdk from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBClient, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { checkTimer, timerEventSchema, type TimerRecord, type TimerState, type TimerStore } from '../../consumers/timers/timerStore.ts';
import { UnilogError } from '../../errors.ts';

/** Options of {@link createDynamoTimerStore}. */
export interface DynamoTimerStoreOptions {
  /** The client to use; you own it (the store does not destroy it). */
  readonly dynamodb: DynamoDBClient;
  /** The timer table (`timerTableName(prefix)`, created by `unilog aws init` and the CDK app), keyed by `pk` (S) and `sk` (S). */
  readonly tableName: string;
}

type Item = Record<string, AttributeValue>;

/** The partition that lists pending timers by due time, so `due` and `nextDueAt` are one `Query` each. */
const pendingPk = 'pending';
/** The sort key of a timer's state item (alone in its partition). */
const stateSk = '-';
/** A sort key holds 1024 bytes: the 17-character due time and `#` leave this much for the id. */
const maxIdBytes = 1024 - 18;
/** An item holds 400 KB, and the event is in two of them (state and pending): the rest is room for keys and names. */
const maxEventBytes = 350_000;
/** Transactions retried when another transaction on the same items cancelled them. */
const maxAttempts = 10;
const states: readonly string[] = ['pending', 'fired', 'cancelled'] satisfies TimerState[];

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });
const stateKey = (id: string): Item => ({ pk: s(`timer#${id}`), sk: s(stateSk) });

/**
 * A due time as fixed-width text that sorts like the number: `p` and 16 digits from 0 up, `n` and 16 digits of
 * `MAX_SAFE_INTEGER + dueAt` below 0 (`n` sorts before `p`), so string order of sort keys is time order.
 */
function dueKey(dueAt: number): string {
  return dueAt < 0 ? `n${String(Number.MAX_SAFE_INTEGER + dueAt).padStart(16, '0')}` : `p${String(dueAt).padStart(16, '0')}`;
}
/** Ties by id: the due time is fixed width, so `<time>#<id>` sorts by time, then id (UTF-8 bytes, i.e. code points). */
const pendingKey = (dueAt: number, id: string): Item => ({ pk: s(pendingPk), sk: s(`${dueKey(dueAt)}#${id}`) });

/** Whether an id can name a stored timer; others are unknown without asking DynamoDB (which would refuse the key). */
const storableId = (id: unknown): id is string => typeof id === 'string' && id.length > 0 && id.length <= 512 && Buffer.byteLength(id) <= maxIdBytes;

/** The reasons DynamoDB gave for cancelling a transaction, or undefined when the error is something else. */
function cancellationCodes(error: unknown): string[] | undefined {
  if (typeof error !== 'object' || error === null || (error as { name?: unknown }).name !== 'TransactionCanceledException') return undefined;
  return ((error as { CancellationReasons?: readonly { Code?: string }[] }).CancellationReasons ?? []).map((reason) => reason.Code ?? '');
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Timers in one DynamoDB table: a state item per timer, and pending timers also as items of one `pending` partition
 * sorted by due time and id. `add`, `cancel` and `markFired` are `TransactWriteItems` conditioned on the state item
 * (absent for `add`, pending for the others), so each id is stored once and settled once, whatever runs at the same
 * time. Reads are strongly consistent. The SDK loads on first use.
 * @example
 * const timers = createDynamoTimerStore({ dynamodb: clients.dynamodb, tableName: timerTableName('shop-') });
 * const scheduler = createTimerScheduler({ store: timers, publisher });
 * @see docs/aws.md#timers-in-dynamodb
 */
export function createDynamoTimerStore(options: DynamoTimerStoreOptions): TimerStore {
  const { dynamodb: client, tableName: TableName } = options;
  let sdkPromise: Promise<typeof DynamoSdk> | undefined;
  const sdk = () => (sdkPromise ??= import('@aws-sdk/client-dynamodb'));
  let closed = false;

  /** Runs one operation of the store: refused once closed; a missing table says how to create it. */
  const run = async <T>(work: (sdkModule: typeof DynamoSdk) => Promise<T>): Promise<T> => {
    if (closed) throw new UnilogError('LogClosed', `The timer store on DynamoDB table ${TableName} is closed: create it again.`, {});
    try {
      return await work(await sdk());
    } catch (error) {
      if ((error as { name?: unknown } | null)?.name === 'ResourceNotFoundException') {
        throw new UnilogError('LogNotFound', `The DynamoDB table ${TableName} of the timers was not found: create it with unilog aws init (or deploy the CDK app), and check the region and endpoints.`, { dir: `DynamoDB table ${TableName}` }, { cause: error });
      }
      throw error;
    }
  };

  const corrupt = (item: Item, reason: string, cause?: unknown) =>
    new UnilogError('LogCorrupted', `Item ${JSON.stringify(`${item['pk']?.S ?? '?'} ${item['sk']?.S ?? '?'}`)} of table ${TableName} is not a unilog timer (${reason}): only unilog's timer store should write to this table; delete the item.`, {
      segment: `dynamodb:${TableName}`,
      offset: 0,
      reason,
    }, cause === undefined ? undefined : { cause });

  /** A timer from a state or pending item; the event is checked with the port's schema, as every adapter does. */
  const toTimer = (item: Item): TimerRecord => {
    const id = item['id']?.S;
    const dueAt = Number(item['dueAt']?.N);
    const json = item['event']?.S;
    if (id === undefined || !Number.isSafeInteger(dueAt) || json === undefined) throw corrupt(item, 'no id, dueAt or event');
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (cause) {
      throw corrupt(item, 'event is not JSON', cause);
    }
    const event = timerEventSchema.safeParse(parsed);
    if (!event.success) throw corrupt(item, 'event is not a timer event', event.error);
    return { id, dueAt, event: event.data };
  };

  const readState = async ({ GetItemCommand }: typeof DynamoSdk, id: string) => {
    const { Item: item } = await client.send(new GetItemCommand({ TableName, Key: stateKey(id), ConsistentRead: true }));
    if (item === undefined) return undefined;
    const state = item['state']?.S;
    if (state === undefined || !states.includes(state)) throw corrupt(item, `state ${JSON.stringify(state)}`);
    return { timer: toTimer(item), state: state as TimerState };
  };

  /** Runs a transaction: 'condition' when a condition failed; contention with another transaction is retried. */
  const transact = async ({ TransactWriteItemsCommand }: typeof DynamoSdk, id: string, TransactItems: TransactWriteItem[]): Promise<'done' | 'condition'> => {
    for (let attempt = 1; ; attempt++) {
      try {
        // A token, so that the SDK's retry of a request whose answer was lost succeeds instead of failing its own condition.
        await client.send(new TransactWriteItemsCommand({ TransactItems, ClientRequestToken: randomUUID() }));
        return 'done';
      } catch (error) {
        const codes = cancellationCodes(error);
        if (codes?.includes('ConditionalCheckFailed')) return 'condition';
        if (!codes?.includes('TransactionConflict')) throw error;
        if (attempt >= maxAttempts) {
          throw new UnilogError('ServiceUnavailable', `Timer ${id} in table ${TableName} was changed by other writers ${maxAttempts} times in a row: retry.`, { reason: 'transaction conflicts' }, { cause: error });
        }
        await pause(Math.random() * 10 * attempt);
      }
    }
  };

  /** Moves a pending timer to `state`: its state item, conditioned on still being pending, and the delete of its pending item. */
  const settle = (id: string, state: 'fired' | 'cancelled') =>
    run(async (sdkModule) => {
      if (!storableId(id)) return false;
      const current = await readState(sdkModule, id);
      if (current?.state !== 'pending') return false;
      const result = await transact(sdkModule, id, [
        {
          Update: {
            TableName,
            Key: stateKey(id),
            UpdateExpression: 'SET #state = :to',
            ConditionExpression: '#state = :pending',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':to': s(state), ':pending': s('pending') },
          },
        },
        { Delete: { TableName, Key: pendingKey(current.timer.dueAt, id) } },
      ]);
      // A failed condition: another call settled it since it was read.
      return result === 'done';
    });

  return {
    add: (timer) =>
      run(async (sdkModule) => {
        checkTimer(timer);
        if (!storableId(timer.id)) {
          throw new UnilogError('InvalidArgument', `Timer ids on DynamoDB are at most ${maxIdBytes} bytes of UTF-8 (a sort key holds 1024), not ${Buffer.byteLength(timer.id)}: use a shorter id.`, { argument: 'id', reason: 'too long for a DynamoDB sort key' });
        }
        const parsed = timerEventSchema.safeParse(timer.event);
        if (!parsed.success) throw new UnilogError('InvalidArgument', `Timer ${timer.id}: the event is not a timer event (${parsed.error.message}).`, { argument: 'event', reason: 'invalid' });
        const json = JSON.stringify(parsed.data);
        const bytes = Buffer.byteLength(json);
        if (bytes > maxEventBytes) {
          throw new UnilogError('EventTooLarge', `Timer ${timer.id}: its event is ${bytes} bytes of JSON, over the ${maxEventBytes} a DynamoDB timer holds: store large content elsewhere (S3) and put its address in the event.`, { bytes, limit: maxEventBytes, type: parsed.data.type });
        }
        const timerAttributes = { id: s(timer.id), dueAt: n(timer.dueAt), event: s(json) };
        const result = await transact(sdkModule, timer.id, [
          { Put: { TableName, Item: { ...stateKey(timer.id), ...timerAttributes, state: s('pending') }, ConditionExpression: 'attribute_not_exists(pk)' } },
          { Put: { TableName, Item: { ...pendingKey(timer.dueAt, timer.id), ...timerAttributes } } },
        ]);
        // The condition failed: the id is known (pending, fired or cancelled), and its first timer stays.
        return result === 'done';
      }),
    cancel: (id) => settle(id, 'cancelled'),
    due: (now, limit) =>
      run(async ({ QueryCommand }) => {
        if (typeof now !== 'number' || Number.isNaN(now)) throw new UnilogError('InvalidArgument', `now is milliseconds since 1970, not ${String(now)}.`, { argument: 'now', reason: 'invalid' });
        if (!Number.isSafeInteger(limit) || limit < 0) throw new UnilogError('InvalidArgument', `limit is a whole number of 0 or more, not ${String(limit)}.`, { argument: 'limit', reason: 'invalid' });
        if (limit === 0 || now < Number.MIN_SAFE_INTEGER) return [];
        // Every sort key of a time up to `now` is `<time>#<id>`, below `<time of now>$` (`$` follows `#`).
        const bounded = now < Number.MAX_SAFE_INTEGER;
        const timers: TimerRecord[] = [];
        let start: Item | undefined;
        do {
          const page = await client.send(
            new QueryCommand({
              TableName,
              KeyConditionExpression: bounded ? 'pk = :pk AND sk < :upper' : 'pk = :pk',
              ExpressionAttributeValues: bounded ? { ':pk': s(pendingPk), ':upper': s(`${dueKey(Math.floor(now))}$`) } : { ':pk': s(pendingPk) },
              ConsistentRead: true,
              Limit: Math.min(limit - timers.length, 1000),
              ...(start === undefined ? {} : { ExclusiveStartKey: start }),
            }),
          );
          for (const item of page.Items ?? []) timers.push(toTimer(item));
          start = page.LastEvaluatedKey;
        } while (start !== undefined && timers.length < limit);
        return timers;
      }),
    nextDueAt: () =>
      run(async ({ QueryCommand }) => {
        const page = await client.send(new QueryCommand({ TableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': s(pendingPk) }, ProjectionExpression: 'pk, sk, dueAt', ConsistentRead: true, Limit: 1 }));
        const item = page.Items?.[0];
        if (item === undefined) return undefined;
        const dueAt = Number(item['dueAt']?.N);
        if (!Number.isSafeInteger(dueAt)) throw corrupt(item, 'no dueAt');
        return dueAt;
      }),
    async markFired(id) {
      await settle(id, 'fired');
    },
    get: (id) => run((sdkModule) => (storableId(id) ? readState(sdkModule, id) : Promise.resolve(undefined))),
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}
