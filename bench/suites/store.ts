/**
 * The `store` suite: the durable file event store (`openFileEventStore`: the file log plus a SQLite stream index)
 * against `@event-driven-io/emmett`'s in-memory event store (nothing durable) doing the same work, and reading one
 * stream out of a big log against reading as many consecutive log records.
 *
 *   append batch 1    256 async writers, each appending 1 event at a time with the expected version it last saw,
 *                     to its own share of 10,000 streams (group commit in the file store)
 *   append batch 10   the same, 10 events per append
 *                     target: file store >= 1.0 × Emmett in memory; `append_vs_emmett_inmemory` is the lower of
 *                     the batch-1 and batch-10 ratios
 *   aggregate         aggregateStream of random streams (those the batch-10 case just wrote); no target
 *   sequential read   log.read({ from: random, limit: 100 }) in a log of 1,000,000 events
 *   readStream        store.readStream of a random 100-event stream of that log, its events scattered over it
 *                     target >= 0.5 × sequential read
 *
 * Options: `--events N` (events in the read log, default 1,000,000; each append case appends N / 5),
 * `--rounds N` (every case N times, interleaved; the fastest counts; default 3), `--reads N` (reads per read case
 * and round, default 2,000), `--loads N` (aggregateStream calls per aggregate case and round, default 10,000).
 */
import { getInMemoryEventStore, isExpectedVersionConflictError, type Event as EmmettEvent, type InMemoryEventStore } from '@event-driven-io/emmett';
import { isUnilogError, openFileEventLog, openFileEventStore, type EventStore, type FileEventLog, type StreamEnvelope } from '../../src/index.ts';
import { parseNumberFlags, type SuiteArgs } from '../lib/args.ts';
import { chunk, countOf, createDataGenerator, OrderPlaced, random, type OrderData } from '../lib/events.ts';
import { measureRounds, round, secondsSince, type Measurement } from '../lib/measure.ts';
import { progress } from '../lib/progress.ts';
import type { SuiteReport } from '../lib/suite.ts';
import { formatInteger } from '../lib/table.ts';
import { withTempRoot, type TempFolder, type TempRoot } from '../lib/tempDir.ts';

/** Events in the read log when `--events` is not given. */
const defaultLogEvents = 1_000_000;
/** Each append case appends the read log's size divided by this (200,000 events by default). */
const appendDivisor = 5;
const streamCount = 10_000;
const writers = 256;
/** Events per stream in the read log, and records per sequential read. */
const readLength = 100;
const defaultReads = 2000;
const defaultLoads = 10_000;
const defaultRounds = 3;
/** Appends of the warm-up, per case (not measured). */
const warmupEvents = 4000;
const warmupReads = 300;

const targets = {
  appendVsEmmett: 1.0,
  readStreamVsSequential: 0.5,
} as const;

/** The catalog of both stores' events: the order of the other suites (about 300 bytes as an envelope). */
const catalog = [OrderPlaced] as const;
type OrderDefs = (typeof catalog)[number];
/** One event to append: the same objects go to both stores. */
interface OrderInput {
  readonly type: typeof OrderPlaced.type;
  readonly data: OrderData;
}
type EmmettOrder = EmmettEvent<typeof OrderPlaced.type, OrderData>;
type FileStore = EventStore<OrderDefs>;

/** What loading an aggregate folds: the number of orders and their total. */
interface OrderTotals {
  readonly orders: number;
  readonly totalCents: number;
}
const initialTotals = (): OrderTotals => ({ orders: 0, totalCents: 0 });
const addOrder = (state: OrderTotals, data: OrderData): OrderTotals => ({ orders: state.orders + 1, totalCents: state.totalCents + data.totalCents });

const streamName = (prefix: string, i: number): string => `${prefix}-${String(i).padStart(6, '0')}`;

// ---- the two stores behind one interface -----------------------------------------------------------------------------

/** What the append workload needs of a store. */
interface AppendTarget {
  /** Appends if the stream is at `expected`; resolves with its new version. */
  append(stream: string, events: OrderInput[], expected: number): Promise<number>;
  isConflict(error: unknown): boolean;
  /** The stream's version (0 when it does not exist). */
  version(stream: string): Promise<number>;
  /** Folds the stream; resolves with the state and the version. */
  aggregate(stream: string): Promise<{ state: OrderTotals; version: number }>;
}

