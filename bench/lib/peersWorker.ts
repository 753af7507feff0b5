/**
 * One system of the `peers` suite (bench/suites/peers.ts) in a process of its own, so that its peak RSS is its own:
 * the warm-up (the same cases, small), then append batch 1, append with expected version, append batch 100, and a
 * replay of the batch-100 store: every event read and counted per stream. Every case starts on a fresh store.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { getInMemoryEventStore, type Event as EmmettEvent } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore, type PostgresEventStore } from '@event-driven-io/emmett-postgresql';
import { z } from 'zod';
import { createMemoryViewStorage, createPublisher, openFileEventLog, openFileEventStore, type FileEventLog } from '../../src/index.ts';
import { rebuildCounts, type OrderCount } from './countingProjection.ts';
import {
  appendWorkload,
  castoreTarget,
  checkVersions,
  createCastoreStore,
  emmettTarget,
  orderBatches,
  orderCatalog,
  streamNames,
  unilogTarget,
  type AppendRun,
  type AppendTarget,
  type EmmettStore,
  type UnilogStore,
} from './eventStores.ts';
import type { OrderData } from './events.ts';
import { secondsSince } from './measure.ts';
import { collectGarbage, RssSampler } from './memory.ts';
import { progress } from './progress.ts';
import { formatInteger } from './table.ts';
import { peakRssMb, serveWorker } from './worker.ts';

export const peerSystems = ['unilog', 'emmett', 'castore', 'emmett-postgres'] as const;
export type PeerSystem = (typeof peerSystems)[number];

const sizesSchema = z.object({
  batch1: z.number().int().positive(),
  expected: z.number().int().positive(),
  batch100: z.number().int().positive(),
});
export type PeerSizes = z.output<typeof sizesSchema>;

export const peerJobSchema = z.object({
  system: z.enum(peerSystems),
  /** A folder of the worker's own, for files (unilog). */
  dir: z.string(),
  /** The PostgreSQL database Emmett's PostgreSQL store uses (emmett-postgres only). */
  postgresUrl: z.string().optional(),
  writers: z.number().int().positive(),
  appendStreams: z.number().int().positive(),
  expectedStreams: z.number().int().positive(),
  sizes: sizesSchema,
  warmup: sizesSchema,
});
export type PeerJob = z.output<typeof peerJobSchema>;

const caseSchema = z.object({
  events: z.number(),
  seconds: z.number(),
  /** The largest RSS sampled during the case, in MB. */
  rssMaxMb: z.number(),
  /** CPU seconds (user + system) of the worker process during the case: what a loaded machine cannot take away. */
  cpuSeconds: z.number(),
  conflicts: z.number(),
});
export type PeerCase = z.output<typeof caseSchema>;

export const peerResultSchema = z.object({
  system: z.enum(peerSystems),
  append1: caseSchema,
  expected: caseSchema,
  append100: caseSchema,
  /** Every event of the batch-100 store read and counted per stream, by the system's own read API (see the suite's notes). */
  replay: caseSchema,
  /** unilog only, for context: the same count as a projection rebuilt by the consumer runtime (`consumer.rebuild()`). */
  replayRebuild: caseSchema.optional(),
  /** unilog only: the batch-100 workload published to the file log alone (no streams, no index, no versions). */
  logAppend100: caseSchema.optional(),
  /** RSS when the job arrived (modules loaded, nothing run), and the process's peak (ru_maxrss) at the end, in MB. */
  startRssMb: z.number(),
  peakRssMb: z.number(),
});
export type PeerResult = z.output<typeof peerResultSchema>;

/** A fresh store of the system, what it appended, and how to replay it and let it go. */
interface OpenStore {
  readonly target: AppendTarget;
  /** Reads every event and counts them per stream; resolves with the counts (and, for unilog, a projection rebuild's). */
  replay(streams: readonly string[], events: number): Promise<{ main: Replayed; rebuild?: Replayed }>;
  close(): Promise<void>;
}

