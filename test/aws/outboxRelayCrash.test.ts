import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoEventStore, createOutboxRelay } from '../../src/aws/index.ts';
import { openFileEventLog, type StoredEvent } from '../../src/index.ts';
import { storeEvents } from '../contract/eventStore.contract.ts';
import { tempDir } from '../support/tempDir.ts';
import { awsEndpoints } from './endpoints.ts';
import { createTestStoreTables, dynamoLocalClient } from './outboxTables.ts';

const kills = 12;
const fixture = new URL('../fixtures/outboxRelayChild.ts', import.meta.url).pathname;
const client = dynamoLocalClient();
afterAll(() => { client.destroy(); });

const inc = (counterId: string) => ({ type: 'counter.incremented' as const, data: { counterId, by: 1 } });

/** Starts the relay child, SIGKILLs it `ms` after it is ready, and waits for it to exit. */
async function runAndKill(outboxTableName: string, dir: string, ms: number): Promise<void> {
  const aws = awsEndpoints();
  if (!('endpoint' in aws.dynamodb)) throw new Error(aws.dynamodb.unavailable);
  const env = { ...process.env, AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey };
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, aws.dynamodb.endpoint, aws.region, outboxTableName, dir], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => { resolve(); }));
  let ready = false;
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'ready') {
      ready = true;
      setTimeout(() => child.kill('SIGKILL'), ms);
    }
  }
  await exited;
  if (!ready) throw new Error(`the relay child never started: ${stderr}`);
}

describe('crash: SIGKILL an outbox relay at random moments', () => {
  it(`publishes every stored event at least once, in stream order, across ${kills} kills`, async () => {
    const tables = await createTestStoreTables(client);
    const { dir, remove } = await tempDir('unilog-outbox-crash-');
    const store = createDynamoEventStore({ client, tableName: tables.tableName, outboxTableName: tables.outboxTableName, catalog: storeEvents, source: 'crash-test', outboxBuckets: 2 });
    const streams = Array.from({ length: 4 }, (_, s) => `counter-${s}`);
    const appendSome = (n: number) => Promise.all(streams.map(async (streamId) => { for (let i = 0; i < n; i++) await store.appendToStream(streamId, [inc(streamId), inc(streamId)]); }));
    await appendSome(10);
    for (let run = 0; run < kills; run++) {
      await runAndKill(tables.outboxTableName, dir, 50 + Math.floor(Math.random() * 400));
      // New events keep arriving while relays die.
      await appendSome(2);
    }
    // A last relay, in-process, drains what is left.
    const log = await openFileEventLog({ dir });
    expect(Number(await log.head()), 'the killed relays published events before dying').toBeGreaterThan(0);
    const relay = createOutboxRelay({ client, outboxTableName: tables.outboxTableName, log, buckets: 2 });
    while ((await relay.pump()) > 0);
    const stored: StoredEvent[] = [];
    for (let from = '0'; ; ) {
      const page = await log.read({ from, limit: 5000 });
      if (page.events.length === 0) break;
      stored.push(...page.events);
      from = page.next;
    }
    const expected = new Map(await Promise.all(streams.map(async (s) => [s, (await store.readStream(s)).version] as const)));
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    expect(total, 'the store holds what was appended').toBe(streams.length * 2 * (10 + 2 * kills));
    const seen = new Set<string>();
    const firsts = stored.filter((e) => !seen.has(e.event.id) && seen.add(e.event.id));
    console.log(`[outbox crash] ${stored.length} published for ${total} stored: ${stored.length - firsts.length} duplicates`);
    expect(firsts.length, 'dropping duplicates by id gives every stored event exactly once').toBe(total);
    for (const [streamId, version] of expected) {
      const versions = firsts.filter((e) => e.event.streamid === streamId).map((e) => e.event.streamversion);
      expect(versions, `${streamId}: every version, first published in order`).toEqual(Array.from({ length: version }, (_, i) => i + 1));
    }
    await Promise.all([relay.close(), store.close(), log.close()]);
    await tables.remove();
    await remove();
  }, 240_000);
});