function emmettTarget(store: InMemoryEventStore): AppendTarget {
  return {
    async append(stream, events, expected) {
      const result = await store.appendToStream<EmmettOrder>(stream, events, { expectedStreamVersion: BigInt(expected) });
      return Number(result.nextExpectedStreamVersion);
    },
    isConflict: (error) => isExpectedVersionConflictError(error),
    async version(stream) {
      return Number((await store.readStream<EmmettOrder>(stream)).currentStreamVersion);
    },
    async aggregate(stream) {
      const result = await store.aggregateStream<OrderTotals, EmmettOrder>(stream, { initialState: initialTotals, evolve: (state: OrderTotals, event: EmmettOrder) => addOrder(state, event.data) });
      return { state: result.state, version: Number(result.currentStreamVersion) };
    },
  };
}

function fileTarget(store: FileStore): AppendTarget {
  return {
    async append(stream, events, expected) {
      return (await store.appendToStream(stream, events, { expectedVersion: expected })).nextExpectedVersion;
    },
    isConflict: (error) => isUnilogError(error, 'ConcurrencyConflict'),
    async version(stream) {
      return (await store.readStream(stream, { direction: 'backward', limit: 1 })).version;
    },
    aggregate(stream) {
      return store.aggregateStream(stream, { initialState: initialTotals, evolve: (state: OrderTotals, event: StreamEnvelope<OrderDefs>) => addOrder(state, event.data) });
    },
  };
}

/** A file store with its log, in a folder of its own. */
interface OpenFileStore {
  readonly store: FileStore;
  readonly log: FileEventLog;
  readonly folder: TempFolder;
}

async function openStoreIn(folder: TempFolder): Promise<OpenFileStore> {
  const log = await openFileEventLog({ dir: `${folder.path}/log` });
  try {
    const store = await openFileEventStore({ log, catalog, dir: `${folder.path}/index` });
    return { store, log, folder };
  } catch (error) {
    await log.close();
    throw error;
  }
}

async function closeStore(open: OpenFileStore): Promise<void> {
  await open.store.close();
  await open.log.close();
}

// ---- the append workload -------------------------------------------------------------------------------------------

/** What one append run left behind: every stream's version and total as the writers saw them. */
interface AppendRun {
  readonly seconds: number;
  readonly conflicts: number;
  readonly versions: Int32Array;
  readonly totals: Float64Array;
}

/**
 * {@link writers} async writers take the next batch until none is left; writer w appends it to a random stream of its
 * own (those numbered w, w + 256, ...), with the version it last saw of that stream as the expected version.
 */
async function appendWorkload(target: AppendTarget, streams: readonly string[], batches: readonly OrderInput[][]): Promise<AppendRun> {
  const versions = new Int32Array(streams.length);
  const totals = new Float64Array(streams.length);
  let next = 0;
  let conflicts = 0;
  const writer = async (w: number): Promise<void> => {
    const pick = random(1000 + w);
    const own = Math.ceil((streams.length - w) / writers);
    for (let i = next++; i < batches.length; i = next++) {
      const s = w + writers * Math.floor(pick() * own);
      const stream = streams[s]!;
      const batch = batches[i]!;
      try {
        versions[s] = await target.append(stream, batch, versions[s]!);
        let sum = totals[s]!;
        for (const event of batch) sum += event.data.totalCents;
        totals[s] = sum;
      } catch (error) {
        if (!target.isConflict(error)) throw error;
        conflicts++;
        versions[s] = await target.version(stream);
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(writers, streams.length) }, (_, w) => writer(w)));
  return { seconds: secondsSince(start), conflicts, versions, totals };
}

/** Not timed: every stream is at the version its writer last saw, and the versions add up to the events appended. */
async function checkVersions(name: string, target: AppendTarget, streams: readonly string[], run: AppendRun, events: number): Promise<void> {
  let sum = 0;
  for (const [s, stream] of streams.entries()) {
    const version = await target.version(stream);
    if (version !== run.versions[s]) throw new Error(`${name}: stream ${stream} is at version ${version}, its writer last saw ${run.versions[s]}`);
    sum += version;
  }
  if (sum !== events) throw new Error(`${name}: the streams hold ${sum} events, ${events} were appended`);
  if (run.conflicts > 0) progress(`  ${name}: ${run.conflicts} version conflicts (none expected: each writer has streams of its own)`);
}

