/**
 * Shard leases for distributed consumers, as the Kinesis Client Library keeps them: a worker takes free and expired
 * leases up to its fair share, steals one at a time from the busiest worker when the share is uneven, renews what it
 * holds, and lets go of a lease it could not renew within the lease duration. Expiry needs no synchronized clocks: a
 * lease is expired when its counter has not moved for a lease duration, as this worker observed it.
 * @module
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LeaseTable, type Lease } from './leaseTable.ts';

/** A shard of the stream, with its parents (for resharding). */
export interface ShardInfo {
  readonly shardId: string;
  readonly parents: readonly string[];
}

/** Options of {@link createLeaseCoordinator}. */
export interface LeaseCoordinatorOptions {
  readonly client: DynamoDBClient;
  /** The lease table: keys `group` (S) and `shard` (S); see `leaseTableName` in `awsResources`. */
  readonly tableName: string;
  /** The consumer group: every worker of one projection shares it (the projection name, say). */
  readonly group: string;
  /** This worker's id, unique among the group's live workers. */
  readonly workerId: string;
  /** Lists the stream's shards (the lease table gets a lease for each). */
  readonly shards: () => Promise<readonly ShardInfo[]>;
  /** A lease whose counter has not moved for this long is taken over. @default 10000 */
  readonly leaseDurationMs?: number;
  /** How often the shard list is read again for new shards. @default 30000 */
  readonly shardSyncIntervalMs?: number;
  /** Create the lease table (on-demand) when it does not exist. @default true */
  readonly createTable?: boolean;
  /** At most this many leases per worker. @default Infinity */
  readonly maxLeases?: number;
  /** A lease was taken: start processing its shard. */
  readonly onAcquired: (shardId: string) => void;
  /** A lease was lost (taken over, or not renewed in time): stop processing its shard. */
  readonly onLost: (shardId: string) => void;
  /** Told of every failed lease operation; the coordinator goes on. @default nothing */
  readonly onError?: (error: unknown) => void;
}

/** A running coordinator. */
export interface LeaseCoordinator {
  /** The shards whose leases this worker holds. */
  held(): string[];
  /** Starts taking and renewing leases. */
  start(): void;
  /** One round now: renew, sync shards when due, take (tests and start-up use it). */
  tick(): Promise<void>;
  /** Marks a held shard finished (closed and applied), frees its lease for good, and lets its children be taken. */
  end(shardId: string): Promise<void>;
  /** Stops; held leases are released (`release: true`, the default) so others take them at once, or left to expire. */
  stop(options?: { readonly release?: boolean }): Promise<void>;
}

/**
 * Creates a lease coordinator for one worker of a consumer group.
 * @example
 * const leases = createLeaseCoordinator({ client, tableName: 'shop-leases', group: 'catalog', workerId, shards, onAcquired, onLost });
 */
