import { afterEach, beforeEach, describe, expect } from 'vitest';
import { isUnilogError } from '../../src/errors.ts';
import type { TimerEvent, TimerRecord, TimerStore } from '../../src/consumers/timers/timerStore.ts';
import { contractCase, type SkippedCases } from './skip.ts';

/** A fresh, empty timer store for one test, and how to dispose of it. */
export interface TimerStoreFixture {
  readonly store: TimerStore;
  /** A new store over the same timers, as after a restart; adapters that keep nothing leave it out and skip the case. */
  readonly reopen?: () => Promise<TimerStore>;
  readonly dispose: () => Promise<void>;
}

const t0 = Date.parse('2025-01-01T00:00:00.000Z');
const event = (n: number): TimerEvent => ({ type: 'thing.due', data: { thingId: 't1', n } });
const timer = (id: string, dueAt: number, n = 0): TimerRecord => ({ id, dueAt, event: event(n) });
const ids = (timers: readonly TimerRecord[]) => timers.map((t) => t.id);
/** The call's rejection: the memory store throws synchronously where the others reject, and the contract takes both. */
const attempt = (call: () => Promise<unknown>): Promise<unknown> => Promise.resolve().then(call);
const invalid = (argument: string) => (e: unknown) => isUnilogError(e, 'InvalidArgument') && e.details.argument === argument;