/** `loads` aggregateStream calls of random streams, one after another; the states are checked after the timing. */
async function aggregateWorkload(name: string, target: AppendTarget, streams: readonly string[], run: AppendRun, loads: number, seed: number): Promise<{ seconds: number; events: number }> {
  const pick = random(seed);
  const picked = Array.from({ length: loads }, () => Math.floor(pick() * streams.length));
  const results = new Array<{ state: OrderTotals; version: number }>(loads);
  const start = performance.now();
  for (let i = 0; i < loads; i++) results[i] = await target.aggregate(streams[picked[i]!]!);
  const seconds = secondsSince(start);
  let events = 0;
  for (let i = 0; i < loads; i++) {
    const s = picked[i]!;
    const { state, version } = results[i]!;
    if (version !== run.versions[s] || state.orders !== version || state.totalCents !== run.totals[s]) {
      throw new Error(`${name}: aggregate of ${streams[s]!} is ${JSON.stringify({ state, version })}, expected ${run.versions[s]} orders of ${run.totals[s]} cents`);
    }
    events += version;
  }
  return { seconds, events };
}

// ---- the suite -------------------------------------------------------------------------------------------------------

interface Options {
  readonly rounds: number;
  readonly reads: number;
  readonly loads: number;
}

export async function run(args: SuiteArgs): Promise<SuiteReport> {
  const flags = parseNumberFlags('store', args.rest, [
    { name: 'rounds', default: defaultRounds, min: 1, max: 10 },
    { name: 'reads', default: defaultReads, min: 10, max: 1_000_000 },
    { name: 'loads', default: defaultLoads, min: 10, max: 10_000_000 },
  ]);
  const options: Options = { rounds: flags.rounds, reads: flags.reads, loads: flags.loads };
  const logEvents = Math.max(readLength * 10, Math.floor((args.events ?? defaultLogEvents) / readLength) * readLength);
  const appendEvents = Math.max(1000, Math.floor(logEvents / appendDivisor / 10) * 10);
  return withTempRoot('unilog-bench-store-', async (root) => {
    progress(`temp dir ${root.path}`);
    const append = await appendCases(root, appendEvents, options);
    const read = await readCases(root, logEvents, options);
    return report(appendEvents, logEvents, options, append, read);
  });
}

interface AppendResults {
  readonly emmett1: Measurement;
  readonly file1: Measurement;
  readonly emmett10: Measurement;
  readonly file10: Measurement;
  readonly emmettAggregate: Measurement;
  readonly fileAggregate: Measurement;
  readonly conflicts: number;
  readonly streamLength: number;
}

/** Events of `count` orders as batches of `size` (fresh objects per call, shared by both stores). */
function orderBatches(count: number, size: number, seed: number): OrderInput[][] {
  const next = createDataGenerator(seed);
  const events = Array.from({ length: count }, (): OrderInput => ({ type: OrderPlaced.type, data: next() }));
  return chunk(events, size);
}

