import type * as DynamoSdk from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UnilogError } from '../../errors.ts';
import { checkSecret, mintKey, parseAuthorization, parseStoredKey, publicInfo, type KeyInfo, type KeyScopes, type KeyVerifier, type Principal, type StoredKey } from '../../service/keys.ts';

/** Options of {@link createDynamoKeyStore}. */
export interface DynamoKeyStoreOptions {
  /** The client to use; the store does not destroy it. */
  readonly client: DynamoDBClient;
  /** The service-keys table (`serviceKeysTableName(prefix)`), keyed by `pk` (S): one item per key. */
  readonly tableName: string;
  /**
   * How long a key read for one request answers later ones, at most 5000 ms. A revoke reaches this service after at
   * most this long. @default 0 (every request reads the key: a revoke applies from the next request)
   */
  readonly cacheMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** API keys in a DynamoDB table: what `unilog keys` manages with `--backend aws`, and the service's verifier there. */
export interface DynamoKeyStore extends KeyVerifier {
  hasKeys(): Promise<boolean>;
  verify(authorization: string | undefined): Promise<Principal>;
  /** Creates a key; returns its id and the key itself, which is shown this once and never stored. */
  create(scopes: KeyScopes): Promise<{ readonly id: string; readonly key: string; readonly info: KeyInfo }>;
  /** Every key, oldest first, without secrets or hashes. */
  list(): Promise<KeyInfo[]>;
  /** Revokes a key: services refuse it from their next request (after `cacheMs` where set). */
  revoke(id: string): Promise<KeyInfo>;
}

const maxCacheMs = 5000;
const keyIdPattern = /^[0-9a-f]{12}$/;

/**
 * A key store in the service-keys table: each key's salted SHA-256 hash and scopes, as in the data folder's
 * `keys.json`. Reads are strongly consistent, so a key created or revoked by `unilog keys` applies to the next request.
 * @example const keys = createDynamoKeyStore({ client, tableName: serviceKeysTableName('shop-') });
 * @see docs/aws.md#configuration
 */
export function createDynamoKeyStore(options: DynamoKeyStoreOptions): DynamoKeyStore {
  const { client, tableName } = options;
  const cacheMs = options.cacheMs ?? 0;
  const clock = options.clock ?? Date.now;
  if (!Number.isFinite(cacheMs) || cacheMs < 0 || cacheMs > maxCacheMs) {
    throw new UnilogError('InvalidArgument', `cacheMs is 0 to ${maxCacheMs} (a revoke waits that long), not ${cacheMs}.`, { argument: 'cacheMs', reason: 'out of range' });
  }
  const cache = new Map<string, { readonly key: StoredKey | undefined; readonly at: number }>();
  let sdkPromise: Promise<typeof DynamoSdk> | undefined;
  const sdk = () => (sdkPromise ??= import('@aws-sdk/client-dynamodb'));

  const fromItem = (item: Record<string, AttributeValue>): StoredKey => {
    const key = parseStoredKey({
      id: item['pk']?.S,
      producer: item['producer']?.S,
      types: item['types']?.L?.map((type) => type.S),
      read: item['read']?.BOOL,
      admin: item['admin']?.BOOL,
      salt: item['salt']?.S,
      hash: item['hash']?.S,
      createdAt: item['createdAt']?.S,
      ...(item['revokedAt']?.S === undefined ? {} : { revokedAt: item['revokedAt'].S }),
    });
    if (key === undefined) {
      throw new UnilogError('ConfigInvalid', `Item ${JSON.stringify(item['pk']?.S ?? '?')} of table ${tableName} is not a unilog key: only unilog keys should write to this table; delete the item.`, {
        file: `dynamodb:${tableName}`,
        reason: 'not a key item',
      });
    }
    return key;
  };

  const get = async (id: string): Promise<StoredKey | undefined> => {
    const cached = cache.get(id);
    if (cached && clock() - cached.at < cacheMs) return cached.key;
    const { GetItemCommand } = await sdk();
    const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: id } }, ConsistentRead: true }));
    const key = Item === undefined ? undefined : fromItem(Item);
    if (cacheMs > 0) {
      // Bounded: ids that are not keys (guesses) must not grow the cache without end.
      if (cache.size >= 10_000) cache.clear();
      cache.set(id, { key, at: clock() });
    }
    return key;
  };

  return {
    async hasKeys() {
      const { ScanCommand } = await sdk();
      const { Items, LastEvaluatedKey } = await client.send(new ScanCommand({ TableName: tableName, Limit: 1, ProjectionExpression: 'pk', ConsistentRead: true }));
      return (Items?.length ?? 0) > 0 || LastEvaluatedKey !== undefined;
    },
    async verify(authorization) {
      const { id, secret } = parseAuthorization(authorization);
      // Key ids are 12 hex digits; anything else is no key (and an empty one is not even a valid DynamoDB key).
      return checkSecret(keyIdPattern.test(id) ? await get(id) : undefined, secret);
    },
    async create(scopes) {
      const { PutItemCommand, ConditionalCheckFailedException } = await sdk();
      for (let attempt = 1; ; attempt++) {
        const { stored, key } = mintKey(scopes);
        try {
          await client.send(
            new PutItemCommand({
              TableName: tableName,
              Item: {
                pk: { S: stored.id },
                producer: { S: stored.producer },
                types: { L: stored.types.map((type) => ({ S: type })) },
                read: { BOOL: stored.read },
                admin: { BOOL: stored.admin },
                salt: { S: stored.salt },
                hash: { S: stored.hash },
                createdAt: { S: stored.createdAt },
              },
              // 48 random bits make a clash unlikely; the condition makes it harmless.
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
          return { id: stored.id, key, info: publicInfo(stored) };
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException) || attempt >= 5) throw error;
        }
      }
    },
    async list() {
      const { ScanCommand } = await sdk();
      const keys: StoredKey[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) }));
        for (const item of page.Items ?? []) keys.push(fromItem(item));
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      return keys.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1)).map(publicInfo);
    },
    async revoke(id) {
      const { UpdateItemCommand, ConditionalCheckFailedException } = await sdk();
      try {
        const { Attributes } = await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { pk: { S: id } },
            UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':now': { S: new Date(clock()).toISOString() } },
            ReturnValues: 'ALL_NEW',
          }),
        );
        cache.delete(id);
        return publicInfo(fromItem(Attributes ?? {}));
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) throw new UnilogError('KeyNotFound', `No key with id ${JSON.stringify(id)} in table ${tableName}: list them with unilog keys list --backend aws.`, { id }, { cause: error });
        throw error;
      }
    },
  };
}
