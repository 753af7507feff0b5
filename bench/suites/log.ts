/**
 * The `log` suite: the file event log's write and replay throughput against plain-fs baselines on the same events.
 *
 *   baseline        JSON.stringify + one write + one fdatasync per batch of 100, to a plain file
 *   append 100      log.append of batches of 100, one awaited after another            target >= 0.70 × baseline
 *   concurrent 256  256 single-event appends always in flight (group commit)           target >= 0.50 × append 100
 *   publish 100     publisher.publishBatch of 100 (zod validation + envelope + append)  target >= 0.50 × baseline
 *   replay baseline read the .seg files in 1 MiB chunks and JSON.parse every payload
 *   replay          log.read pages of 1000 over the whole log                            target >= 0.60 × replay baseline
 *                   and RSS growth during the replay                                    target < 100 MB
 */
import { closeSync, fdatasyncSync, openSync, readdirSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { createPublisher, openFileEventLog, type EventEnvelope, type FileEventLog } from '../../src/index.ts';
import { parseNumberFlags, type SuiteArgs } from '../lib/args.ts';
import { benchSource, chunk, countOf, createDataGenerator, createEnvelopeFactory, generateEvents, OrderPlaced, type OrderData } from '../lib/events.ts';
import { measureRounds, round, secondsSince, type Measurement } from '../lib/measure.ts';
import { collectGarbage, RssSampler } from '../lib/memory.ts';
import { progress } from '../lib/progress.ts';
import type { SuiteReport } from '../lib/suite.ts';
import { formatInteger } from '../lib/table.ts';
import { withTempRoot, type TempRoot } from '../lib/tempDir.ts';

/** Events per write case when `--events` is not given. */
const defaultWriteEvents = 200_000;
/** The replayed log is this many times the write cases' size (1,000,000 by default). */
const replayFactor = 5;
const batchSize = 100;
const concurrency = 256;
/** The replay log is written in large batches: setup, not measured. */
const replayWriteBatch = 1000;
const replayPageSize = 1000;
const warmupEvents = 5000;
/** Each case runs this many times, the cases interleaved; the fastest run of each counts. */
const defaultRounds = 3;
const readChunkBytes = 1024 * 1024;
// The record layout of docs/architecture.md: a 12-byte header (length at byte 8), the payload, a 4-byte CRC.
const frameHeaderBytes = 12;
const frameTrailerBytes = 4;
const frameLengthOffset = 8;

const targets = {
  appendBatch: 0.7,
  concurrent: 0.5,
  publish: 0.5,
  replay: 0.6,
  rssGrowthMb: 100,
} as const;

export async function run(args: SuiteArgs): Promise<SuiteReport> {
  const rounds = parseNumberFlags('log', args.rest, [{ name: 'rounds', default: defaultRounds, min: 1, max: 10 }]).rounds;
  const writeEvents = args.events ?? defaultWriteEvents;
  const replayEvents = writeEvents * replayFactor;
  const gc = collectGarbage();
  if (!gc) progress('no garbage collector access: RSS figures are taken without a full GC first');
  return withTempRoot('unilog-bench-log-', async (root) => {
    progress(`temp dir ${root.path}`);
    // Files of the write cases are kept until all their runs are done: deleting tens of MB between runs
    // makes the file system busy during the next run's fdatasyncs.
    const writeFolder = root.folder('write');
    const write = await writeCases(writeFolder, writeEvents, rounds);
    writeFolder.remove();
    const replay = await replayCases(root, replayEvents, rounds);
    return report(writeEvents, replayEvents, rounds, write, replay, gc);
  });
}


interface WriteResults {
  readonly eventBytes: number;
  readonly baseline: Measurement;
  readonly appendBatch: Measurement;
  readonly concurrent: Measurement;
  readonly publish: Measurement;
}

/** The four write cases, on the same generated events (kept in this scope only, so replay runs without them). */
async function writeCases(root: TempRoot, count: number, rounds: number): Promise<WriteResults> {
  progress(`generating ${formatInteger(count)} events`);
  const { data, envelopes } = generateEvents(count);
  const eventBytes = envelopes.reduce((sum, event) => sum + Buffer.byteLength(JSON.stringify(event)), 0) / count;
  const batches = chunk(envelopes, batchSize);
  const itemBatches = chunk(
    data.map((item) => ({ type: OrderPlaced.type, data: item })),
    batchSize,
  );

  progress('warming up');
  const warm = Math.min(warmupEvents, count);
  await baselineOnce(root, batches.slice(0, warm / batchSize));
  await appendBatchesOnce(root, batches.slice(0, warm / batchSize));
  await concurrentOnce(root, envelopes.slice(0, warm));
  await publishOnce(root, itemBatches.slice(0, warm / batchSize));

  const [baseline, appendBatch, concurrent, publish] = (await measureRounds(
    [
      { name: 'baseline', events: count, once: () => baselineOnce(root, batches) },
      { name: `append batch ${batchSize}`, events: count, once: () => appendBatchesOnce(root, batches) },
      { name: `append concurrent ${concurrency}`, events: count, once: () => concurrentOnce(root, envelopes) },
      { name: `publish batch ${batchSize}`, events: count, once: () => publishOnce(root, itemBatches) },
    ],
    rounds,
  )) as [Measurement, Measurement, Measurement, Measurement];
  return { eventBytes, baseline, appendBatch, concurrent, publish };
}

/** Case 1: JSON.stringify each event, one write of the joined batch and one fdatasync per batch. */
function baselineOnce(root: TempRoot, batches: readonly (readonly EventEnvelope[])[]): Promise<number> {
  const file = root.fresh('baseline.jsonl');
  const fd = openSync(file, 'w');
  try {
    const start = performance.now();
    for (const batch of batches) {
      let text = '';
      for (const event of batch) text += `${JSON.stringify(event)}\n`;
      const buffer = Buffer.from(text);
      for (let done = 0; done < buffer.length; ) done += writeSync(fd, buffer, done);
      fdatasyncSync(fd);
    }
    return Promise.resolve(secondsSince(start));
  } finally {
    closeSync(fd);
  }
}

/** Opens a log in a fresh folder, runs `body` on it (timed) and checks it holds `expected` events. */
async function withFreshLog(root: TempRoot, name: string, expected: number, body: (log: FileEventLog) => Promise<void>): Promise<number> {
  const dir = root.fresh(name);
  const log = await openFileEventLog({ dir });
  try {
    const start = performance.now();
    await body(log);
    const seconds = secondsSince(start);
    const head = await log.head();
    if (head !== String(expected)) throw new Error(`${name}: the log's head is ${head} after appending ${expected} events`);
    return seconds;
  } finally {
    await log.close();
  }
}

/** Case 2: batches of 100, each append awaited before the next. */
function appendBatchesOnce(root: TempRoot, batches: readonly (readonly EventEnvelope[])[]): Promise<number> {
  return withFreshLog(root, 'append-batch', countOf(batches), async (log) => {
    for (const batch of batches) await log.append(batch);
  });
}

/** Case 3: `concurrency` workers, each appending one event at a time, so that many appends are always in flight. */
function concurrentOnce(root: TempRoot, events: readonly EventEnvelope[]): Promise<number> {
  return withFreshLog(root, 'append-concurrent', events.length, async (log) => {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < events.length; i = next++) await log.append([events[i]!]);
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  });
}

