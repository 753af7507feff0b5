/**
 * The `aws` suite: the Kinesis event log and the DynamoDB view storage against raw AWS SDK loops, on local servers
 * (kinesalite and DynamoDB Local, started here on 127.0.0.1 in their own processes, as the tests start them).
 *
 *   PutRecord x N        one PutRecord per event, each awaited (the naive producer), on the first N/5 events
 *   raw PutRecords       an SDK loop of PutRecords, one request per batch of 500, each awaited
 *   append 500           log.append of the same batches of 500 (many keys)   target >= 10 × PutRecord, >= 0.90 × raw PutRecords
 *   append 500, 8 keys   the same events on 8 partition keys: a figure; the appender sends at most one record per key
 *                        per request (a key's order survives partial failures), so a request carries at most 8 records
 *   raw BatchWriteItem   the view rows as items of 25 per BatchWriteItem, each awaited
 *   view commit 99       ViewStore.commit of 99 rows (one 100-action transaction with the checkpoint): ratio reported
 *
 * Local servers say nothing about the real service's limits (1 MiB/s or 1,000 records/s written per shard): see
 * docs/benchmarks.md.
 */
import {
  CreateStreamCommand, DeleteStreamCommand, DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand,
  PutRecordCommand, PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { BatchWriteItemCommand, DynamoDBClient, QueryCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createDynamoViewStorage, createKinesisEventLog } from '../../src/aws/index.ts';
import type { EventEnvelope, EventLog } from '../../src/index.ts';
import type { ViewStorage } from '../../src/views/viewStore.ts';
import { parseNumberFlags, type SuiteArgs } from '../lib/args.ts';
import { chunk, generateEvents } from '../lib/events.ts';
import { localCredentials, localRegion, startDynamoDbLocal, startKinesalite, type LocalServer } from '../lib/localAws.ts';
import { measureRounds, round, secondsSince, type Measurement } from '../lib/measure.ts';
import { progress } from '../lib/progress.ts';
import type { SuiteReport } from '../lib/suite.ts';
import { formatInteger } from '../lib/table.ts';
import { viewTableName } from '../../src/aws/resources.ts';

const defaultEvents = 5000;
/** The PutRecord-per-event case sends this share of the events (it is 10-20 times slower; events/s is what is compared). */
const singleShare = 5;
const defaultRounds = 3;
/** Records per PutRecords request: the Kinesis maximum. */
const putBatch = 500;
const defaultShards = 4;
const fewKeys = 8;
/** Rows per view commit: with the checkpoint item, one full transaction of 100 actions. */
const commitRows = 99;
/** Items per BatchWriteItem: the DynamoDB maximum. */
const batchWriteItems = 25;
const warmupEvents = 500;
const tablePrefix = 'unilogbench-';
/** The view table of the bench projection: the one the view store writes (`awsResources` naming). */
const tableName = viewTableName(tablePrefix, 'bench');
const viewTable = 'orders';
const layout = { [viewTable]: { key: 'orderId', indexes: [] } };

const targets = { batchedVsSingle: 10, appendVsRaw: 0.9 } as const;

export async function run(args: SuiteArgs): Promise<SuiteReport> {
  const { rounds, shards } = parseNumberFlags('aws', args.rest, [
    { name: 'rounds', default: defaultRounds, min: 1, max: 10 },
    { name: 'shards', default: defaultShards, min: 1, max: 64 },
  ]);
  const events = args.events ?? defaultEvents;
  progress('starting kinesalite and DynamoDB Local');
  const started = await Promise.allSettled([startKinesalite(), startDynamoDbLocal()]);
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const [kinesalite, dynamo] = started.map((s) => {
      if (s.status === 'rejected') throw s.reason;
      return s.value;
    }) as [LocalServer, LocalServer];
    progress(`kinesalite up in ${kinesalite.startupMs} ms at ${kinesalite.endpoint}; DynamoDB Local up in ${dynamo.startupMs} ms at ${dynamo.endpoint}`);
    const kinesis = await kinesisCases(kinesalite.endpoint, events, shards, rounds);
    const views = await viewCases(dynamo.endpoint, events, rounds);
    return report(events, shards, rounds, kinesis, views, { kinesalite: kinesalite.startupMs, dynamo: dynamo.startupMs });
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

/** Events with distinct subjects (`ord-<i>`: distinct partition keys), or subjects taken in turn from `keys` keys. */
function benchEvents(count: number, keys?: number): EventEnvelope[] {
  return generateEvents(count).envelopes.map((event, i) => {
    const subject = `ord-${String(keys === undefined ? i : i % keys).padStart(6, '0')}`;
    return { ...event, subject, data: { ...(event.data as object), orderId: subject } };
  });
}

interface KinesisResults {
  readonly eventBytes: number;
  readonly single: Measurement;
  readonly raw: Measurement;
  readonly append: Measurement;
  readonly appendFewKeys: Measurement;
  readonly fewKeysRequests: number;
}

async function kinesisCases(endpoint: string, count: number, shards: number, rounds: number): Promise<KinesisResults> {
  const client = new KinesisClient({ endpoint, region: localRegion, credentials: localCredentials, requestHandler: new NodeHttpHandler() });
  let streams = 0;
  /** A fresh ACTIVE stream (not timed), `body` timed on it, its records checked and the stream deleted (not timed). */
  const onFreshStream = async (expected: readonly EventEnvelope[], body: (streamName: string) => Promise<void>): Promise<number> => {
    const streamName = `unilog-bench-${process.pid}-${++streams}`;
    await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shards }));
    for (let i = 0; ; i++) {
      const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
      if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
      if (i > 500) throw new Error(`stream ${streamName} did not become ACTIVE`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const start = performance.now();
    await body(streamName);
    const seconds = secondsSince(start);
    await checkStream(client, streamName, expected);
    await client.send(new DeleteStreamCommand({ StreamName: streamName }));
    return seconds;
  };

  const encoder = new TextEncoder();
  const prepare = (events: readonly EventEnvelope[]) => events.map((event) => ({ PartitionKey: event.subject, Data: encoder.encode(JSON.stringify(event)) }));

  const single = async (events: readonly EventEnvelope[]) => {
    const records = prepare(events);
    return onFreshStream(events, async (StreamName) => {
      for (const record of records) await client.send(new PutRecordCommand({ StreamName, ...record }));
    });
  };
  const raw = async (events: readonly EventEnvelope[]) => {
    const batches = chunk(prepare(events), putBatch);
    return onFreshStream(events, async (StreamName) => {
      for (const Records of batches) {
        const out = await client.send(new PutRecordsCommand({ StreamName, Records }));
        if ((out.FailedRecordCount ?? 0) > 0) throw new Error(`raw PutRecords: ${out.FailedRecordCount} records failed`);
      }
    });
  };
  let requests = 0;
  const countingClient = (): KinesisClient => {
    const counted = new KinesisClient({ endpoint, region: localRegion, credentials: localCredentials, requestHandler: new NodeHttpHandler() });
    counted.middlewareStack.add((next) => (input) => {
      requests++;
      return next(input);
    }, { step: 'initialize', name: 'benchCountRequests' });
    return counted;
  };
  const appendClient = countingClient();
  const append = async (events: readonly EventEnvelope[]) => {
    const batches = chunk(events, putBatch);
    let log: EventLog | undefined;
    let positions = 0;
    try {
      return await onFreshStream(events, async (streamName) => {
        log = createKinesisEventLog({ streamName, client: appendClient });
        for (const batch of batches) positions += (await log.append(batch)).positions.length;
        if (positions !== events.length) throw new Error(`append: ${positions} positions for ${events.length} events`);
      });
    } finally {
      await log?.close();
    }
  };

  progress(`generating ${formatInteger(count)} events (distinct keys, and ${fewKeys} keys)`);
  const many = benchEvents(count);
  const few = benchEvents(count, fewKeys);
  const eventBytes = many.reduce((sum, event) => sum + Buffer.byteLength(JSON.stringify(event)), 0) / count;

  progress('warming up');
  const warm = Math.min(warmupEvents, count);
  await single(many.slice(0, warm));
  await raw(many.slice(0, warm));
  await append(many.slice(0, warm));
  await append(few.slice(0, warm));

  let fewKeysRequests = 0;
  const singleEvents = many.slice(0, Math.max(Math.min(count, 1000), Math.round(count / singleShare)));
  const [singleM, rawM, appendM, fewM] = (await measureRounds(
    [
      { name: 'PutRecord per event', events: singleEvents.length, once: () => single(singleEvents) },
      { name: `raw PutRecords of ${putBatch}`, events: count, once: () => raw(many) },
      { name: `append batches of ${putBatch}`, events: count, once: () => append(many) },
      {
        name: `append batches of ${putBatch}, ${fewKeys} keys`,
        events: count,
        once: async () => {
          const before = requests;
          const seconds = await append(few);
          // PutRecords requests only: the stream's setup and check go through another client.
          fewKeysRequests = requests - before;
          return seconds;
        },
      },
    ],
    rounds,
  )) as [Measurement, Measurement, Measurement, Measurement];
  client.destroy();
  appendClient.destroy();
  return { eventBytes, single: singleM, raw: rawM, append: appendM, appendFewKeys: fewM, fewKeysRequests };
}

/** Reads every shard of the stream from the start and checks it holds exactly `expected`, each key's events in order. */
async function checkStream(client: KinesisClient, streamName: string, expected: readonly EventEnvelope[]): Promise<void> {
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const byKey = new Map<string, string[]>();
  let total = 0;
  const decoder = new TextDecoder();
  for (const shard of Shards) {
    let iterator = (await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (iterator !== undefined) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      const records = page.Records ?? [];
      for (const record of records) {
        const event = JSON.parse(decoder.decode(record.Data)) as EventEnvelope;
        const ids = byKey.get(record.PartitionKey ?? '') ?? [];
        ids.push(event.id);
        byKey.set(record.PartitionKey ?? '', ids);
        total++;
      }
      if (records.length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  const want = new Map<string, string[]>();
  for (const event of expected) want.set(event.subject, [...(want.get(event.subject) ?? []), event.id]);
  const same = total === expected.length && want.size === byKey.size && [...want].every(([key, ids]) => byKey.get(key)?.join() === ids.join());
  if (!same) throw new Error(`stream ${streamName}: holds ${total} records, expected ${expected.length} with each key's events in order`);
}

interface ViewResults {
  readonly raw: Measurement;
  readonly commit: Measurement;
}

async function viewCases(endpoint: string, count: number, rounds: number): Promise<ViewResults> {
  const client = new DynamoDBClient({ endpoint, region: localRegion, credentials: localCredentials });
  const storage: ViewStorage = createDynamoViewStorage({ client, tablePrefix });
  const rows = benchEvents(count).map((event) => event.data as Record<string, unknown> & { orderId: string });
  let copies = 0;

  const countRows = async (pk: string): Promise<number> => {
    let total = 0;
    let start: QueryCommand['input']['ExclusiveStartKey'];
    do {
      const out = await client.send(new QueryCommand({
        TableName: tableName, Select: 'COUNT', ConsistentRead: true, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': { S: pk }, ':prefix': { S: `r#${viewTable}#` } }, ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }));
      total += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return total;
  };
  const check = async (pk: string, expected: number) => {
    const stored = await countRows(pk);
    if (stored !== expected) throw new Error(`DynamoDB partition ${pk}: ${stored} rows, expected ${expected}`);
  };

  /** The items the view store writes for a row (no indexes): pk, sk, the row's JSON and the batch (position). */
  const raw = async (items: readonly (Record<string, unknown> & { orderId: string })[]) => {
    const pk = `raw/${++copies}`;
    const batches = chunk(items.map((row, i): WriteRequest => ({
      PutRequest: { Item: { pk: { S: pk }, sk: { S: `r#${viewTable}#${row.orderId}` }, j: { S: JSON.stringify(row) }, b: { S: String(Math.floor(i / commitRows) + 1) } } },
    })), batchWriteItems);
    const start = performance.now();
    for (const batch of batches) {
      let requests: WriteRequest[] | undefined = batch;
      for (let attempt = 0; requests !== undefined && requests.length > 0; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** attempt)));
        requests = (await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }))).UnprocessedItems?.[tableName];
      }
    }
    const seconds = secondsSince(start);
    await check(pk, items.length);
    return seconds;
  };
  const commit = async (items: readonly (Record<string, unknown> & { orderId: string })[]) => {
    const copy = `c${++copies}`;
    const store = await storage.open('bench', copy, layout);
    const batches = chunk(items.map((row) => ({ table: viewTable, key: row.orderId, row })), commitRows);
    try {
      await store.checkpoint();
      const start = performance.now();
      for (const [i, batch] of batches.entries()) await store.commit({ rows: batch }, { position: String(i + 1), version: i + 1 });
      const seconds = secondsSince(start);
      await check(`bench/${copy}`, items.length);
      return seconds;
    } finally {
      await store.close();
    }
  };

  progress('DynamoDB: creating the table, warming up');
  const warm = rows.slice(0, Math.min(warmupEvents, count));
  await commit(warm);
  await raw(warm);
  const [rawM, commitM] = (await measureRounds(
    [
      { name: `raw BatchWriteItem of ${batchWriteItems}`, events: count, once: () => raw(rows) },
      { name: `view commit of ${commitRows} rows`, events: count, once: () => commit(rows) },
    ],
    rounds,
  )) as [Measurement, Measurement];
  client.destroy();
  return { raw: rawM, commit: commitM };
}

function report(events: number, shards: number, rounds: number, kinesis: KinesisResults, views: ViewResults, startupMs: { kinesalite: number; dynamo: number }): SuiteReport {
  const ratios = {
    batched_vs_single_putrecord: kinesis.append.eventsPerSecond / kinesis.single.eventsPerSecond,
    append_vs_raw_putrecords: kinesis.append.eventsPerSecond / kinesis.raw.eventsPerSecond,
    append_few_keys_vs_raw_putrecords: kinesis.appendFewKeys.eventsPerSecond / kinesis.raw.eventsPerSecond,
    view_commit_vs_raw_batchwriteitem: views.commit.eventsPerSecond / views.raw.eventsPerSecond,
  };
  const figures = {
    putrecord_single_events_per_s: Math.round(kinesis.single.eventsPerSecond),
    raw_putrecords_events_per_s: Math.round(kinesis.raw.eventsPerSecond),
    append_events_per_s: Math.round(kinesis.append.eventsPerSecond),
    append_few_keys_events_per_s: Math.round(kinesis.appendFewKeys.eventsPerSecond),
    append_few_keys_putrecords_requests: kinesis.fewKeysRequests,
    raw_batchwriteitem_rows_per_s: Math.round(views.raw.eventsPerSecond),
    view_commit_rows_per_s: Math.round(views.commit.eventsPerSecond),
    event_bytes: Math.round(kinesis.eventBytes),
  };
  const row = (name: string, m: Measurement, measured?: { ratio: number; of: string; target?: number }): string[] => [
    name,
    formatInteger(m.events),
    String(m.runs),
    m.seconds.toFixed(2),
    formatInteger(m.eventsPerSecond),
    measured ? `${measured.ratio.toFixed(2)} × ${measured.of}` : '',
    measured?.target === undefined ? '' : `>= ${measured.target.toFixed(2)}`,
    measured?.target === undefined ? '' : measured.ratio >= measured.target ? 'PASS' : 'MISS',
  ];
  const rows = [
    row('kinesis: PutRecord per event', kinesis.single),
    row(`kinesis: raw PutRecords of ${putBatch}`, kinesis.raw),
    row(`kinesis: append of ${putBatch} (distinct keys)`, kinesis.append, { ratio: ratios.batched_vs_single_putrecord, of: 'PutRecord', target: targets.batchedVsSingle }),
    row('', kinesis.append, { ratio: ratios.append_vs_raw_putrecords, of: 'raw PutRecords', target: targets.appendVsRaw }),
    row(`kinesis: append of ${putBatch}, ${fewKeys} keys`, kinesis.appendFewKeys, { ratio: ratios.append_few_keys_vs_raw_putrecords, of: 'raw PutRecords' }),
    row(`dynamodb: raw BatchWriteItem of ${batchWriteItems}`, views.raw),
    row(`dynamodb: view commit of ${commitRows} rows`, views.commit, { ratio: ratios.view_commit_vs_raw_batchwriteitem, of: 'raw BatchWriteItem' }),
  ];
  // The second line of the append case repeats its measurement for its second ratio.
  const shown = rows.map((r, i) => (i === 3 ? ['', '', '', '', '', ...r.slice(5)] : r));
  return {
    suite: 'aws',
    preface: [
      `events: ${formatInteger(events)} per case, ${formatInteger(kinesis.single.events)} for PutRecord per event (${Math.round(kinesis.eventBytes)} bytes per event as JSON); kinesalite stream of ${shards} shard(s), a fresh one per run; DynamoDB Local, one table, a fresh partition per run`,
      `servers: kinesalite (in-memory, own process) up in ${startupMs.kinesalite} ms, DynamoDB Local (JVM) up in ${startupMs.dynamo} ms, both on 127.0.0.1; every request awaited before the next`,
      `runs: ${rounds} round(s), every case once per round in table order; the fastest run of each case is shown; records and rows are checked after each run (not timed)`,
    ],
    table: {
      headers: ['case', 'events', 'runs', 'seconds', 'events/s', 'measured', 'target', 'result'],
      numeric: [false, true, true, true, true, false, false, false],
      rows: shown,
    },
    notes: [
      `${fewKeys} keys: the appender sends at most one record per partition key per PutRecords request (so that a key's order survives a partial failure), so ${formatInteger(events)} events on ${fewKeys} keys took ${formatInteger(kinesis.fewKeysRequests)} requests instead of ${Math.ceil(events / putBatch)}; raw PutRecords of 500 on the same keys would not keep each key's order when a record fails.`,
      `view commit: each commit is one TransactWriteItems of ${commitRows} rows plus the checkpoint (conditioned on the previous one); BatchWriteItem writes the same items 25 at a time with no condition and no atomicity.`,
      'local servers only: the real Kinesis service accepts 1 MiB/s or 1,000 records/s per shard (whichever comes first) — see docs/benchmarks.md.',
    ],
    ratios: Object.fromEntries(Object.entries(ratios).map(([key, value]) => [key, round(value, 3)])),
    figures,
  };
}
