import { afterEach, beforeEach, describe, expect } from 'vitest';
import { contractCase, type SkippedCases } from './skip.ts';
import { isUnilogError, type EventLog, type StoredEvent } from '../../src/index.ts';
import { envelope, envelopes } from '../support/events.ts';

/** A fresh log for one test, and how to dispose of it. */
export interface EventLogFixture {
  readonly log: EventLog;
  readonly dispose: () => Promise<void>;
}

/** The EventLog contract: every adapter runs these cases. */
export function describeEventLogContract(name: string, options: { create: () => Promise<EventLogFixture>; skip?: readonly SkippedCases[] }): void {
  const test = contractCase(options.skip);

  describe(`EventLog contract: ${name}`, () => {
    let fixture: EventLogFixture;
    let log: EventLog;
    beforeEach(async () => {
      fixture = await options.create();
      log = fixture.log;
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    const readAll = async (from?: string): Promise<StoredEvent[]> => {
      const all: StoredEvent[] = [];
      let next = from;
      for (;;) {
        const page = await log.read({ ...(next === undefined ? {} : { from: next }), limit: 7 });
        if (page.events.length === 0) return all;
        all.push(...page.events);
        next = page.next;
      }
    };

    test('an empty log has nothing to read', async () => {
      const head = await log.head();
      const page = await log.read({ from: head });
      expect(page.events).toEqual([]);
      expect(page.next).toBe(head);
      expect(await readAll()).toEqual([]);
    });

    test('appends read back exactly, in order', async () => {
      const batch = envelopes(25);
      const { positions } = await log.append(batch);
      expect(positions).toHaveLength(25);
      const read = await readAll();
      expect(read.map((e) => e.event)).toEqual(batch);
      expect(read.map((e) => e.position)).toEqual(positions);
    });

    test('an empty batch appends nothing', async () => {
      const before = await log.head();
      expect((await log.append([])).positions).toEqual([]);
      expect(await log.head()).toBe(before);
    });

    test('positions are a total order when the adapter says so', async () => {
      if (log.capabilities.ordering !== 'total') return;
      const { positions } = await log.append(envelopes(5));
      await log.append(envelopes(3, 5));
      expect(positions).toEqual(['0', '1', '2', '3', '4']);
      expect(await log.head()).toBe('8');
    });

    test('read from a position is inclusive and honours the limit', async () => {
      const { positions } = await log.append(envelopes(10));
      const page = await log.read({ from: positions[3]!, limit: 4 });
      expect(page.events.map((e) => e.event.id)).toEqual(['evt-3', 'evt-4', 'evt-5', 'evt-6']);
      const rest = await log.read({ from: page.next, limit: 100 });
      expect(rest.events.map((e) => e.event.id)).toEqual(['evt-7', 'evt-8', 'evt-9']);
      const past = await log.read({ from: rest.next });
      expect(past.events).toEqual([]);
    });

    test('a batch is all or nothing: one bad event appends none', async () => {
      await log.append(envelopes(2));
      const head = await log.head();
      const huge = envelope(99, 'k', { blob: 'y'.repeat(2 * 1024 * 1024) });
      await expect(log.append([...envelopes(3, 10), huge])).rejects.toSatisfy((e) => isUnilogError(e, 'EventTooLarge'));
      expect(await log.head()).toBe(head);
      expect((await readAll()).map((e) => e.event.id)).toEqual(['evt-0', 'evt-1']);
    });

    test('bad positions and limits are rejected with their codes', async () => {
      await expect(log.read({ from: 'nope' })).rejects.toSatisfy((e) => isUnilogError(e, 'InvalidPosition'));
      await expect(log.read({ limit: 0 })).rejects.toSatisfy((e) => isUnilogError(e, 'InvalidArgument'));
      await expect(log.read({ limit: 1.5 })).rejects.toSatisfy((e) => isUnilogError(e, 'InvalidArgument'));
    });

    test('concurrent appends keep every key in call order and lose nothing', async () => {
      const calls = Array.from({ length: 60 }, (_, i) => log.append([envelope(i, `key-${i % 4}`)]));
      await Promise.all(calls);
      const read = await readAll();
      expect(read).toHaveLength(60);
      for (let k = 0; k < 4; k++) {
        const ns = read.filter((e) => e.event.subject === `key-${k}`).map((e) => (e.event.data as { n: number }).n);
        expect(ns).toEqual([...ns].sort((a, b) => a - b));
      }
      expect(new Set(read.map((e) => e.position)).size).toBe(60);
    });

    test('stored events do not change when the caller mutates its objects', async () => {
      const event = envelope(1);
      await log.append([event]);
      (event.data as { n: number }).n = 999;
      const [stored] = await readAll();
      expect((stored?.event.data as { n: number }).n).toBe(1);
    });

    test('subscribe catches up, then goes live with no gap and no duplicate', async () => {
      await log.append(envelopes(30));
      const seen: string[] = [];
      let resolveAll: () => void = () => undefined;
      const all = new Promise<void>((resolve) => (resolveAll = resolve));
      const subscription = log.subscribe({
        batchSize: 4,
        handler: async (stored) => {
          seen.push(stored.event.id);
          if (seen.length % 5 === 0) await new Promise((r) => setTimeout(r, 1));
          if (seen.length === 80) resolveAll();
        },
      });
      // Appends race the catch-up: some land while history is still being delivered.
      for (let i = 30; i < 80; i += 10) await log.append(envelopes(10, i));
      await all;
      await subscription.stop();
      await subscription.done;
      expect(seen).toEqual(Array.from({ length: 80 }, (_, i) => `evt-${i}`));
    });

    test('subscribe from a position delivers exactly the suffix', async () => {
      const { positions } = await log.append(envelopes(12));
      const seen: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const subscription = log.subscribe({
          from: positions[9]!,
          handler: (stored) => {
            seen.push(stored.event.id);
            if (seen.length === 3) resolve();
          },
        });
        subscription.done.catch(reject);
      });
      expect(seen).toEqual(['evt-9', 'evt-10', 'evt-11']);
    });

    test('a failing handler ends the subscription with its error', async () => {
      await log.append(envelopes(3));
      const subscription = log.subscribe({
        handler: (stored) => {
          if (stored.event.id === 'evt-1') throw new Error('handler broke');
        },
      });
      await expect(subscription.done).rejects.toThrow('handler broke');
    });

    test('stop ends a waiting subscription and close ends the rest', async () => {
      const waiting = log.subscribe({ handler: () => undefined });
      await waiting.stop();
      await expect(waiting.done).resolves.toBeUndefined();
      const open = log.subscribe({ handler: () => undefined });
      await log.close();
      await expect(open.done).resolves.toBeUndefined();
    });

    // Per-key cases: what every adapter guarantees, 'per-key' logs (Kinesis) included; the cases above that compare against one order over all keys are their total-order versions.
    const idsOfKey = (events: readonly StoredEvent[], key: string) => events.filter((e) => e.event.subject === key).map((e) => e.event.id);
    const keysOf = (count: number) => [...new Set(envelopes(count).map((e) => e.subject))];

    test('appends read back once each, in order per key, at their positions', async () => {
      const batch = envelopes(25);
      const { positions } = await log.append(batch);
      const read = await readAll();
      expect(read.map((e) => e.event.id).sort(), 'every event exactly once').toEqual(batch.map((e) => e.id).sort());
      for (const key of keysOf(25)) expect(idsOfKey(read, key), `order of key ${key}`).toEqual(batch.filter((e) => e.subject === key).map((e) => e.id));
      const positionOf = new Map(read.map((e) => [e.event.id, e.position]));
      expect(batch.map((e) => positionOf.get(e.id)), 'read positions are the append positions').toEqual(positions);
    });

    test('reading from head returns exactly the events appended after it', async () => {
      await log.append(envelopes(5));
      const head = await log.head();
      const later = envelopes(9, 5);
      await log.append(later);
      const read = await readAll(head);
      expect(read.map((e) => e.event.id).sort()).toEqual(later.map((e) => e.id).sort());
      for (const key of keysOf(14)) expect(idsOfKey(read, key), `order of key ${key}`).toEqual(later.filter((e) => e.subject === key).map((e) => e.id));
    });

    test('reading from an event position starts its key at that event', async () => {
      const batch = envelopes(21);
      const { positions } = await log.append(batch);
      const from = batch[9]!;
      const read = await readAll(positions[9]);
      expect(idsOfKey(read, from.subject)).toEqual(batch.slice(9).filter((e) => e.subject === from.subject).map((e) => e.id));
    });

    test('subscribe catches up, then goes live: every event once, each key in order', async () => {
      await log.append(envelopes(30));
      const seen: StoredEvent[] = [];
      let resolveAll: () => void = () => undefined;
      const all = new Promise<void>((resolve) => (resolveAll = resolve));
      const subscription = log.subscribe({
        batchSize: 4,
        handler: (stored) => {
          seen.push(stored);
          if (seen.length === 80) resolveAll();
        },
      });
      for (let i = 30; i < 80; i += 10) await log.append(envelopes(10, i));
      await all;
      await subscription.stop();
      const expected = envelopes(80);
      expect(seen.map((e) => e.event.id).sort()).toEqual(expected.map((e) => e.id).sort());
      for (const key of keysOf(80)) expect(idsOfKey(seen, key), `order of key ${key}`).toEqual(expected.filter((e) => e.subject === key).map((e) => e.id));
    });

    test('one bad event appends none of its batch, whatever the order', async () => {
      await log.append(envelopes(2));
      const head = await log.head();
      const huge = envelope(99, 'k', { blob: 'y'.repeat(2 * 1024 * 1024) });
      await expect(log.append([...envelopes(3, 10), huge])).rejects.toSatisfy((e) => isUnilogError(e, 'EventTooLarge'));
      expect(await log.head()).toBe(head);
      expect((await readAll()).map((e) => e.event.id).sort()).toEqual(['evt-0', 'evt-1']);
    });

    test('a stopped subscription resumes from its position with no gap and no duplicate', async () => {
      await log.append(envelopes(20));
      const first: string[] = [];
      let stopping: Promise<void> | undefined;
      const subscription = log.subscribe({
        batchSize: 3,
        handler: (stored) => {
          first.push(stored.event.id);
          // Stops after this event, mid-page.
          if (first.length === 8) stopping = subscription.stop();
        },
      });
      await subscription.done;
      await stopping;
      expect(first).toHaveLength(8);
      const rest: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const resumed = log.subscribe({
          from: subscription.position,
          handler: (stored) => {
            rest.push(stored.event.id);
            if (rest.length === 12) void resumed.stop().then(resolve);
          },
        });
        resumed.done.catch(reject);
      });
      expect([...first, ...rest].sort(), 'every event once').toEqual(envelopes(20).map((e) => e.id).sort());
    });

    test('position arithmetic: a reader that processed every event has reached the head, and not before', async () => {
      const order = log.capabilities.positions;
      expect(order.reached(order.start, await log.head())).toBe(true);
      await log.append(envelopes(6));
      await log.append(envelopes(4, 6));
      const head = await log.head();
      const events = await readAll();
      let at = order.start;
      for (const [index, stored] of events.entries()) {
        expect(order.reached(at, head)).toBe(false);
        // Before an event is processed the reader has not reached the position after it; then it has.
        const past = order.after(order.start, stored.position);
        expect(order.reached(at, past)).toBe(false);
        at = order.after(at, stored.position);
        expect(order.reached(at, past)).toBe(true);
        // Processing an earlier event again does not move the reader back.
        if (index > 0) expect(order.after(at, events[0]!.position)).toBe(at);
      }
      expect(order.reached(at, head)).toBe(true);
      // Reading on from where the reader is gives nothing; the count is exact where the log can count.
      expect((await log.read({ from: at })).events).toEqual([]);
      const counted = order.count(order.start, head);
      if (log.capabilities.ordering === 'total') expect(counted).toBe(10);
      else expect(counted === undefined || counted === 10).toBe(true);
      expect(() => order.after(order.start, 'not a position')).toThrow();
    });

    test('a closed log refuses appends', async () => {
      await log.close();
      await expect(log.append(envelopes(1))).rejects.toSatisfy((e) => isUnilogError(e, 'LogClosed'));
    });
  });
}
