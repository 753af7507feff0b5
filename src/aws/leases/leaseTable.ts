/**
 * The lease table of distributed Kinesis consumers: one item per consumer group and shard, changed only by
 * conditional writes, so two workers never both believe they hold a lease for long.
 * @module
 */
import type * as DynamoSdk from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** A shard's lease as stored. */
export interface Lease {
  readonly group: string;
  readonly shard: string;
  /** The worker holding it, or undefined when it is free. */
  readonly owner: string | undefined;
  /** Bumped by every take, renewal and release: a counter that stops moving means a dead owner. */
  readonly counter: number;
  /** The shard's parents (resharding): its records are read only after theirs. */
  readonly parents: readonly string[];
  /** The shard is closed and every record of it applied. */
  readonly ended: boolean;
}

type Item = Record<string, AttributeValue>;
const s = (value: string) => ({ S: value });
const n = (value: number) => ({ N: String(value) });

/** Whether a write failed on its condition (someone else changed the lease). */
export function isConditionFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'ConditionalCheckFailedException';
}

function toLease(item: Item): Lease {
  return {
    group: item['group']?.S ?? '',
    shard: item['shard']?.S ?? '',
    owner: item['owner']?.S,
    counter: Number(item['counter']?.N ?? '0'),
    parents: (item['parents']?.L ?? []).flatMap((v) => (v.S === undefined ? [] : [v.S])),
    ended: item['ended']?.BOOL === true,
  };
}

/** The operations on one group's leases. Every change is conditioned on what the caller last saw. */
export class LeaseTable {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #group: string;
  #sdk: Promise<typeof DynamoSdk> | undefined;

  constructor(client: DynamoDBClient, tableName: string, group: string) {
    this.#client = client;
    this.#tableName = tableName;
    this.#group = group;
  }

  #commands() {
    return (this.#sdk ??= import('@aws-sdk/client-dynamodb'));
  }

  #key(shard: string): Item {
    return { group: s(this.#group), shard: s(shard) };
  }

  /** Creates the table (on-demand billing) unless it exists, and waits until it is active. */
  async ensureTable(): Promise<void> {
    const { ensureTable } = await import('../init.ts');
    await ensureTable(this.#client, { name: this.#tableName, partitionKey: { name: 'group', type: 'S' }, sortKey: { name: 'shard', type: 'S' } }, 60);
  }

  /** Every lease of the group, read consistently. */
  async list(): Promise<Lease[]> {
    const { QueryCommand } = await this.#commands();
    const leases: Lease[] = [];
    let start: Item | undefined;
    do {
      const page = await this.#client.send(new QueryCommand({
        TableName: this.#tableName,
        KeyConditionExpression: '#g = :g',
        ExpressionAttributeNames: { '#g': 'group' },
        ExpressionAttributeValues: { ':g': s(this.#group) },
        ConsistentRead: true,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }));
      leases.push(...(page.Items ?? []).map(toLease));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return leases;
  }

  /** Adds a free lease for a shard unless it has one. */
  async create(shard: string, parents: readonly string[]): Promise<void> {
    const { PutItemCommand } = await this.#commands();
    try {
      await this.#client.send(new PutItemCommand({
        TableName: this.#tableName,
        Item: { ...this.#key(shard), counter: n(0), parents: { L: parents.map(s) }, ended: { BOOL: false } },
        ConditionExpression: 'attribute_not_exists(#s)',
        ExpressionAttributeNames: { '#s': 'shard' },
      }));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Takes a lease seen with `counter` (free, expired or stolen); returns the new counter, or undefined when someone changed it first. */
  async take(shard: string, counter: number, owner: string): Promise<number | undefined> {
    return this.#update(shard, 'SET #o = :me, #c = #c + :one', '#c = :seen AND #e = :no', { ':me': s(owner), ':seen': n(counter), ':no': { BOOL: false } });
  }

  /** Renews a held lease; undefined when it was lost (taken by another worker). */
  async renew(shard: string, counter: number, owner: string): Promise<number | undefined> {
    return this.#update(shard, 'SET #c = #c + :one', '#o = :me AND #c = :seen', { ':me': s(owner), ':seen': n(counter) });
  }

  /** Gives a held lease up so another worker takes it at once. */
  async release(shard: string, owner: string): Promise<void> {
    await this.#update(shard, 'REMOVE #o SET #c = #c + :one', '#o = :me', { ':me': s(owner) });
  }

  /** Marks the shard finished (closed and applied) and frees its lease for good. */
  async end(shard: string, owner: string): Promise<boolean> {
    return (await this.#update(shard, 'REMOVE #o SET #c = #c + :one, #e = :yes', '#o = :me', { ':me': s(owner), ':yes': { BOOL: true } })) !== undefined;
  }

  async #update(shard: string, update: string, condition: string, values: Item): Promise<number | undefined> {
    const { UpdateItemCommand } = await this.#commands();
    const names: Record<string, string> = { '#c': 'counter' };
    if (update.includes('#o') || condition.includes('#o')) names['#o'] = 'owner';
    if (update.includes('#e') || condition.includes('#e')) names['#e'] = 'ended';
    try {
      const out = await this.#client.send(new UpdateItemCommand({
        TableName: this.#tableName,
        Key: this.#key(shard),
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ...values, ':one': n(1) },
        ReturnValues: 'UPDATED_NEW',
      }));
      return Number(out.Attributes?.['counter']?.N ?? 'NaN');
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }
}
