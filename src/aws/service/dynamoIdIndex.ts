import { randomUUID } from 'node:crypto';
import type * as DynamoSdk from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UnilogError } from '../../errors.ts';
import type { Position } from '../../log/eventLog.ts';
import { idKey, idRetentionMs, type ClientId, type IdClaim, type IdIndex } from '../../service/idIndex.ts';

/** Options of {@link createDynamoIdIndex}. */
export interface DynamoIdIndexOptions {
  /** The client to use; the index does not destroy it. */
  readonly client: DynamoDBClient;
  /** The service-ids table (`serviceIdsTableName(prefix)`), keyed by `pk` (S), with time to live on `ttl`. */
  readonly tableName: string;
  /**
   * A claim that has not been renewed for this long belongs to a writer that died between claiming and recording:
   * a repeat of its id then takes it over and appends again. Live writers renew their claims every third of it.
   * @default 10000
   */
  readonly claimTimeoutMs?: number;
  /** The longest a repeat waits for another live writer to finish appending its id, then `ServiceUnavailable`. @default 60000 */
  readonly maxWaitMs?: number;
  /** DynamoDB requests in flight per call at most. @default 16 */
  readonly concurrency?: number;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Where the index reports what no request sees: a failed renewal, a claim another writer took over. @default a process warning */
  readonly report?: (message: string, details: Record<string, unknown>) => void;
}

// `token` is a DynamoDB reserved word, so every expression names attributes through placeholders.
const names = { '#token': 'token', '#position': 'position' };

type Attempt = { readonly kind: 'claimed'; readonly token: string; readonly at: number } | { readonly kind: 'appended'; readonly position: Position } | { readonly kind: 'busy' };

/**
 * The client-id index in DynamoDB, shared by every service of a deployment: one item per producer and id. A
 * conditional `PutItem` claims an id before its event is appended, an `UpdateItem` adds the position after, and the
 * item expires (`ttl`) 24 hours after the append. A repeat finds the position (200 with the original), or waits
 * while the claimer is alive, or takes over a claim left by a writer that died before recording (the log may then
 * hold the event twice, with the same id: see docs/aws.md#configuration).
 * @example const ids = createDynamoIdIndex({ client, tableName: serviceIdsTableName('shop-') });
 */
