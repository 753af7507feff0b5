import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  createManualClock,
  createMemoryEventLog,
  createMemoryTimerStore,
  createPublisher,
  createTimerScheduler,
  defineEvent,
  isUnilogError,
  openSqliteTimerStore,
  timerEventId,
  type EventLog,
  type TimerStore,
} from '../../src/index.ts';
import { tempDir } from '../support/tempDir.ts';

const Due = defineEvent({ type: 'thing.due', schema: z.strictObject({ thingId: z.string(), n: z.number().int() }), key: (d) => d.thingId });
const t0 = Date.parse('2025-01-01T00:00:00.000Z');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Each store the scheduler is tested on; `reopen` gives the same timers again where they are durable. */
const stores: { name: string; open: () => Promise<{ store: TimerStore; reopen?: () => Promise<TimerStore> }> }[] = [
  { name: 'memory', open: () => Promise.resolve({ store: createMemoryTimerStore() }) },
  {
    name: 'sqlite',
    open: async () => {
      const { dir, remove } = await tempDir('unilog-timers-');
      cleanups.push(remove);
      const open = async () => {
        const store = await openSqliteTimerStore({ dir });
        cleanups.push(() => store.close());
        return store;
      };
      return { store: await open(), reopen: open };
    },
  },
];

function setup(store: TimerStore, log: EventLog = createMemoryEventLog()) {
  const clock = createManualClock(t0);
  const scheduler = createTimerScheduler({ store, publisher: createPublisher({ log, catalog: [Due], source: 'timers-test' }), clock });
  cleanups.push(() => scheduler.stop());
  const fired = async () => (await log.read({ limit: 1000 })).events.map((e) => ({ id: e.event.id, data: e.event.data, subject: e.event.subject }));
  return { clock, scheduler, log, fired };
}

describe.each(stores)('timers on the $name store', ({ open }) => {
  it('fires a timer once when due, earliest first, with an event id derived from the timer id', async () => {
    const { store } = await open();
    const { clock, scheduler, fired } = setup(store);
    await scheduler.schedule('b', { at: t0 + 2000, event: { type: 'thing.due', data: { thingId: 't1', n: 2 } } });
    await scheduler.schedule('a', { at: t0 + 1000, event: { type: 'thing.due', data: { thingId: 't1', n: 1 } } });
    await scheduler.schedule('later', { at: t0 + 5000, event: { type: 'thing.due', data: { thingId: 't2', n: 3 } } });
    clock.advance(999);
    expect(await scheduler.fireDue(), 'nothing is due a millisecond early').toBe(0);
    clock.advance(1001);
    expect(await scheduler.fireDue()).toBe(2);
    expect(await scheduler.fireDue(), 'a fired timer does not fire again').toBe(0);
    expect(await fired()).toEqual([
      { id: timerEventId('a'), data: { thingId: 't1', n: 1 }, subject: 't1' },
      { id: timerEventId('b'), data: { thingId: 't1', n: 2 }, subject: 't1' },
    ]);
    expect(timerEventId('a'), 'the event id is deterministic and valid').toMatch(/^timer\.[0-9a-f]{40}$/);
    expect((await store.get('later'))?.state).toBe('pending');
  });

  it('scheduling an id again is a no-op, pending, fired or cancelled', async () => {
    const { store } = await open();
    const { clock, scheduler, fired } = setup(store);
    const event = { type: 'thing.due' as const, data: { thingId: 't1', n: 1 } };
    expect(await scheduler.schedule('x', { at: t0 + 10, event })).toEqual({ scheduled: true });
    expect(await scheduler.schedule('x', { at: t0 + 5, event: { ...event, data: { thingId: 't1', n: 99 } } })).toEqual({ scheduled: false });
    clock.advance(10);
    expect(await scheduler.fireDue()).toBe(1);
    expect(await scheduler.schedule('x', { at: t0 + 20, event }), 'a fired id is remembered').toEqual({ scheduled: false });
    expect(await scheduler.schedule('y', { at: t0 + 20, event })).toEqual({ scheduled: true });
    expect(await scheduler.cancel('y')).toBe(true);
    expect(await scheduler.cancel('y'), 'cancelling twice').toBe(false);
    expect(await scheduler.cancel('x'), 'a fired timer cannot be cancelled').toBe(false);
    expect(await scheduler.schedule('y', { at: t0 + 20, event }), 'a cancelled id is remembered').toEqual({ scheduled: false });
    clock.advance(100);
    expect(await scheduler.fireDue()).toBe(0);
    expect((await fired()).map((e) => e.data)).toEqual([{ thingId: 't1', n: 1 }]);
  });

  it('refuses an event its catalog rejects when it is scheduled, not when it fires', async () => {
    const { store } = await open();
    const { scheduler } = setup(store);
    const bad = scheduler.schedule('bad', { at: t0, event: { type: 'thing.due', data: { thingId: 't1', n: 1.5 } } });
    await expect(bad).rejects.toSatisfy((e) => isUnilogError(e, 'SchemaViolation'));
    expect(await store.get('bad'), 'nothing was stored').toBeUndefined();
  });

  it('start() fires due timers by itself, on a real timer', async () => {
    const { store } = await open();
    const { clock, scheduler, fired } = setup(store);
    await scheduler.schedule('now', { at: t0 - 1, event: { type: 'thing.due', data: { thingId: 't1', n: 1 } } });
    scheduler.start();
    await vi.waitFor(async () => {
      expect(await fired()).toHaveLength(1);
    });
    // Scheduled while running: armed for its due time (0 ms away by the manual clock).
    clock.advance(1000);
    await scheduler.schedule('next', { at: t0 + 500, event: { type: 'thing.due', data: { thingId: 't1', n: 2 } } });
    await vi.waitFor(async () => {
      expect(await fired()).toHaveLength(2);
    });
    await scheduler.stop();
  });
});

describe('timers on the sqlite store, across a restart', () => {
  it('pending timers survive closing the store and fire once after it is reopened; fired and cancelled ones do not', async () => {
    const sqlite = stores[1];
    const { store, reopen } = await sqlite!.open();
    const log = createMemoryEventLog();
    const first = setup(store, log);
    const event = (n: number) => ({ type: 'thing.due' as const, data: { thingId: 't1', n } });
    await first.scheduler.schedule('fired', { at: t0, event: event(1) });
    await first.scheduler.schedule('cancelled', { at: t0 + 10, event: event(2) });
    await first.scheduler.schedule('pending', { at: t0 + 600_000, event: event(3) });
    expect(await first.scheduler.fireDue()).toBe(1);
    await first.scheduler.cancel('cancelled');
    await first.scheduler.stop();
    await store.close();

    const second = setup(await reopen!(), log);
    second.clock.advance(600_000);
    expect(await second.scheduler.fireDue()).toBe(1);
    expect(await second.scheduler.fireDue()).toBe(0);
    expect((await second.fired()).map((e) => e.data)).toEqual([{ thingId: 't1', n: 1 }, { thingId: 't1', n: 3 }]);
  });
});