async function appendCases(root: TempRoot, count: number, options: Options): Promise<AppendResults> {
  const streams = Array.from({ length: streamCount }, (_, i) => streamName('order', i));
  progress(`generating ${formatInteger(count)} orders for the append cases`);
  const batches1 = orderBatches(count, 1, 1);
  const batches10 = orderBatches(count, 10, 2);
  const folder = root.folder('append');
  let conflicts = 0;

  // The stores the batch-10 cases leave for the aggregate cases of the same round.
  let emmettLatest: { target: AppendTarget; run: AppendRun } | undefined;
  let fileLatest: { open: OpenFileStore; target: AppendTarget; run: AppendRun } | undefined;

  const emmettOnce = async (batches: readonly OrderInput[][], keep: boolean): Promise<number> => {
    const target = emmettTarget(getInMemoryEventStore());
    const result = await appendWorkload(target, streams, batches);
    await checkVersions('emmett', target, streams, result, countOf(batches));
    conflicts += result.conflicts;
    if (keep) emmettLatest = { target, run: result };
    return result.seconds;
  };
  const fileOnce = async (batches: readonly OrderInput[][], keep: boolean): Promise<number> => {
    const open = await openStoreIn(folder.folder('store'));
    try {
      const target = fileTarget(open.store);
      const result = await appendWorkload(target, streams, batches);
      await checkVersions('file store', target, streams, result, countOf(batches));
      const head = await open.log.head();
      if (head !== String(countOf(batches))) throw new Error(`file store: the log's head is ${head} after appending ${countOf(batches)} events`);
      conflicts += result.conflicts;
      if (keep) {
        if (fileLatest) await releaseFile(fileLatest.open);
        fileLatest = { open, target, run: result };
      }
      return result.seconds;
    } finally {
      if (!keep) await releaseFile(open);
    }
  };
  const releaseFile = async (open: OpenFileStore): Promise<void> => {
    await closeStore(open);
    open.folder.remove();
  };

  progress('warming up');
  const warm = Math.min(warmupEvents, count);
  await emmettOnce(batches1.slice(0, warm), false);
  await fileOnce(batches1.slice(0, warm), false);
  await emmettOnce(batches10.slice(0, warm / 10), false);
  await fileOnce(batches10.slice(0, warm / 10), false);

  let aggregateRound = 0;
  // The fastest aggregate run of each store, by events folded per second (streams are of random length).
  const aggregated: Record<'emmett' | 'file', { seconds: number; events: number }> = { emmett: { seconds: Infinity, events: 0 }, file: { seconds: Infinity, events: 0 } };
  const aggregateOnce = async (which: 'emmett' | 'file'): Promise<number> => {
    const latest = which === 'emmett' ? emmettLatest : fileLatest;
    if (!latest) throw new Error('aggregate: no store of the batch-10 case');
    // Both stores load the same streams in a round; each round other streams.
    const result = await aggregateWorkload(which === 'emmett' ? 'emmett aggregate' : 'file store aggregate', latest.target, streams, latest.run, options.loads, 7000 + Math.floor(aggregateRound++ / 2));
    const best = aggregated[which];
    if (result.events / result.seconds > best.events / best.seconds) aggregated[which] = result;
    return result.seconds;
  };

  const loadsEvents = Math.round((options.loads * count) / streamCount);
  try {
    const [emmett1, file1, emmett10, file10, emmettAggregate, fileAggregate] = (await measureRounds(
      [
        { name: 'emmett in-memory: append batch 1', events: count, once: () => emmettOnce(batches1, false) },
        { name: 'file store: append batch 1', events: count, once: () => fileOnce(batches1, false) },
        { name: 'emmett in-memory: append batch 10', events: count, once: () => emmettOnce(batches10, true) },
        { name: 'file store: append batch 10', events: count, once: () => fileOnce(batches10, true) },
        { name: `emmett in-memory: ${formatInteger(options.loads)} aggregateStream (events folded)`, events: loadsEvents, once: () => aggregateOnce('emmett') },
        { name: `file store: ${formatInteger(options.loads)} aggregateStream (events folded)`, events: loadsEvents, once: () => aggregateOnce('file') },
      ],
      options.rounds,
    )) as [Measurement, Measurement, Measurement, Measurement, Measurement, Measurement];
    // The aggregate cases count events actually folded: the fastest run by that measure.
    const fix = (m: Measurement, best: { seconds: number; events: number }): Measurement => ({ ...m, events: best.events, seconds: best.seconds, eventsPerSecond: best.events / best.seconds });
    return {
      emmett1,
      file1,
      emmett10,
      file10,
      emmettAggregate: fix(emmettAggregate, aggregated.emmett),
      fileAggregate: fix(fileAggregate, aggregated.file),
      conflicts,
      streamLength: count / streamCount,
    };
  } finally {
    if (fileLatest) await releaseFile(fileLatest.open);
    folder.remove();
  }
}


// ---- reading a stream out of a big log -------------------------------------------------------------------------------

interface ReadResults {
  readonly sequential: Measurement;
  readonly readStream: Measurement;
  readonly streams: number;
  readonly buildSeconds: number;
  readonly openSeconds: number;
}