interface Replayed {
  readonly seconds: number;
  readonly counts: ReadonlyMap<string, OrderCount>;
  readonly rssMaxMb: number;
  readonly cpuSeconds: number;
}

type Opener = (label: string) => Promise<OpenStore>;

/** Times `fn` with the RSS sampled along and the process's CPU time counted, after a full GC. */
async function sampled<T extends { seconds: number }>(fn: () => Promise<T>): Promise<T & { rssMaxMb: number; cpuSeconds: number }> {
  collectGarbage();
  const sampler = new RssSampler();
  const cpu = process.cpuUsage();
  const result = await fn();
  const used = process.cpuUsage(cpu);
  return { ...result, rssMaxMb: sampler.stop().maxMb, cpuSeconds: (used.user + used.system) / 1e6 };
}

/** Adds one event to a count map. */
function count(counts: Map<string, OrderCount>, key: string, data: OrderData): void {
  const row = counts.get(key);
  counts.set(key, { orders: (row?.orders ?? 0) + 1, totalCents: (row?.totalCents ?? 0) + data.totalCents });
}

type EmmettOrder = EmmettEvent<'order.placed', OrderData>;

/**
 * Emmett's stores have no complete read of all events we can use: the in-memory store has none, and the PostgreSQL
 * consumer (0.42.0) pages by global position while ordering by transaction id, so after concurrent appends it skipped
 * and repeated events in our tests. Each stream is read instead, as an application would read it.
 */
function replayEmmettStreams(store: EmmettStore): OpenStore['replay'] {
  return (streams) =>
    sampled(async () => {
      const counts = new Map<string, OrderCount>();
      const start = performance.now();
      for (const stream of streams) {
        const { events } = await store.readStream<EmmettOrder>(stream);
        for (const event of events) count(counts, stream, event.data);
      }
      return { seconds: secondsSince(start), counts };
    }).then((main) => ({ main }));
}

function emmettOpener(): Opener {
  return () => {
    const store = getInMemoryEventStore();
    return Promise.resolve({ target: emmettTarget(store), replay: replayEmmettStreams(store), close: () => Promise.resolve() });
  };
}

function castoreOpener(): Opener {
  return () => {
    const store = createCastoreStore();
    return Promise.resolve({
      target: castoreTarget(store),
      // Castore lists its aggregates, then each one's events are read.
      replay: () =>
        sampled(async () => {
          const counts = new Map<string, OrderCount>();
          const start = performance.now();
          const ids: string[] = [];
          let pageToken: string | undefined;
          do {
            const page = await store.listAggregateIds(pageToken === undefined ? { limit: 1000 } : { pageToken });
            for (const { aggregateId } of page.aggregateIds) ids.push(aggregateId);
            pageToken = page.nextPageToken;
          } while (pageToken !== undefined);
          for (const id of ids) {
            const { events } = await store.getEvents(id);
            for (const event of events) count(counts, id, event.payload as OrderData);
          }
          return { seconds: secondsSince(start), counts };
        }).then((main) => ({ main })),
      close: () => Promise.resolve(),
    });
  };
}

function postgresOpener(url: string): Opener {
  return async () => {
    const store: PostgresEventStore = getPostgreSQLEventStore(url);
    // Every case starts on empty tables (schema created once, not timed).
    await store.schema.migrate();
    await store.schema.dangerous.truncate({ resetSequences: true });
    return { target: emmettTarget(store), replay: replayEmmettStreams(store), close: () => store.close() };
  };
}

