/**
 * A distributed consumer on a Kinesis stream (our TypeScript counterpart of the Kinesis Client Library): workers of
 * one group share the stream's shards through leases in DynamoDB and keep one projection's view, effectively-once.
 * @see docs/aws.md
 * @module
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type * as KinesisSdk from '@aws-sdk/client-kinesis';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { UnilogError } from '../../errors.ts';
import { backoffMs } from '../../consumers/retry.ts';
import { createLeaseCoordinator, type ShardInfo } from '../leases/leaseCoordinator.ts';
import { createShardApplier, type ShardApplierOptions } from './shardApplier.ts';

/** Options of {@link createKinesisWorker}. */
export interface KinesisWorkerOptions extends ShardApplierOptions {
  /** The Kinesis client (kinesalite needs `requestHandler: new NodeHttpHandler()`); you own it. */
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  /** The DynamoDB client of the lease table; you own it. */
  readonly dynamodb: DynamoDBClient;
  /** The lease table (`leaseTableName(prefix)` of `awsResources`). */
  readonly leaseTableName: string;
  /** This worker's id. @default `<hostname>-<pid>-<random>` */
  readonly workerId?: string;
  /** The consumer group: workers with the same group share the shards. @default the projection's name */
  readonly group?: string;
  /** A dead worker's leases are taken over after this long. @default 10000 */
  readonly leaseDurationMs?: number;
  /** How often new shards are looked for. @default 30000 */
  readonly shardSyncIntervalMs?: number;
  /** Records per GetRecords. @default 1000 */
  readonly batchSize?: number;
  /** How long a shard with nothing new waits before asking again (AWS allows 5 GetRecords per second per shard). @default 1000 */
  readonly pollIntervalMs?: number;
  /** Told of every error; the worker retries the shard from its checkpoint. @default console.error */
  readonly onError?: (error: unknown, context: { readonly shardId?: string }) => void;
}

/** What a worker is doing. */
export interface KinesisWorkerStatus {
  readonly workerId: string;
  /** Shards whose leases it holds, with the last sequence number applied. */
  readonly shards: readonly { readonly shardId: string; readonly last: string | undefined }[];
}

/** A running worker. */
export interface KinesisWorker {
  readonly workerId: string;
  status(): KinesisWorkerStatus;
  /** Stops reading, waits for the batches being applied, and releases its leases for other workers. */
  stop(): Promise<void>;
}

const cause = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Starts a worker: it takes its share of the stream's shard leases, reads each held shard from the view's checkpoint
 * (parents before children), and applies the records with the projection's handlers, the changes and the checkpoint
 * in one commit. A worker that dies loses its leases after `leaseDurationMs`; the others take them over and go on
 * from the checkpoint, so no record is skipped, and a batch the dead worker was applying is not applied twice.
 * @example
 * const worker = createKinesisWorker({ projection: catalog, storage, kinesis, dynamodb, streamName: 'shop-events', leaseTableName: 'shop-leases' });
 */