async function readCases(root: TempRoot, count: number, options: Options): Promise<ReadResults> {
  const streams = count / readLength;
  const names = Array.from({ length: streams }, (_, i) => streamName('cart', i));
  const folder = root.folder('read');
  progress(`read setup: ${formatInteger(streams)} streams × ${readLength} events, appended round-robin (one event per stream per group of ${formatInteger(streams)}): ${formatInteger(count)} events`);
  const buildSeconds = await buildReadLog(folder, names);

  const opening = performance.now();
  const open = await openStoreIn(folder);
  const openSeconds = secondsSince(opening);
  try {
    await checkReadLog(open, names, count);
    const { store, log } = open;
    const pick = random(42);
    let sequentialEvents = 0;
    let streamEvents = 0;
    const sequentialOnce = async (reads: number): Promise<number> => {
      const froms = Array.from({ length: reads }, () => String(Math.floor(pick() * (count - readLength + 1))));
      let got = 0;
      const start = performance.now();
      for (const from of froms) got += (await log.read({ from, limit: readLength })).events.length;
      const seconds = secondsSince(start);
      if (got !== reads * readLength) throw new Error(`sequential read: ${got} events in ${reads} reads of ${readLength}`);
      sequentialEvents = got;
      return seconds;
    };
    const readStreamOnce = async (reads: number): Promise<number> => {
      const picked = Array.from({ length: reads }, () => names[Math.floor(pick() * streams)]!);
      let got = 0;
      const start = performance.now();
      for (const stream of picked) got += (await store.readStream(stream)).events.length;
      const seconds = secondsSince(start);
      if (got !== reads * readLength) throw new Error(`readStream: ${got} events in ${reads} streams of ${readLength}`);
      streamEvents = got;
      return seconds;
    };

    progress('warming up');
    await sequentialOnce(warmupReads);
    await readStreamOnce(warmupReads);
    const events = options.reads * readLength;
    const [sequential, readStream] = (await measureRounds(
      [
        { name: `sequential: ${formatInteger(options.reads)} × log.read of ${readLength} records from a random position`, events, once: () => sequentialOnce(options.reads) },
        { name: `file store: ${formatInteger(options.reads)} × readStream of a random ${readLength}-event stream`, events, once: () => readStreamOnce(options.reads) },
      ],
      options.rounds,
    )) as [Measurement, Measurement];
    if (sequentialEvents !== events || streamEvents !== events) throw new Error('read cases: wrong event counts');
    return { sequential, readStream, streams, buildSeconds, openSeconds };
  } finally {
    await closeStore(open);
    folder.remove();
  }
}

/**
 * Setup, not measured: version round v appends event v of every stream, all appends of the round in flight at once
 * (so the store writes them in a few large groups). A stream's events end up `streams` positions apart.
 */
async function buildReadLog(folder: TempFolder, names: readonly string[]): Promise<number> {
  const open = await openStoreIn(folder);
  const next = createDataGenerator(3);
  const start = performance.now();
  try {
    for (let v = 0; v < readLength; v++) {
      await Promise.all(names.map((name) => open.store.appendToStream(name, [{ type: OrderPlaced.type, data: next() }], { expectedVersion: v })));
      if ((v + 1) % 10 === 0 && v + 1 < readLength) progress(`  ${formatInteger((v + 1) * names.length)} written`);
    }
  } finally {
    await closeStore(open);
  }
  const seconds = secondsSince(start);
  progress(`  built in ${seconds.toFixed(1)} s`);
  return seconds;
}

/** Not timed: the log holds every event, and sampled streams hold versions 1..100, `streams` positions apart. */
async function checkReadLog(open: OpenFileStore, names: readonly string[], count: number): Promise<void> {
  const head = await open.log.head();
  if (head !== String(count)) throw new Error(`read log: head ${head}, expected ${count}`);
  const pick = random(9);
  for (let i = 0; i < 20; i++) {
    const s = Math.floor(pick() * names.length);
    const { version, events } = await open.store.readStream(names[s]!);
    const wrong = events.findIndex((e, k) => e.streamVersion !== k + 1 || Number(e.position) !== s + k * names.length || e.event.streamid !== names[s]);
    if (version !== readLength || events.length !== readLength || wrong >= 0) {
      throw new Error(`read log: stream ${names[s]!} is at version ${version} with ${events.length} events (event ${wrong} out of place)`);
    }
  }
}

// ---- the report ------------------------------------------------------------------------------------------------------