/** The TimerStore contract: every adapter runs these cases. */
export function describeTimerStoreContract(name: string, options: { create: () => Promise<TimerStoreFixture>; skip?: readonly SkippedCases[] }): void {
  const test = contractCase(options.skip);

  describe(`TimerStore contract: ${name}`, () => {
    let fixture: TimerStoreFixture;
    let store: TimerStore;
    beforeEach(async () => {
      fixture = await options.create();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    test('add stores a pending timer; get returns it, its state and its event as given', async () => {
      const full: TimerEvent = { type: 'photo.deadline-passed', data: { nested: [1, 'é✓', null, { ok: true }], n: 1.5 }, key: 'p-1', correlationId: 'c-1', causationId: 'e-1' };
      expect(await store.add({ id: 'deadline:p-1:1', dueAt: t0 + 600_000, event: full })).toBe(true);
      expect(await store.add(timer('plain', t0))).toBe(true);
      expect(await store.get('deadline:p-1:1')).toEqual({ timer: { id: 'deadline:p-1:1', dueAt: t0 + 600_000, event: full }, state: 'pending' });
      const plain = await store.get('plain');
      expect(plain, 'a timer without the optional fields').toEqual({ timer: timer('plain', t0), state: 'pending' });
      expect(Object.keys(plain?.timer.event ?? {}).sort(), 'no optional field appears').toEqual(['data', 'type']);
      expect(await store.get('unknown')).toBeUndefined();
    });

    test('add of a known id returns false and keeps the first timer, whether pending, fired or cancelled', async () => {
      expect(await store.add(timer('p', t0 + 10, 1))).toBe(true);
      expect(await store.add(timer('p', t0 + 5, 99)), 'pending').toBe(false);
      expect(await store.get('p')).toEqual({ timer: timer('p', t0 + 10, 1), state: 'pending' });
      expect(ids(await store.due(t0 + 9, 10)), 'the refused timer left nothing due earlier').toEqual([]);
      expect(await store.nextDueAt()).toBe(t0 + 10);

      await store.add(timer('f', t0, 2));
      await store.markFired('f');
      expect(await store.add(timer('f', t0 + 1, 3)), 'fired').toBe(false);
      expect(await store.get('f')).toEqual({ timer: timer('f', t0, 2), state: 'fired' });

      await store.add(timer('c', t0, 4));
      expect(await store.cancel('c')).toBe(true);
      expect(await store.add(timer('c', t0 + 1, 5)), 'cancelled').toBe(false);
      expect(await store.get('c')).toEqual({ timer: timer('c', t0, 4), state: 'cancelled' });
      expect(ids(await store.due(t0 + 1000, 10)), 'only the first pending timer is due').toEqual(['p']);
    });

    test('cancel cancels a pending timer once; unknown, fired and cancelled ids are not cancelled', async () => {
      await store.add(timer('p', t0));
      expect(await store.cancel('p')).toBe(true);
      expect((await store.get('p'))?.state).toBe('cancelled');
      expect(await store.cancel('p'), 'cancelled twice').toBe(false);
      expect(await store.cancel('unknown'), 'unknown').toBe(false);
      expect(await store.get('unknown'), 'cancelling an unknown id stores nothing').toBeUndefined();
      await store.add(timer('f', t0));
      await store.markFired('f');
      expect(await store.cancel('f'), 'fired').toBe(false);
      expect((await store.get('f'))?.state, 'a fired timer stays fired').toBe('fired');
      expect(await store.due(t0 + 1000, 10)).toEqual([]);
      expect(await store.nextDueAt()).toBeUndefined();
    });

    test('due returns the pending timers due by now, earliest first, ties by id, at most limit', async () => {
      // `ms9` before `ms10`: due times compare as numbers, not as text; negative and zero times sort first.
      const timers = [
        timer('late', t0 + 1001), timer('b', t0 + 20), timer('now', t0 + 1000), timer('a#b', t0 + 20), timer('z', t0 + 5), timer('a', t0 + 20),
        timer('ms10', 10), timer('ms9', 9), timer('zero', 0), timer('neg', -5), timer('A', t0 + 20),
      ];
      for (const [i, t] of timers.entries()) expect(await store.add({ ...t, event: event(i) }), t.id).toBe(true);
      const order = ['neg', 'zero', 'ms9', 'ms10', 'z', 'A', 'a', 'a#b', 'b', 'now'];
      const due = await store.due(t0 + 1000, 100);
      expect(ids(due), 'due at or before now, by time then id').toEqual(order);
      expect(due[0], 'whole records').toEqual({ ...timer('neg', -5), event: event(9) });
      expect(ids(await store.due(t0 + 999, 100)), 'one millisecond earlier').toEqual(order.slice(0, -1));
      expect(ids(await store.due(t0 + 1000, 6)), 'the limit keeps the earliest').toEqual(order.slice(0, 6));
      expect(ids(await store.due(t0 + 1000, 1))).toEqual(['neg']);
      expect(await store.due(t0 + 1000, 0), 'limit 0').toEqual([]);
      expect(await store.due(-6, 100), 'nothing due yet').toEqual([]);
      expect(ids(await store.due(Number.MAX_SAFE_INTEGER, 100)), 'everything pending').toEqual([...order, 'late']);

      await store.cancel('A');
      await store.markFired('neg');
      await store.markFired('a');
      expect(ids(await store.due(t0 + 1000, 100)), 'fired and cancelled timers are not due').toEqual(['zero', 'ms9', 'ms10', 'z', 'a#b', 'b', 'now']);
    });

    test('nextDueAt is the earliest pending due time, undefined when none is pending', async () => {
      expect(await store.nextDueAt(), 'empty store').toBeUndefined();
      await store.add(timer('b', t0 + 20));
      await store.add(timer('a', t0 + 10));
      expect(await store.nextDueAt()).toBe(t0 + 10);
      await store.cancel('a');
      expect(await store.nextDueAt(), 'after a cancel').toBe(t0 + 20);
      await store.add(timer('neg', -3));
      expect(await store.nextDueAt()).toBe(-3);
      await store.markFired('neg');
      expect(await store.nextDueAt(), 'after a firing').toBe(t0 + 20);
      await store.markFired('b');
      expect(await store.nextDueAt(), 'none pending').toBeUndefined();
    });

    test('markFired marks a pending timer fired and changes nothing else', async () => {
      await store.add(timer('x', t0));
      await store.add(timer('y', t0 + 1));
      await expect(store.markFired('x')).resolves.toBeUndefined();
      expect(await store.get('x')).toEqual({ timer: timer('x', t0), state: 'fired' });
      await store.markFired('x');
      expect((await store.get('x'))?.state, 'fired twice').toBe('fired');
      await store.add(timer('c', t0));
      await store.cancel('c');
      await store.markFired('c');
      expect((await store.get('c'))?.state, 'a cancelled timer stays cancelled').toBe('cancelled');
      await store.markFired('unknown');
      expect(await store.get('unknown'), 'firing an unknown id stores nothing').toBeUndefined();
      expect(ids(await store.due(t0 + 1000, 10)), 'the other timer is still due').toEqual(['y']);
    });

    test('concurrent calls on one id: one add stores it, one of cancel and markFired settles it', async () => {
      const adds = await Promise.all([1, 2, 3, 4, 5].map((n) => store.add(timer('race', t0 + n, n))));
      expect(adds.filter(Boolean), 'exactly one add stored it').toHaveLength(1);
      const winner = adds.indexOf(true) + 1;
      expect(await store.get('race')).toEqual({ timer: timer('race', t0 + winner, winner), state: 'pending' });
      const [cancelled] = await Promise.all([store.cancel('race'), store.markFired('race')]);
      expect((await store.get('race'))?.state, 'cancel reports what happened').toBe(cancelled ? 'cancelled' : 'fired');
      expect(await store.due(t0 + 1000, 10)).toEqual([]);
      expect(await store.nextDueAt()).toBeUndefined();
    });

    test('due returns large timers whole and in order', async () => {
      // Six events of 300 KB: more than a DynamoDB query returns at once (1 MB), so a store must read on.
      const big = (i: number): TimerRecord => ({ id: `big${i}`, dueAt: t0 + i, event: { type: 'thing.due', data: { i, text: String(i).repeat(300_000) } } });
      for (const i of [5, 3, 0, 4, 1, 2]) await store.add(big(i));
      const due = await store.due(t0 + 10, 100);
      expect(ids(due)).toEqual(['big0', 'big1', 'big2', 'big3', 'big4', 'big5']);
      expect(due.every((t, i) => JSON.stringify(t.event) === JSON.stringify(big(i).event)), 'every event whole').toBe(true);
      expect(ids(await store.due(t0 + 10, 5)), 'the limit across reads').toEqual(['big0', 'big1', 'big2', 'big3', 'big4']);
    });

    test('bad timer ids and due times are refused with InvalidArgument, and nothing is stored', async () => {
      for (const id of ['', 'x'.repeat(513), 7, undefined]) {
        await expect(attempt(() => store.add({ id: id as string, dueAt: t0, event: event(1) })), `id ${JSON.stringify(id)}`).rejects.toSatisfy(invalid('id'));
      }
      for (const dueAt of [1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, '5']) {
        await expect(attempt(() => store.add({ id: 'bad-time', dueAt: dueAt as number, event: event(1) })), `dueAt ${String(dueAt)}`).rejects.toSatisfy(invalid('dueAt'));
      }
      expect(await store.get('bad-time')).toBeUndefined();
      expect(await store.nextDueAt(), 'nothing pending').toBeUndefined();
      expect(await store.due(Number.MAX_SAFE_INTEGER, 100)).toEqual([]);
      expect(await store.add(timer('x'.repeat(512), Number.MAX_SAFE_INTEGER)), 'the longest id and the latest time are fine').toBe(true);
      expect(await store.add(timer('earliest', Number.MIN_SAFE_INTEGER))).toBe(true);
      expect(ids(await store.due(Number.MAX_SAFE_INTEGER, 100))).toEqual(['earliest', 'x'.repeat(512)]);
    });

    test('a closed store refuses every call with LogClosed', async () => {
      await store.add(timer('p', t0));
      await store.close();
      const closed = (e: unknown) => isUnilogError(e, 'LogClosed');
      await expect(attempt(() => store.add(timer('q', t0))), 'add').rejects.toSatisfy(closed);
      await expect(attempt(() => store.cancel('p')), 'cancel').rejects.toSatisfy(closed);
      await expect(attempt(() => store.due(t0, 10)), 'due').rejects.toSatisfy(closed);
      await expect(attempt(() => store.nextDueAt()), 'nextDueAt').rejects.toSatisfy(closed);
      await expect(attempt(() => store.markFired('p')), 'markFired').rejects.toSatisfy(closed);
      await expect(attempt(() => store.get('p')), 'get').rejects.toSatisfy(closed);
      await expect(store.close(), 'closing twice').resolves.toBeUndefined();
    });

    test('a reopened store sees the timers and their states', async () => {
      if (!fixture.reopen) throw new Error('this adapter declares reopen support but its fixture has no reopen');
      await store.add(timer('pending', t0 + 30, 1));
      await store.add(timer('fired', t0, 2));
      await store.add(timer('cancelled', t0 + 10, 3));
      await store.markFired('fired');
      await store.cancel('cancelled');
      await store.close();
      const reopened = await fixture.reopen();
      try {
        expect(await reopened.get('pending')).toEqual({ timer: timer('pending', t0 + 30, 1), state: 'pending' });
        expect((await reopened.get('fired'))?.state).toBe('fired');
        expect((await reopened.get('cancelled'))?.state).toBe('cancelled');
        expect(ids(await reopened.due(t0 + 1000, 10))).toEqual(['pending']);
        expect(await reopened.nextDueAt()).toBe(t0 + 30);
        expect(await reopened.add(timer('fired', t0)), 'ids are remembered across the restart').toBe(false);
        expect(await reopened.add(timer('new', t0))).toBe(true);
      } finally {
        await reopened.close();
      }
    });
  });
}