export function createLeaseCoordinator(options: LeaseCoordinatorOptions): LeaseCoordinator {
  const leaseDurationMs = options.leaseDurationMs ?? 10_000;
  const shardSyncIntervalMs = options.shardSyncIntervalMs ?? 30_000;
  const maxLeases = options.maxLeases ?? Infinity;
  const me = options.workerId;
  const table = new LeaseTable(options.client, options.tableName, options.group);
  const onError = options.onError ?? (() => undefined);
  /** Held leases: the counter of our last write, and when it succeeded. */
  const held = new Map<string, { counter: number; renewedAt: number }>();
  /** Every lease as last listed, with when its counter last moved (by this worker's clock). */
  const observed = new Map<string, { lease: Lease; changedAt: number }>();
  let lastSync = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let started = false;

  const lose = (shard: string) => {
    if (!held.delete(shard)) return;
    options.onLost(shard);
  };

  const renew = async () => {
    await Promise.all([...held].map(async ([shard, lease]) => {
      try {
        const counter = await table.renew(shard, lease.counter, me);
        if (counter === undefined) lose(shard);
        else held.set(shard, { counter, renewedAt: Date.now() });
      } catch (error) {
        onError(error);
        // Others may take it once a lease duration has passed since our last renewal: stop before they can.
        if (Date.now() - lease.renewedAt >= leaseDurationMs * 0.8) lose(shard);
      }
    }));
  };

  const syncShards = async () => {
    const shards = await options.shards();
    const known = new Set(observed.keys());
    for (const shard of shards) if (!known.has(shard.shardId)) await table.create(shard.shardId, shard.parents);
    lastSync = Date.now();
  };

  const take = async () => {
    const now = Date.now();
    const leases = await table.list();
    for (const lease of leases) {
      const before = observed.get(lease.shard);
      const moved = !before || before.lease.counter !== lease.counter;
      observed.set(lease.shard, { lease, changedAt: moved ? now : before.changedAt });
    }
    const byShard = new Map(leases.map((lease) => [lease.shard, lease]));
    const finished = (shard: string) => byShard.get(shard)?.ended ?? true;
    const expired = (lease: Lease) => lease.owner !== undefined && now - (observed.get(lease.shard)?.changedAt ?? now) >= leaseDurationMs;
    // Leases that can be worked on now: not finished, parents finished (a key's order survives a split or merge).
    const active = leases.filter((lease) => !lease.ended && lease.parents.every(finished));
    const live = active.filter((lease) => lease.owner !== undefined && lease.owner !== me && !expired(lease));
    const workers = new Set([me, ...live.map((lease) => lease.owner as string)]);
    const target = Math.min(maxLeases, Math.ceil(active.length / workers.size));
    let want = target - held.size;
    if (want <= 0) return;

    const takeOne = async (lease: Lease) => {
      const counter = await table.take(lease.shard, lease.counter, me);
      if (counter === undefined) return false;
      held.set(lease.shard, { counter, renewedAt: Date.now() });
      options.onAcquired(lease.shard);
      return true;
    };
    // Free and expired leases first, oldest shards first (parents before the children they unblock).
    for (const lease of active.filter((l) => !held.has(l.shard) && (l.owner === undefined || expired(l)))) {
      if (want <= 0) return;
      if (await takeOne(lease)) want--;
    }
    if (want <= 0) return;
    // Still under the fair share: steal one lease from the busiest worker, if it holds more than the share.
    const counts = new Map<string, Lease[]>();
    for (const lease of live) counts.set(lease.owner as string, [...(counts.get(lease.owner as string) ?? []), lease]);
    const busiest = [...counts.values()].sort((a, b) => b.length - a.length)[0];
    const victim = busiest && busiest.length > target ? busiest[0] : undefined;
    if (victim) await takeOne(victim);
  };

  let tableReady: Promise<void> | undefined;
  const tick = async () => {
    if (stopped) return;
    if (options.createTable !== false) {
      await (tableReady ??= table.ensureTable().catch((error: unknown) => {
        tableReady = undefined;
        throw error;
      }));
    }
    await renew();
    if (Date.now() - lastSync >= shardSyncIntervalMs) await syncShards();
    await take();
  };

  const loop = () => {
    timer = setTimeout(() => {
      running = tick().catch(onError).finally(() => {
        running = undefined;
        if (!stopped) loop();
      });
    }, Math.max(50, Math.floor(leaseDurationMs / 3)));
  };

  return {
    held: () => [...held.keys()].sort(),
    start: () => {
      if (started || stopped) return;
      started = true;
      running = tick().catch(onError).finally(() => {
        running = undefined;
        if (!stopped) loop();
      });
    },
    tick,
    end: async (shardId) => {
      if (!held.has(shardId)) return;
      held.delete(shardId);
      if (await table.end(shardId, me)) lastSync = -Infinity;
    },
    stop: async (stopOptions = {}) => {
      stopped = true;
      clearTimeout(timer);
      await running;
      const shards = [...held.keys()];
      for (const shard of shards) lose(shard);
      if (stopOptions.release !== false) await Promise.all(shards.map((shard) => table.release(shard, me).catch(onError)));
    },
  };
}