export function createDynamoIdIndex(options: DynamoIdIndexOptions): IdIndex {
  const { client, tableName } = options;
  const claimTimeoutMs = options.claimTimeoutMs ?? 10_000;
  const maxWaitMs = options.maxWaitMs ?? 60_000;
  const concurrency = options.concurrency ?? 16;
  const clock = options.clock ?? Date.now;
  const report = options.report ?? ((message: string, details: Record<string, unknown>) => { process.emitWarning(`${message} ${JSON.stringify(details)}`, 'UnilogIdIndex'); });
  /** Claims this index holds and has not recorded or released: renewed until then. */
  const live = new Map<string, { readonly id: ClientId; readonly token: string; at: number }>();
  let closed = false;
  let sdkPromise: Promise<typeof DynamoSdk> | undefined;
  const sdk = () => (sdkPromise ??= import('@aws-sdk/client-dynamodb'));
  const ttlOf = (ms: number) => ({ N: String(Math.ceil((ms + idRetentionMs) / 1000)) });
  const conditionFailed = async (error: unknown) => error instanceof (await sdk()).ConditionalCheckFailedException;

  const attempt = async (id: ClientId): Promise<Attempt> => {
    const { PutItemCommand, GetItemCommand } = await sdk();
    const pk = { S: idKey(id) };
    for (let round = 0; ; round++) {
      const now = clock();
      const token = randomUUID();
      const item = { pk, token: { S: token }, claimedAt: { N: String(now) }, ttl: ttlOf(now) };
      let old: Record<string, AttributeValue> | undefined;
      try {
        // DynamoDB deletes expired items lazily: an item past its ttl counts as absent.
        await client.send(new PutItemCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now', ExpressionAttributeNames: { '#ttl': 'ttl' }, ExpressionAttributeValues: { ':now': { N: String(Math.floor(now / 1000)) } }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }));
        return { kind: 'claimed', token, at: now };
      } catch (error) {
        if (!(await conditionFailed(error))) throw error;
        old = (error as { Item?: Record<string, AttributeValue> }).Item ?? (await client.send(new GetItemCommand({ TableName: tableName, Key: { pk }, ConsistentRead: true }))).Item;
      }
      // Gone between the two requests (expired, released): claim again.
      if (old === undefined) continue;
      const position = old['position']?.S;
      if (position !== undefined) return { kind: 'appended', position };
      const claimedAt = Number(old['claimedAt']?.N ?? 0);
      if (now - claimedAt < claimTimeoutMs || round >= 3) return { kind: 'busy' };
      // Not renewed for claimTimeoutMs: its writer died between claiming and recording. Take it over, unless another repeat just did.
      try {
        await client.send(new PutItemCommand({ TableName: tableName, Item: item, ConditionExpression: '#token = :old AND attribute_not_exists(#position)', ExpressionAttributeNames: names, ExpressionAttributeValues: { ':old': { S: old['token']?.S ?? '' } } }));
        report('took over an abandoned client-id claim: if its writer appended the event before dying, the log holds it twice (same id)', { id: id.id, source: id.source, claimedAt: new Date(claimedAt).toISOString() });
        return { kind: 'claimed', token, at: now };
      } catch (error) {
        if (!(await conditionFailed(error))) throw error;
      }
    }
  };

  const release = async (entries: readonly { readonly id: ClientId; readonly token: string }[]) => {
    const { DeleteItemCommand } = await sdk();
    await mapLimit(entries, concurrency, async ({ id, token }) => {
      try {
        await client.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: idKey(id) } }, ConditionExpression: '#token = :token AND attribute_not_exists(#position)', ExpressionAttributeNames: names, ExpressionAttributeValues: { ':token': { S: token } } }));
      } catch (error) {
        // Taken over meanwhile: the claim is someone else's now, nothing of ours to delete.
        if (!(await conditionFailed(error))) throw error;
      }
    });
  };

  // Live claims are renewed, so a slow append (Kinesis retries, a long batch of one key) is never taken for a dead writer.
  const renewEvery = Math.max(50, Math.floor(claimTimeoutMs / 3));
  const renew = async () => {
    const { UpdateItemCommand } = await sdk();
    const due = [...live.entries()].filter(([, claim]) => clock() - claim.at >= renewEvery);
    await mapLimit(due, concurrency, async ([key, claim]) => {
      const now = clock();
      try {
        await client.send(new UpdateItemCommand({ TableName: tableName, Key: { pk: { S: key } }, UpdateExpression: 'SET claimedAt = :now', ConditionExpression: '#token = :token AND attribute_not_exists(#position)', ExpressionAttributeNames: names, ExpressionAttributeValues: { ':now': { N: String(now) }, ':token': { S: claim.token } } }));
        claim.at = now;
      } catch (error) {
        if (!(await conditionFailed(error))) throw error;
        if (live.get(key) === claim) live.delete(key);
        report('a client-id claim was taken over while its event was being appended: the log may hold the event twice (same id)', { id: claim.id.id, source: claim.id.source });
      }
    });
  };
  let renewing: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (renewing || live.size === 0) return;
    renewing = renew()
      .catch((error: unknown) => { report('renewing client-id claims failed; retrying', { error: (error as Error).message }); })
      .finally(() => (renewing = undefined));
  }, renewEvery);
  timer.unref();

  const assertOpen = () => {
    if (closed) throw new UnilogError('LogClosed', `The client-id index on table ${tableName} is closed: create a new one.`, {});
  };

  return {
    async claim(ids) {
      assertOpen();
      const started = clock();
      for (let delay = 25; ; delay = Math.min(delay * 2, 1000)) {
        const attempts = await mapLimit(ids, concurrency, attempt);
        const claimed = attempts.flatMap((a, i) => (a.kind === 'claimed' ? [{ id: ids[i] as ClientId, token: a.token, at: a.at }] : []));
        if (attempts.every((a) => a.kind !== 'busy')) {
          for (const claim of claimed) live.set(idKey(claim.id), claim);
          return attempts.map((a): IdClaim => (a.kind === 'appended' ? { claimed: false, position: a.position } : { claimed: true }));
        }
        // Another writer is appending some of these ids: give back ours (so two requests never wait for each other), wait, retry.
        await release(claimed);
        if (clock() - started >= maxWaitMs) {
          throw new UnilogError('ServiceUnavailable', `Another request has been appending an event with the same client id for over ${maxWaitMs} ms: retry later with the same id.`, { reason: 'client id claimed by another writer' });
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    },
    async record(appended) {
      const { UpdateItemCommand } = await sdk();
      const now = clock();
      await mapLimit(appended.filter((entry) => entry.claimed), concurrency, async (entry) => {
        const key = idKey(entry);
        const claim = live.get(key);
        live.delete(key);
        if (claim === undefined) return;
        try {
          await client.send(new UpdateItemCommand({ TableName: tableName, Key: { pk: { S: key } }, UpdateExpression: 'SET #position = :position, appendedAt = :now, #ttl = :ttl', ConditionExpression: '#token = :token', ExpressionAttributeNames: { ...names, '#ttl': 'ttl' }, ExpressionAttributeValues: { ':position': { S: entry.position }, ':now': { N: String(now) }, ':ttl': ttlOf(now), ':token': { S: claim.token } } }));
        } catch (error) {
          if (!(await conditionFailed(error))) throw error;
          report('a client-id claim was taken over while its event was being appended: the log holds the event twice (same id)', { id: entry.id, source: entry.source, position: entry.position });
        }
      });
    },
    async release(ids) {
      const entries = ids.flatMap((id) => {
        const claim = live.get(idKey(id));
        live.delete(idKey(id));
        return claim === undefined ? [] : [claim];
      });
      await release(entries);
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await renewing;
    },
  };
}

/** Maps with at most `limit` calls in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