function unilogOpener(dir: string): Opener {
  return async (label) => {
    const folder = path.join(dir, label);
    let log: FileEventLog = await openFileEventLog({ dir: path.join(folder, 'log') });
    let store: UnilogStore | undefined;
    try {
      store = await openFileEventStore({ log, catalog: orderCatalog, dir: path.join(folder, 'index') });
    } catch (error) {
      await log.close();
      throw error;
    }
    const opened = store;
    let closed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await opened.close();
      await log.close();
    };
    return {
      target: unilogTarget(opened),
      // The log is reopened read-only, as a reader after a restart would find it. The compared replay reads every
      // event with the log's read-all path (`log.read` pages of 1,000, what an application uses to replay the log);
      // the consumer runtime's rebuild of the same count, with its checkpoints and view commits, is measured after it.
      replay: async (_streams, events) => {
        await close();
        log = await openFileEventLog({ dir: path.join(folder, 'log'), readOnly: true });
        try {
          const main = await sampled(async () => {
            const counts = new Map<string, OrderCount>();
            const start = performance.now();
            for (let from = '0'; ; ) {
              const page = await log.read({ from, limit: 1000 });
              if (page.events.length === 0) break;
              for (const { event } of page.events) count(counts, event.streamid ?? '', event.data as OrderData);
              from = page.next;
            }
            return { seconds: secondsSince(start), counts };
          });
          const rebuild = await sampled(async () => {
            const { seconds, rows } = await rebuildCounts(log, createMemoryViewStorage(), events);
            return { seconds, counts: rows };
          });
          return { main, rebuild };
        } finally {
          await log.close();
          rmSync(folder, { recursive: true, force: true });
        }
      },
      close: async () => {
        await close();
        rmSync(folder, { recursive: true, force: true });
      },
    };
  };
}

function openerOf(job: PeerJob): Opener {
  switch (job.system) {
    case 'unilog':
      return unilogOpener(job.dir);
    case 'emmett':
      return emmettOpener();
    case 'castore':
      return castoreOpener();
    case 'emmett-postgres':
      if (job.postgresUrl === undefined) throw new Error('emmett-postgres needs postgresUrl');
      return postgresOpener(job.postgresUrl);
  }
}

/** Not timed: the replay counted every stream's events and total exactly as the writers appended them. */
function checkCounts(name: string, streams: readonly string[], run: AppendRun, counts: ReadonlyMap<string, OrderCount>): void {
  let total = 0;
  for (const [s, stream] of streams.entries()) {
    const got = counts.get(stream) ?? { orders: 0, totalCents: 0 };
    if (got.orders !== run.versions[s] || got.totalCents !== run.totals[s]) {
      throw new Error(`${name}: stream ${stream} counted ${got.orders} orders of ${got.totalCents} cents, ${run.versions[s]} of ${run.totals[s]} were appended`);
    }
    total += got.orders;
  }
  const extra = [...counts.keys()].filter((key) => !streams.includes(key));
  if (extra.length > 0) throw new Error(`${name}: counted streams that were not appended to: ${extra.slice(0, 3).join(', ')}`);
  if (total === 0) throw new Error(`${name}: counted nothing`);
}