/** Case 4: the publisher validates each batch of 100 with zod, builds the envelopes and appends them. */
function publishOnce(root: TempRoot, itemBatches: readonly (readonly { type: typeof OrderPlaced.type; data: OrderData }[])[]): Promise<number> {
  return withFreshLog(root, 'publish-batch', countOf(itemBatches), async (log) => {
    const publisher = createPublisher({ log, catalog: [OrderPlaced], source: benchSource });
    for (const items of itemBatches) await publisher.publishBatch(items);
  });
}


interface ReplayResults {
  readonly baseline: Measurement;
  readonly replay: Measurement;
  readonly logBytes: number;
  readonly openSeconds: number;
  readonly rss: { readonly beforeMb: number; readonly maxMb: number; readonly growthMb: number };
}

async function replayCases(root: TempRoot, count: number, rounds: number): Promise<ReplayResults> {
  const warmDir = root.fresh('replay-warmup');
  await writeLog(warmDir, Math.min(warmupEvents * 4, count), false);
  replayBaselineOnce(warmDir, Math.min(warmupEvents * 4, count));
  await replayLogOnce(warmDir, Math.min(warmupEvents * 4, count));
  rmSync(warmDir, { recursive: true, force: true });

  const dir = root.fresh('replay');
  progress(`replay setup: writing ${formatInteger(count)} events in batches of ${replayWriteBatch}`);
  await writeLog(dir, count, true);
  const logBytes = segmentFiles(dir).reduce((sum, file) => sum + statSync(file).size, 0);

  let rss = { beforeMb: 0, maxMb: 0, growthMb: 0 };
  let openSeconds = Infinity;
  const [baseline, replay] = (await measureRounds(
    [
      { name: `replay baseline (${(logBytes / 1024 / 1024).toFixed(0)} MiB of segments)`, events: count, once: () => Promise.resolve(replayBaselineOnce(dir, count)) },
      {
        name: `replay, log.read pages of ${replayPageSize}`,
        events: count,
        once: async () => {
          const result = await replayLogOnce(dir, count);
          progress(`  RSS +${result.rss.growthMb.toFixed(1)} MB (${result.rss.beforeMb.toFixed(0)} MB before), open ${(result.openSeconds * 1000).toFixed(0)} ms`);
          // The worst growth of the runs: memory is a ceiling, not a best case.
          if (result.rss.growthMb > rss.growthMb) rss = result.rss;
          openSeconds = Math.min(openSeconds, result.openSeconds);
          return result.seconds;
        },
      },
    ],
    rounds,
  )) as [Measurement, Measurement];
  rmSync(dir, { recursive: true, force: true });
  return { baseline, replay, logBytes, openSeconds, rss };
}

