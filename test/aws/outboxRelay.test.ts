import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoEventStore, createKinesisEventLog, createOutboxRelay } from '../../src/aws/index.ts';
import { createTestStream, kinesaliteClient } from './kinesisStreams.ts';
import { inStreamOrder } from '../../src/aws/dynamodb/outboxRelay.ts';
import { createMemoryEventLog, type EventLog, type StoredEvent } from '../../src/index.ts';
import { storeEvents } from '../contract/eventStore.contract.ts';
import { createTestStoreTables, dynamoLocalClient } from './outboxTables.ts';

const client = dynamoLocalClient();
afterAll(() => { client.destroy(); });

const inc = (counterId: string, by = 1) => ({ type: 'counter.incremented' as const, data: { counterId, by } });

/** Per stream, the versions in log order. */
function versionsByStream(events: readonly StoredEvent[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const { event } of events) out.set(event.streamid ?? '', [...(out.get(event.streamid ?? '') ?? []), event.streamversion ?? 0]);
  return out;
}

async function setup() {
  const tables = await createTestStoreTables(client);
  const store = createDynamoEventStore({ client, tableName: tables.tableName, outboxTableName: tables.outboxTableName, catalog: storeEvents, source: 'relay-test', outboxBuckets: 3 });
  // Concurrent writers on 5 streams: 8 appends of 1–3 events each.
  await Promise.all(
    Array.from({ length: 5 }, async (_, s) => {
      for (let i = 0; i < 8; i++) await store.appendToStream(`counter-${s}`, Array.from({ length: 1 + (i % 3) }, () => inc(String(s))));
    }),
  );
  const expected = await Promise.all(Array.from({ length: 5 }, async (_, s) => [`counter-${s}`, (await store.readStream(`counter-${s}`)).version] as const));
  return { tables, store, expected };
}