function report(appendEvents: number, logEvents: number, options: Options, append: AppendResults, read: ReadResults): SuiteReport {
  const batch1 = append.file1.eventsPerSecond / append.emmett1.eventsPerSecond;
  const batch10 = append.file10.eventsPerSecond / append.emmett10.eventsPerSecond;
  const ratios = {
    append_vs_emmett_inmemory: Math.min(batch1, batch10),
    append_batch1_vs_emmett_inmemory: batch1,
    append_batch10_vs_emmett_inmemory: batch10,
    aggregate_vs_emmett_inmemory: append.fileAggregate.eventsPerSecond / append.emmettAggregate.eventsPerSecond,
    readstream_vs_sequential: read.readStream.eventsPerSecond / read.sequential.eventsPerSecond,
  };
  const figures = {
    emmett_append_batch1_events_per_s: Math.round(append.emmett1.eventsPerSecond),
    file_append_batch1_events_per_s: Math.round(append.file1.eventsPerSecond),
    emmett_append_batch10_events_per_s: Math.round(append.emmett10.eventsPerSecond),
    file_append_batch10_events_per_s: Math.round(append.file10.eventsPerSecond),
    emmett_aggregate_per_s: Math.round(options.loads / append.emmettAggregate.seconds),
    file_aggregate_per_s: Math.round(options.loads / append.fileAggregate.seconds),
    emmett_aggregate_events_per_s: Math.round(append.emmettAggregate.eventsPerSecond),
    file_aggregate_events_per_s: Math.round(append.fileAggregate.eventsPerSecond),
    sequential_read_events_per_s: Math.round(read.sequential.eventsPerSecond),
    readstream_events_per_s: Math.round(read.readStream.eventsPerSecond),
    append_conflicts: append.conflicts,
  };
  const row = (name: string, m: Measurement, measured?: { ratio: number; of: string; target?: number }): string[] => [
    name,
    formatInteger(m.events),
    String(m.runs),
    m.seconds.toFixed(2),
    formatInteger(m.eventsPerSecond),
    measured ? `${measured.ratio.toFixed(2)} × ${measured.of}` : '',
    measured?.target !== undefined ? `>= ${measured.target.toFixed(2)}` : '',
    measured?.target !== undefined ? (measured.ratio >= measured.target ? 'PASS' : 'MISS') : '',
  ];
  const appendPass = ratios.append_vs_emmett_inmemory >= targets.appendVsEmmett;
  const rows = [
    row(`Emmett in memory: append batch 1, ${writers} writers`, append.emmett1),
    row(`file store: append batch 1, ${writers} writers`, append.file1, { ratio: batch1, of: 'Emmett', target: targets.appendVsEmmett }),
    row(`Emmett in memory: append batch 10, ${writers} writers`, append.emmett10),
    row(`file store: append batch 10, ${writers} writers`, append.file10, { ratio: batch10, of: 'Emmett', target: targets.appendVsEmmett }),
    ['append_vs_emmett_inmemory (the lower of batch 1, batch 10)', '', '', '', '', `${ratios.append_vs_emmett_inmemory.toFixed(2)} × Emmett`, `>= ${targets.appendVsEmmett.toFixed(2)}`, appendPass ? 'PASS' : 'MISS'],
    row(`Emmett in memory: aggregateStream (events folded)`, append.emmettAggregate),
    row(`file store: aggregateStream (events folded)`, append.fileAggregate, { ratio: ratios.aggregate_vs_emmett_inmemory, of: 'Emmett' }),
    row(`sequential: log.read of ${readLength} records, random position`, read.sequential),
    row(`file store: readStream of a ${readLength}-event stream`, read.readStream, { ratio: ratios.readstream_vs_sequential, of: 'sequential', target: targets.readStreamVsSequential }),
  ];
  return {
    suite: 'store',
    preface: [
      `append: ${formatInteger(appendEvents)} events per case to ${formatInteger(streamCount)} streams (${append.streamLength} events per stream at the end) from ${writers} async writers, each appending with the expected version it last saw to streams of its own; file store = openFileEventStore (file log with fdatasync + SQLite stream index), Emmett = getInMemoryEventStore() of @event-driven-io/emmett (not durable)`,
      `aggregate: ${formatInteger(options.loads)} aggregateStream calls of random streams, one after another, on the stores the batch-10 case just wrote`,
      `read: a log of ${formatInteger(logEvents)} events = ${formatInteger(read.streams)} streams × ${readLength} events appended round-robin (a stream's events are ${formatInteger(read.streams)} positions apart; built in ${read.buildSeconds.toFixed(0)} s, not timed); ${formatInteger(options.reads)} reads per case and round`,
      `runs: ${options.rounds} round(s), every case once per round in table order; the fastest run of each case is shown`,
    ],
    table: {
      headers: ['case', 'events', 'runs', 'seconds', 'events/s', 'measured', 'target', 'result'],
      numeric: [false, true, true, true, true, false, false, false],
      rows,
    },
    notes: [
      `checked (not timed): after every append run each stream is at the version its writer last saw and the versions add up to the events appended (file store: and the log's head); ${append.conflicts} version conflicts in all runs; every aggregate equals the writers' own count and total; sampled read-log streams hold versions 1..${readLength} at the expected positions`,
      `aggregate: Emmett ${formatInteger(figures.emmett_aggregate_per_s)} aggregates/s, file store ${formatInteger(figures.file_aggregate_per_s)} aggregates/s; reopening the ${formatInteger(logEvents)}-event log and store took ${(read.openSeconds * 1000).toFixed(0)} ms`,
    ],
    ratios: Object.fromEntries(Object.entries(ratios).map(([key, value]) => [key, round(value, 3)])),
    figures,
  };
}