/** Writes `count` fresh events in batches of {@link replayWriteBatch}, generating each batch just before it is appended. */
async function writeLog(dir: string, count: number, report: boolean): Promise<void> {
  const nextData = createDataGenerator();
  const wrap = createEnvelopeFactory();
  const log = await openFileEventLog({ dir });
  try {
    const step = Math.max(replayWriteBatch, Math.round(count / 10 / replayWriteBatch) * replayWriteBatch);
    for (let written = 0; written < count; ) {
      const n = Math.min(replayWriteBatch, count - written);
      const batch = new Array<EventEnvelope>(n);
      for (let i = 0; i < n; i++) batch[i] = wrap(nextData());
      await log.append(batch);
      written += n;
      if (report && written % step === 0 && written < count) progress(`  ${formatInteger(written)} written`);
    }
  } finally {
    await log.close();
  }
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.seg'))
    .sort()
    .map((name) => path.join(dir, name));
}

/** Replay baseline: the segment bytes read in 1 MiB chunks, each record's payload JSON.parsed. Returns seconds. */
function replayBaselineOnce(dir: string, expected: number): number {
  const files = segmentFiles(dir);
  let buffer = Buffer.allocUnsafe(readChunkBytes);
  let count = 0;
  let last: unknown;
  const start = performance.now();
  for (const file of files) {
    const fd = openSync(file, 'r');
    try {
      let filePosition = 0;
      let kept = 0; // bytes of a frame cut by the previous chunk, moved to the buffer's start
      for (;;) {
        if (kept === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
        const read = readSync(fd, buffer, kept, buffer.length - kept, filePosition);
        filePosition += read;
        const end = kept + read;
        let at = 0;
        while (end - at >= frameHeaderBytes) {
          const payloadEnd = at + frameHeaderBytes + buffer.readUInt32LE(at + frameLengthOffset);
          const frameEnd = payloadEnd + frameTrailerBytes;
          if (frameEnd > end) break;
          last = JSON.parse(buffer.toString('utf8', at + frameHeaderBytes, payloadEnd));
          count++;
          at = frameEnd;
        }
        if (read === 0) {
          if (at !== end) throw new Error(`replay baseline: ${end - at} bytes of a cut record at the end of ${file}`);
          break;
        }
        buffer.copyWithin(0, at, end);
        kept = end - at;
      }
    } finally {
      closeSync(fd);
    }
  }
  const seconds = secondsSince(start);
  if (count !== expected || typeof (last as { id?: unknown } | undefined)?.id !== 'string') {
    throw new Error(`replay baseline: parsed ${count} records, expected ${expected}`);
  }
  return seconds;
}

/** Replay: a fresh read-only log paged through with read({ from, limit }) until a page comes back empty. */
async function replayLogOnce(dir: string, expected: number): Promise<{ seconds: number; openSeconds: number; rss: { beforeMb: number; maxMb: number; growthMb: number } }> {
  collectGarbage();
  const opening = performance.now();
  const log = await openFileEventLog({ dir, readOnly: true });
  const openSeconds = secondsSince(opening);
  try {
    collectGarbage();
    const sampler = new RssSampler();
    let count = 0;
    let from = '0';
    const start = performance.now();
    for (;;) {
      const page = await log.read({ from, limit: replayPageSize });
      if (page.events.length === 0) break;
      count += page.events.length;
      from = page.next;
      sampler.sample();
    }
    const seconds = secondsSince(start);
    const rss = sampler.stop();
    if (count !== expected) throw new Error(`replay: read ${count} events, expected ${expected}`);
    return { seconds, openSeconds, rss };
  } finally {
    await log.close();
  }
}

function report(writeEvents: number, replayEvents: number, rounds: number, write: WriteResults, replay: ReplayResults, gc: boolean): SuiteReport {
  const ratios = {
    append_batch100_vs_baseline: write.appendBatch.eventsPerSecond / write.baseline.eventsPerSecond,
    append_concurrent256_vs_batch100: write.concurrent.eventsPerSecond / write.appendBatch.eventsPerSecond,
    publish_batch100_vs_baseline: write.publish.eventsPerSecond / write.baseline.eventsPerSecond,
    replay_vs_baseline: replay.replay.eventsPerSecond / replay.baseline.eventsPerSecond,
  };
  const figures = {
    baseline_events_per_s: Math.round(write.baseline.eventsPerSecond),
    append_batch100_events_per_s: Math.round(write.appendBatch.eventsPerSecond),
    append_concurrent256_events_per_s: Math.round(write.concurrent.eventsPerSecond),
    publish_batch100_events_per_s: Math.round(write.publish.eventsPerSecond),
    replay_baseline_events_per_s: Math.round(replay.baseline.eventsPerSecond),
    replay_events_per_s: Math.round(replay.replay.eventsPerSecond),
    replay_rss_growth_mb: round(replay.rss.growthMb, 1),
  };
  const row = (name: string, m: Measurement, measured?: { ratio: number; of: string; target: number }): string[] => [
    name,
    formatInteger(m.events),
    String(m.runs),
    m.seconds.toFixed(2),
    formatInteger(m.eventsPerSecond),
    measured ? `${measured.ratio.toFixed(2)} × ${measured.of}` : '',
    measured ? `>= ${measured.target.toFixed(2)}` : '',
    measured ? (measured.ratio >= measured.target ? 'PASS' : 'MISS') : '',
  ];
  const rssPass = replay.rss.growthMb < targets.rssGrowthMb;
  const rows = [
    row('baseline: stringify + write + fdatasync per 100', write.baseline),
    row('file log: append batches of 100', write.appendBatch, { ratio: ratios.append_batch100_vs_baseline, of: 'baseline', target: targets.appendBatch }),
    row(`file log: ${concurrency} concurrent 1-event appends`, write.concurrent, { ratio: ratios.append_concurrent256_vs_batch100, of: 'batch 100', target: targets.concurrent }),
    row('publisher: publishBatch of 100 (zod)', write.publish, { ratio: ratios.publish_batch100_vs_baseline, of: 'baseline', target: targets.publish }),
    row('replay baseline: read segments + JSON.parse', replay.baseline),
    row(`replay: log.read pages of ${replayPageSize}`, replay.replay, { ratio: ratios.replay_vs_baseline, of: 'replay baseline', target: targets.replay }),
    ['replay: RSS growth', '', '', '', '', `+${replay.rss.growthMb.toFixed(1)} MB`, `< ${targets.rssGrowthMb} MB`, rssPass ? 'PASS' : 'MISS'],
  ];
  return {
    suite: 'log',
    preface: [
      `events: ${formatInteger(writeEvents)} per write case, ${formatInteger(replayEvents)} replayed (${(replay.logBytes / 1024 / 1024).toFixed(0)} MiB of segments); ${write.eventBytes.toFixed(0)} bytes per event as JSON`,
      `runs: ${rounds} round(s), every case once per round in table order; the fastest run of each case is shown`,
    ],
    table: {
      headers: ['case', 'events', 'runs', 'seconds', 'events/s', 'measured', 'target', 'result'],
      numeric: [false, true, true, true, true, false, false, false],
      rows,
    },
    notes: [
      `replay: opening the read-only log took ${(replay.openSeconds * 1000).toFixed(0)} ms (not timed); RSS ${replay.rss.beforeMb.toFixed(0)} MB before, ${replay.rss.maxMb.toFixed(0)} MB at most${gc ? ', after a full GC' : ' (no GC access)'}`,
    ],
    ratios: Object.fromEntries(Object.entries(ratios).map(([key, value]) => [key, round(value, 3)])),
    figures,
  };
}

