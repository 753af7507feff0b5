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

    test('a closed log refuses appends', async () => {
      await log.close();
      await expect(log.append(envelopes(1))).rejects.toSatisfy((e) => isUnilogError(e, 'LogClosed'));
    });
  });
}
