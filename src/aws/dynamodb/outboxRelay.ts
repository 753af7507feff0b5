import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { UnilogError } from '../../errors.ts';
import type { EventEnvelope } from '../../events/envelope.ts';
import type { EventLog } from '../../log/eventLog.ts';
import type { OutboxItem } from './outboxEntry.ts';

/** Options of {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  /** A `DynamoDBClient` or `DynamoDBDocumentClient` (not destroyed by `close`). */
  readonly client: DynamoDBClient | DynamoDBDocumentClient;
  /** The store's `outboxTableName`. */
  readonly outboxTableName: string;
  /** The log the entries are published to (the Kinesis log, or any `EventLog`). */
  readonly log: EventLog;
  /** The store's `outboxBuckets`. @default 1 */
  readonly buckets?: number;
  /** Events per log append. @default 100 */
  readonly batchSize?: number;
  /** Pause between passes of `start` when the outbox was empty. @default 200 */
  readonly pollIntervalMs?: number;
}

/** The relay from a DynamoDB event store's outbox to the unified log. */
export interface OutboxRelay {
  /**
   * Publishes every entry unsent when it starts, in stream order, and deletes them; resolves with how many it published.
   * Calls (and the background passes) run one after another, so `await relay.pump()` after an append has published it.
   */
  pump(): Promise<number>;
  /** Pumps in the background until `close`. Errors are passed to `onError` and the pass is retried. */
  start(onError?: (error: unknown) => void): void;
  /** Stops the background pumping after the current pass. */
  close(): Promise<void>;
}

/**
 * Publishes the outbox entries of a DynamoDB event store to an `EventLog`, then deletes them. Delivery is at least
 * once: a crash between the append and the delete publishes those events again, so consumers drop duplicates by
 * event id. Run one relay per outbox: two at once would interleave a stream's events out of order.
 * @example const relay = createOutboxRelay({ client, outboxTableName: 'events-outbox', log }); relay.start();
 * @see docs/event-sourcing.md
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { outboxTableName, log } = options;
  const buckets = options.buckets ?? 1;
  const batchSize = options.batchSize ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  if (!Number.isSafeInteger(buckets) || buckets < 1) throw new UnilogError('InvalidArgument', `buckets must be a whole number of 1 or more, not ${String(options.buckets)}.`, { argument: 'buckets', reason: 'invalid' });
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new UnilogError('InvalidArgument', `batchSize must be a whole number of 1 or more, not ${String(options.batchSize)}.`, { argument: 'batchSize', reason: 'invalid' });
  const client = options.client instanceof DynamoDBDocumentClient ? options.client : DynamoDBDocumentClient.from(options.client);
  let running: Promise<void> | undefined;
  // An object, so the loop reads what `close` wrote after the loop's last await.
  const state = { stopping: false };
  const isStopping = () => state.stopping;
  let wake: (() => void) | undefined;

  /** Every unsent entry of a bucket, strongly consistent: an entry is visible once its event's transaction committed. */
  const unsent = async (bucket: string): Promise<OutboxItem[]> => {
    const items: OutboxItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({ TableName: outboxTableName, KeyConditionExpression: '#bucket = :b', ExpressionAttributeNames: { '#bucket': 'bucket' }, ExpressionAttributeValues: { ':b': bucket }, ConsistentRead: true, ExclusiveStartKey: startKey }),
      );
      for (const item of page.Items ?? []) items.push(item as OutboxItem);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  };

  const pumpBucket = async (bucket: string): Promise<number> => {
    const items = inStreamOrder(await unsent(bucket));
    for (let i = 0; i < items.length; i += batchSize) {
      const batch = items.slice(i, i + batchSize);
      await log.append(batch.map((item) => JSON.parse(item.event) as EventEnvelope));
      // Published: a crash before these deletes publishes the batch again (a duplicate, never a loss).
      for (let j = 0; j < batch.length; j += 25) {
        let requests: { DeleteRequest: { Key: Record<string, unknown> } }[] = batch.slice(j, j + 25).map((item) => ({ DeleteRequest: { Key: { bucket: item.bucket, id: item.id } } }));
        while (requests.length > 0) {
          const result = await client.send(new BatchWriteCommand({ RequestItems: { [outboxTableName]: requests } }));
          requests = (result.UnprocessedItems?.[outboxTableName] ?? []).flatMap((r) => (r.DeleteRequest?.Key ? [{ DeleteRequest: { Key: r.DeleteRequest.Key } }] : []));
        }
      }
    }
    return items.length;
  };

  const pumpAll = async () => {
    let published = 0;
    for (let bucket = 0; bucket < buckets; bucket++) published += await pumpBucket(String(bucket));
    return published;
  };
  // One pass at a time: two passes at once would publish the same entries twice, and could reorder a stream. Calls
  // made while a pass waits to start share it: it starts after them, so it sees their entries.
  let passes: Promise<unknown> = Promise.resolve();
  let waiting: Promise<number> | undefined;
  const pump = (): Promise<number> => {
    if (waiting) return waiting;
    const start = () => {
      waiting = undefined;
      return pumpAll();
    };
    const pass = passes.then(start, start);
    waiting = pass;
    passes = pass.catch(() => undefined);
    return pass;
  };

  return {
    pump,
    start(onError) {
      if (running) return;
      state.stopping = false;
      running = (async () => {
        while (!isStopping()) {
          let published = 0;
          try {
            published = await pump();
          } catch (error) {
            onError?.(error);
          }
          if (published === 0 && !isStopping()) {
            await new Promise<void>((resolve) => {
              wake = resolve;
              setTimeout(resolve, pollIntervalMs);
            });
          }
        }
      })();
    },
    async close() {
      state.stopping = true;
      wake?.();
      await running;
      running = undefined;
      // Passes asked for by pump() finish too (a failed one has left its entries in the outbox).
      await passes;
    },
  };
}

/**
 * Orders entries by id (write time), then puts each stream's entries in version order in the slots they hold: ids
 * come from writers' clocks, which may disagree, but a stream's versions may not be published out of order.
 */
export function inStreamOrder(items: readonly OutboxItem[]): OutboxItem[] {
  const sorted = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const byStream = new Map<string, OutboxItem[]>();
  for (const item of sorted) {
    const list = byStream.get(item.streamId) ?? [];
    list.push(item);
    byStream.set(item.streamId, list);
  }
  for (const list of byStream.values()) list.sort((a, b) => a.version - b.version);
  const next = new Map<string, number>();
  return sorted.map((item) => {
    const at = next.get(item.streamId) ?? 0;
    next.set(item.streamId, at + 1);
    return byStream.get(item.streamId)?.[at] ?? item;
  });
}