async function runCases(job: PeerJob, open: Opener, sizes: PeerSizes, label: string): Promise<Omit<PeerResult, 'system' | 'startRssMb' | 'peakRssMb'>> {
  const appendStreams = streamNames('order', job.appendStreams);
  const expectedStreams = streamNames('cart', job.expectedStreams);
  const name = `${job.system}${label === 'warmup' ? ' (warm-up)' : ''}`;

  const appendCase = async (caseName: string, streams: readonly string[], events: number, batch: number, check: boolean, seed: number, keep: boolean): Promise<{ result: PeerCase; store?: OpenStore; run: AppendRun }> => {
    const store = await open(`${label}-${caseName}`);
    try {
      const source = orderBatches(events, batch, seed);
      const run = await sampled(() => appendWorkload(store.target, streams, source, job.writers, check));
      await checkVersions(`${name} ${caseName}`, store.target, streams, run, events);
      progress(`${name}: ${caseName}: ${formatInteger(events)} events in ${run.seconds.toFixed(2)} s (${run.cpuSeconds.toFixed(1)} s of CPU), ${formatInteger(events / run.seconds)} events/s, RSS at most ${run.rssMaxMb.toFixed(0)} MB`);
      const result = { events, seconds: run.seconds, rssMaxMb: run.rssMaxMb, cpuSeconds: run.cpuSeconds, conflicts: run.conflicts };
      if (keep) return { result, store, run };
      await store.close();
      return { result, run };
    } catch (error) {
      await store.close();
      throw error;
    }
  };

  const append1 = (await appendCase('append batch 1', appendStreams, sizes.batch1, 1, false, 11, false)).result;
  const expected = (await appendCase('append expected version', expectedStreams, sizes.expected, 1, true, 12, false)).result;
  const kept = await appendCase('append batch 100', appendStreams, sizes.batch100, 100, false, 13, true);
  const store = kept.store!;
  try {
    const replayed = await store.replay(appendStreams, sizes.batch100);
    checkCounts(`${name} replay`, appendStreams, kept.run, replayed.main.counts);
    const replay = { events: sizes.batch100, seconds: replayed.main.seconds, rssMaxMb: replayed.main.rssMaxMb, cpuSeconds: replayed.main.cpuSeconds, conflicts: 0 };
    progress(`${name}: replay, counted per stream: ${formatInteger(sizes.batch100)} events in ${replay.seconds.toFixed(2)} s, ${formatInteger(sizes.batch100 / replay.seconds)} events/s`);
    let replayRebuild: PeerCase | undefined;
    if (replayed.rebuild) {
      checkCounts(`${name} replay rebuild`, appendStreams, kept.run, replayed.rebuild.counts);
      replayRebuild = { events: sizes.batch100, seconds: replayed.rebuild.seconds, rssMaxMb: replayed.rebuild.rssMaxMb, cpuSeconds: replayed.rebuild.cpuSeconds, conflicts: 0 };
      progress(`${name}: projection rebuilt by the consumer runtime: ${formatInteger(sizes.batch100 / replayRebuild.seconds)} events/s`);
    }
    const logAppend100 = job.system === 'unilog' ? await logOnlyAppend(path.join(job.dir, `${label}-log-only`), sizes.batch100, job.writers, name) : undefined;
    return { append1, expected, append100: kept.result, replay, ...(replayRebuild ? { replayRebuild } : {}), ...(logAppend100 ? { logAppend100 } : {}) };
  } finally {
    await store.close();
  }
}

/**
 * For scale, not compared: the batch-100 events (same writers, same batches) published to a file log with
 * publishBatch, without the event store: what the stream index and version checks cost on top of the durable log.
 */
async function logOnlyAppend(dir: string, events: number, writers: number, name: string): Promise<PeerCase> {
  const log = await openFileEventLog({ dir });
  try {
    const publisher = createPublisher({ log, catalog: orderCatalog, source: 'orders' });
    const source = orderBatches(events, 100, 13);
    let next = 0;
    const run = await sampled(async () => {
      const start = performance.now();
      await Promise.all(
        Array.from({ length: writers }, async () => {
          for (let i = next++; i < source.batches; i = next++) await publisher.publishBatch(source.take(i));
        }),
      );
      return { seconds: secondsSince(start) };
    });
    const head = await log.head();
    if (head !== String(events)) throw new Error(`${name} log only: the log's head is ${head} after publishing ${events} events`);
    progress(`${name}: batch 100 to the file log alone: ${formatInteger(events / run.seconds)} events/s`);
    return { events, seconds: run.seconds, rssMaxMb: run.rssMaxMb, cpuSeconds: run.cpuSeconds, conflicts: 0 };
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

serveWorker(peerJobSchema, async (job) => {
  const startRssMb = process.memoryUsage.rss() / 1024 / 1024;
  const open = openerOf(job);
  progress(`${job.system}: warming up`);
  await runCases(job, open, job.warmup, 'warmup');
  const result = await runCases(job, open, job.sizes, 'measured');
  return { system: job.system, ...result, startRssMb, peakRssMb: peakRssMb() } satisfies PeerResult;
});