describe('outbox relay (DynamoDB Local)', () => {
  it('publishes every appended event to the log once, in stream order, and empties the outbox', async () => {
    const { tables, store, expected } = await setup();
    const log = createMemoryEventLog();
    const relay = createOutboxRelay({ client, outboxTableName: tables.outboxTableName, log, buckets: 3, batchSize: 7 });
    const published = await relay.pump();
    const { events } = await log.read({ limit: 10_000 });
    expect(published, 'the relay published what the store holds').toBe(expected.reduce((n, [, v]) => n + v, 0));
    expect(events).toHaveLength(published);
    const byStream = versionsByStream(events);
    for (const [streamId, version] of expected) expect(byStream.get(streamId), `${streamId} in order`).toEqual(Array.from({ length: version }, (_, i) => i + 1));
    expect(await relay.pump(), 'sent entries are deleted').toBe(0);
    await Promise.all([relay.close(), store.close(), log.close()]);
    await tables.remove();
  });

  it('pump() after each of many concurrent appends: each append is in the log when its pump resolves, and nothing twice', async () => {
    const tables = await createTestStoreTables(client);
    const store = createDynamoEventStore({ client, tableName: tables.tableName, outboxTableName: tables.outboxTableName, catalog: storeEvents, source: 'relay-test' });
    const log = createMemoryEventLog();
    const relay = createOutboxRelay({ client, outboxTableName: tables.outboxTableName, log });
    relay.start();
    const ids = new Set<string>();
    await Promise.all(
      Array.from({ length: 4 }, async (_, s) => {
        for (let i = 0; i < 6; i++) {
          await store.appendToStream(`counter-${s}`, [inc(String(s))]);
          await relay.pump();
          // Read-your-writes: this stream's latest version is already in the log.
          const { events } = await log.read({ limit: 10_000 });
          expect(events.some((e) => e.event.streamid === `counter-${s}` && e.event.streamversion === i + 1), `counter-${s} v${i + 1}`).toBe(true);
        }
      }),
    );
    await relay.close();
    const { events } = await log.read({ limit: 10_000 });
    for (const { event } of events) ids.add(event.id);
    expect(events).toHaveLength(24);
    expect(ids.size, 'no event published twice').toBe(24);
    for (const [streamId, versions] of versionsByStream(events)) expect(versions, streamId).toEqual([1, 2, 3, 4, 5, 6]);
    await Promise.all([store.close(), log.close()]);
    await tables.remove();
  });

  it('publishes to the Kinesis log (kinesalite): every event once, each stream in order', async () => {
    const { tables, store, expected } = await setup();
    const kinesis = kinesaliteClient();
    const stream = await createTestStream(kinesis, 2);
    const log = createKinesisEventLog({ client: kinesis, streamName: stream.streamName });
    const relay = createOutboxRelay({ client, outboxTableName: tables.outboxTableName, log, buckets: 3, batchSize: 7 });
    try {
      const published = await relay.pump();
      const events: StoredEvent[] = [];
      for (let from: string | undefined; ; ) {
        const page = await log.read({ ...(from === undefined ? {} : { from }), limit: 1000 });
        if (page.events.length === 0) break;
        events.push(...page.events);
        from = page.next;
      }
      expect(events).toHaveLength(published);
      expect(new Set(events.map((e) => e.event.id)).size).toBe(published);
      // Kinesis orders per key (the stream id is the key): each stream's versions arrive 1, 2, 3…
      const byStream = versionsByStream(events);
      for (const [streamId, version] of expected) expect(byStream.get(streamId), `${streamId} in order`).toEqual(Array.from({ length: version }, (_, i) => i + 1));
    } finally {
      await Promise.all([relay.close(), store.close(), log.close()]);
      await stream.remove();
      kinesis.destroy();
      await tables.remove();
    }
  });

  it('a relay stopped between publishing and marking publishes again: duplicates, never a loss, in stream order', async () => {
    const { tables, store, expected } = await setup();
    const memory = createMemoryEventLog();
    let appends = 0;
    // Every other append is durable but the relay "crashes" before deleting its entries.
    const crashing: EventLog = {
      ...memory,
      capabilities: memory.capabilities,
      append: async (events) => {
        const result = await memory.append(events);
        if (++appends % 2 === 1) throw new Error('crash after publishing');
        return result;
      },
    };
    let runs = 0;
    for (;;) {
      runs++;
      const relay = createOutboxRelay({ client, outboxTableName: tables.outboxTableName, log: crashing, buckets: 3, batchSize: 5 });
      try {
        if ((await relay.pump()) === 0) break;
      } catch (error) {
        expect((error as Error).message).toBe('crash after publishing');
      }
      expect(runs, 'the relay finishes').toBeLessThan(200);
    }
    const { events } = await memory.read({ limit: 10_000 });
    const total = expected.reduce((n, [, v]) => n + v, 0);
    expect(events.length, 'some events were published twice').toBeGreaterThan(total);
    const unique = new Map(events.map((e) => [e.event.id, e.event]));
    expect(unique.size, 'dropping duplicates by id gives every event exactly once').toBe(total);
    // The first sighting of each event id: per stream, versions 1..n in order.
    const seen = new Set<string>();
    const firsts = events.filter((e) => !seen.has(e.event.id) && seen.add(e.event.id));
    const byStream = versionsByStream(firsts);
    for (const [streamId, version] of expected) expect(byStream.get(streamId), `${streamId} in order`).toEqual(Array.from({ length: version }, (_, i) => i + 1));
    await Promise.all([store.close(), memory.close()]);
    await tables.remove();
  });

  it('an append over the 100-item transaction limit is refused and writes nothing', async () => {
    const tables = await createTestStoreTables(client);
    const store = createDynamoEventStore({ client, tableName: tables.tableName, outboxTableName: tables.outboxTableName, catalog: storeEvents, source: 'relay-test' });
    await expect(store.appendToStream('counter-big', Array.from({ length: 50 }, () => inc('big')))).rejects.toMatchObject({ code: 'InvalidArgument', details: { argument: 'events' } });
    expect((await store.appendToStream('counter-big', Array.from({ length: 49 }, () => inc('big')))).nextExpectedVersion).toBe(49);
    await store.close();
    await tables.remove();
  });
});

describe('inStreamOrder', () => {
  it('keeps each stream in version order even when writer clocks disagree', () => {
    const item = (id: string, streamId: string, version: number) => ({ bucket: '0', id, streamId, version, event: '{}' });
    const ordered = inStreamOrder([item('03', 'a', 1), item('01', 'a', 2), item('02', 'b', 1)]);
    expect(ordered.map((i) => `${i.streamId}#${i.version}`)).toEqual(['a#1', 'b#1', 'a#2']);
  });
});