export function createKinesisWorker(options: KinesisWorkerOptions): KinesisWorker {
  const { kinesis, streamName } = options;
  const workerId = options.workerId ?? `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const batchSize = options.batchSize ?? 1000;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const onError = options.onError ?? ((error: unknown, at: { shardId?: string }) => {
    console.error(`unilog worker ${workerId}: ${options.projection.name}${at.shardId === undefined ? '' : ` ${at.shardId}`}: ${cause(error)}`);
  });
  const applier = createShardApplier(options);
  const running = new Map<string, { abort: AbortController; done: Promise<void>; last: string | undefined }>();
  let sdkPromise: Promise<typeof KinesisSdk> | undefined;
  const sdk = () => (sdkPromise ??= import('@aws-sdk/client-kinesis'));

  const listShards = async (): Promise<ShardInfo[]> => {
    const { ListShardsCommand } = await sdk();
    const shards: ShardInfo[] = [];
    let nextToken: string | undefined;
    do {
      const page = await kinesis.send(new ListShardsCommand(nextToken === undefined ? { StreamName: streamName } : { NextToken: nextToken }));
      for (const shard of page.Shards ?? []) {
        if (shard.ShardId === undefined) continue;
        shards.push({ shardId: shard.ShardId, parents: [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => p !== undefined) });
      }
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return shards;
  };

  /** Reads and applies one shard until its lease is lost, the worker stops, or the shard ends. */
  const runShard = async (shardId: string, signal: AbortSignal): Promise<void> => {
    const { GetShardIteratorCommand, GetRecordsCommand } = await sdk();
    const state = running.get(shardId);
    const aborted = () => signal.aborted;
    for (let failures = 0; !aborted();) {
      try {
        const cursor = await applier.cursor(shardId);
        if (cursor?.kind === 'end') {
          await leases.end(shardId);
          return;
        }
        const start = cursor?.kind === 'after'
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, StartingSequenceNumber: cursor.sequence }
          : cursor?.kind === 'at'
            ? { ShardIteratorType: 'AT_SEQUENCE_NUMBER' as const, StartingSequenceNumber: cursor.sequence }
            : { ShardIteratorType: 'TRIM_HORIZON' as const };
        let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ...start }))).ShardIterator;
        while (!signal.aborted) {
          if (iterator === undefined) {
            // Closed (split or merged) and every record applied: the children may now be read.
            await applier.finish(shardId);
            await leases.end(shardId);
            return;
          }
          const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize }), { abortSignal: signal });
          const records = (page.Records ?? []).map((r) => ({ sequenceNumber: r.SequenceNumber ?? '', data: r.Data ?? new Uint8Array() }));
          if (records.length > 0) {
            const result = await applier.apply(shardId, records);
            if (state) state.last = result.last;
            if (result.corrupt) {
              throw new UnilogError('LogCorrupted', `Record ${result.corrupt.sequenceNumber} of ${shardId} in ${streamName} is not a unilog event: only unilog should write to this stream.`, { segment: `${streamName}/${shardId}`, offset: 0, reason: `sequence ${result.corrupt.sequenceNumber}: not an event envelope` });
            }
          }
          failures = 0;
          iterator = page.NextShardIterator;
          if (records.length === 0 && iterator !== undefined) await sleep(pollIntervalMs, undefined, { signal }).catch(() => undefined);
        }
      } catch (error) {
        if (aborted()) return;
        onError(error, { shardId });
        // From the checkpoint again, after a pause: nothing of a failed batch was committed.
        await sleep(backoffMs(++failures, { initialDelayMs: 200, maxDelayMs: 10_000 }), undefined, { signal }).catch(() => undefined);
      }
    }
  };

  const leases = createLeaseCoordinator({
    client: options.dynamodb,
    tableName: options.leaseTableName,
    group: options.group ?? options.projection.name,
    workerId,
    shards: listShards,
    ...(options.leaseDurationMs === undefined ? {} : { leaseDurationMs: options.leaseDurationMs }),
    ...(options.shardSyncIntervalMs === undefined ? {} : { shardSyncIntervalMs: options.shardSyncIntervalMs }),
    onAcquired: (shardId) => {
      const abort = new AbortController();
      const state = { abort, done: Promise.resolve(), last: undefined as string | undefined };
      running.set(shardId, state);
      state.done = runShard(shardId, abort.signal).finally(() => {
        if (running.get(shardId) === state) running.delete(shardId);
      });
    },
    onLost: (shardId) => {
      running.get(shardId)?.abort.abort();
    },
    onError: (error) => { onError(error, {}); },
  });
  leases.start();

  return {
    workerId,
    status: () => ({ workerId, shards: [...running].map(([shardId, { last }]) => ({ shardId, last })).sort((a, b) => (a.shardId < b.shardId ? -1 : 1)) }),
    stop: async () => {
      const shards = [...running.values()];
      for (const { abort } of shards) abort.abort();
      await Promise.all(shards.map(({ done }) => done));
      await leases.stop({ release: true });
    },
  };
}
