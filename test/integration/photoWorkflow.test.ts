import { afterEach, describe, expect, it } from 'vitest';
import { createCommandHandler, createMemoryEventLog, createMemoryEventStore, createPublisher, permanentError, type EventStore } from '../../src/index.ts';
import { helloRetailEvents } from '../../sample-app/events.ts';
import { deadlineTimerId } from '../../sample-app/workflow/photoWorkflow.ts';
import { poolDecider, poolStream, type PoolEvent } from '../../sample-app/workflow/poolDecider.ts';
import { ann, bob, cyd, minute, startHarness, type Harness } from '../support/photoWorkflow.ts';

let open: Harness[] = [];
async function harness(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const h = await startHarness(options);
  open.push(h);
  return h;
}
afterEach(async () => {
  for (const h of open) await h.close();
  open = [];
});

/** Who got each product's attempts, as "product:attempt→photographer". */
async function assignments(h: Harness): Promise<string[]> {
  return (await h.events('photo.assigned')).map((a) => `${String(a['productId'])}:${String(a['attempt'])}→${String(a['photographerId'])}`);
}

describe('photo workflow: assignment', () => {
  it('assigns the photographer with the fewest open assignments, ties to the earliest registered, and texts the request', async () => {
    const h = await harness();
    await h.register(ann);
    await h.register(bob);
    await h.createProduct('p1', 'Trail boots');
    await h.createProduct('p2');
    expect(await assignments(h), 'both free: the tie goes to Ann (registered first), then Bob has fewer').toEqual(['p1:1→ann', 'p2:1→bob']);
    await h.photoFrom('p2', 'bob');
    await h.createProduct('p3');
    expect((await assignments(h))[2], 'Bob finished p2, so he has fewer open (0) than Ann (1)').toBe('p3:1→bob');
    await h.createProduct('p4');
    expect((await assignments(h))[3], 'Ann and Bob hold one each: the tie goes to Ann').toBe('p4:1→ann');
    const [request] = h.sms.inbox(ann.phone);
    expect(request?.body, 'the request names the photographer, product, merchant and deadline').toBe('Hello Ann!\nPlease snap a pic of:\n  Trail boots\nCreated by:\n  Nordwest Outfitters\nReply with the photo before 00:10 UTC.');
  });

  it('with nobody registered, queues the product and assigns it on the next registration, without polling', async () => {
    const h = await harness();
    await h.createProduct('p1');
    await h.createProduct('p2');
    expect(await h.events('photo.queued'), 'both products wait').toEqual([
      { productId: 'p1', attempt: 1 },
      { productId: 'p2', attempt: 1 },
    ]);
    const head = await h.log.head();
    expect(await h.advance(60 * minute), 'no timer is pending while a product waits').toBe(0);
    expect(await h.log.head(), 'an hour of waiting appends nothing: no polling loop').toBe(head);
    expect(await h.timerStore.nextDueAt()).toBeUndefined();
    await h.register(ann);
    expect(await assignments(h), 'the registration wakes the queue, oldest first').toEqual(['p1:1→ann', 'p2:1→ann']);
    expect(h.sms.inbox(ann.phone)).toHaveLength(2);
  });
});

describe('photo workflow: deadlines', () => {
  it('after the deadline unassigns, tells the photographer, and reassigns to a different photographer', async () => {
    const h = await harness();
    await h.register(ann);
    await h.register(bob);
    await h.createProduct('p1', 'Parka');
    expect(await h.advance(10 * minute - 1), 'a millisecond before the deadline nothing fires').toBe(0);
    expect(await h.advance(1), 'the deadline fires once').toBe(1);
    expect(await h.events('photo.unassigned')).toEqual([{ productId: 'p1', photographerId: 'ann', attempt: 1, reason: 'deadline' }]);
    expect(h.sms.inbox(ann.phone).map((m) => m.body.split('\n')[0]), 'Ann got the request, then the notice').toEqual(['Hello Ann!', 'Hello Ann.']);
    expect(h.sms.inbox(ann.phone)[1]?.body).toContain('The deadline for Parka passed');
    expect(await assignments(h), 'the second attempt goes to Bob: Ann was tried (and is as free as he is, registered earlier)').toEqual(['p1:1→ann', 'p1:2→bob']);
  });

  it('never assigns a product to the same photographer twice: with one photographer the retry waits for another', async () => {
    const h = await harness();
    await h.register(ann);
    await h.createProduct('p1');
    await h.advance(10 * minute);
    expect(await assignments(h)).toEqual(['p1:1→ann']);
    expect(await h.events('photo.queued'), 'Ann was tried, so attempt 2 waits').toEqual([{ productId: 'p1', attempt: 2 }]);
    await h.register(bob);
    expect(await assignments(h)).toEqual(['p1:1→ann', 'p1:2→bob']);
  });

  it('after maxAttempts the product is marked photo unavailable, and nobody else is asked', async () => {
    const h = await harness({ maxAttempts: 2, deadlineMs: 5 * minute });
    for (const p of [ann, bob, cyd]) await h.register(p);
    await h.createProduct('p1');
    expect(await h.advance(5 * minute), 'the configured deadline: 5 minutes').toBe(1);
    expect(await h.advance(5 * minute)).toBe(1);
    expect(await assignments(h)).toEqual(['p1:1→ann', 'p1:2→bob']);
    expect(await h.events('photo.unavailable')).toEqual([{ productId: 'p1', attempts: 2 }]);
    expect(await h.advance(60 * minute), 'nothing is left to fire').toBe(0);
    expect(h.sms.inbox(cyd.phone)).toEqual([]);
    const pool = await h.events('photo.photographer-released');
    expect(pool.map((r) => r['photographerId']), 'both claims were released').toEqual(['ann', 'bob']);
  });

  it('a deadline timer that fires twice (a crash between publishing and marking it) changes nothing the second time', async () => {
    const h = await harness();
    await h.register(ann);
    await h.register(bob);
    await h.createProduct('p1');
    await h.advance(10 * minute);
    const deadline = (await h.events('photo.deadline-passed'))[0];
    const replay = createPublisher({ log: h.log, catalog: helloRetailEvents, source: 'replay' });
    await replay.publish('photo.deadline-passed', { productId: 'p1', photographerId: 'ann', attempt: 1 });
    await h.workflow.settle();
    expect(deadline).toEqual({ productId: 'p1', photographerId: 'ann', attempt: 1 });
    expect(await h.events('photo.unassigned'), 'one unassignment').toHaveLength(1);
    expect(await assignments(h)).toEqual(['p1:1→ann', 'p1:2→bob']);
  });
});

describe('photo workflow: texts', () => {
  it('a text that fails for good is reported and holds nothing up: the deadline still moves the product on', async () => {
    const failures: string[] = [];
    const down = { send: () => Promise.reject(permanentError('Twilio refused the text')), close: () => Promise.resolve() };
    const h = await harness({ gateway: down, onTextFailed: (error, message) => failures.push(`${message.to}: ${(error as Error).message}`) });
    await h.register(ann);
    await h.register(bob);
    await h.createProduct('p1');
    await h.advance(10 * minute);
    expect(await assignments(h), 'the second attempt went ahead although no text got through').toEqual(['p1:1→ann', 'p1:2→bob']);
    expect(failures, 'the request to Ann, her notice and the request to Bob were reported').toEqual([
      `${ann.phone}: Twilio refused the text`,
      `${ann.phone}: Twilio refused the text`,
      `${bob.phone}: Twilio refused the text`,
    ]);
    expect(await h.workflow.consumer.deadLetters.list(), 'no event was dead-lettered').toEqual([]);
  });
});

describe('photo workflow: photos', () => {
  it('a photo of the assignee completes the assignment, frees the photographer and cancels the deadline', async () => {
    const h = await harness();
    await h.register(ann);
    await h.createProduct('p1', 'Trail boots');
    const open = await h.workflow.openAssignmentOf(ann.phone);
    expect(open, 'the webhook finds the assignment by phone').toMatchObject({ productId: 'p1', productName: 'Trail boots', photographerId: 'ann', photographerName: 'Ann', attempt: 1 });
    await h.photoFrom('p1', 'ann');
    expect(await h.events('photo.assignment-completed')).toEqual([{ productId: 'p1', photographerId: 'ann', attempt: 1 }]);
    expect(await h.events('photo.photographer-released')).toEqual([{ productId: 'p1', photographerId: 'ann', attempt: 1, reason: 'photo' }]);
    expect((await h.timerStore.get(deadlineTimerId('p1', 1)))?.state, 'the deadline timer is cancelled').toBe('cancelled');
    expect(await h.workflow.openAssignmentOf(ann.phone), 'no open assignment is left').toBeUndefined();
    expect(await h.advance(60 * minute), 'no deadline fires').toBe(0);
    expect(await h.events('photo.unassigned')).toEqual([]);
    await h.createProduct('p2');
    expect((await assignments(h))[1], 'Ann is free again').toBe('p2:1→ann');
  });

  it('a late photo (after the unassignment) finds no assignment and completes nothing', async () => {
    const h = await harness();
    await h.register(ann);
    await h.register(bob);
    await h.createProduct('p1');
    h.clock.advance(10 * minute);
    expect(await h.workflow.openAssignmentOf(ann.phone), 'past the deadline, even before the timer fired, the photo is late').toBeUndefined();
    await h.workflow.timers.fireDue();
    await h.workflow.settle();
    expect(await h.workflow.openAssignmentOf(ann.phone)).toBeUndefined();
    expect(await h.workflow.openAssignmentOf(bob.phone)).toMatchObject({ productId: 'p1', attempt: 2 });
    await h.photoFrom('p1', 'ann');
    expect(await h.events('photo.assignment-completed'), "Ann's late photo does not complete Bob's assignment").toEqual([]);
    await h.photoFrom('p1', 'bob');
    expect(await h.events('photo.assignment-completed')).toEqual([{ productId: 'p1', photographerId: 'bob', attempt: 2 }]);
  });

  it('a photographer holding several assignments is matched to the oldest first', async () => {
    const h = await harness();
    await h.register(ann);
    await h.createProduct('p1');
    await h.createProduct('p2');
    expect((await h.workflow.openAssignmentOf(ann.phone))?.productId).toBe('p1');
    await h.photoFrom('p1', 'ann');
    expect((await h.workflow.openAssignmentOf(ann.phone))?.productId).toBe('p2');
    expect(await h.workflow.openAssignmentOf('+14155559999'), 'an unknown phone has no assignment').toBeUndefined();
  });
});

describe('photo workflow: concurrent claims', () => {
  it('claims made at the same time on the pool stream never count against the same state', async () => {
    const store = await createMemoryEventStore({ catalog: helloRetailEvents });
    const pool = createCommandHandler(store as unknown as EventStore<PoolEvent>, poolDecider, { maxAttempts: 100 });
    for (const p of [ann, bob, cyd]) await pool(poolStream, { kind: 'enlist', ...p });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => pool(poolStream, { kind: 'claim', productId: `p${i}`, attempt: 1, exclude: [] })));
    expect(Math.max(...results.map((r) => r.attempts)), 'the claims did conflict, so the test exercised the conditional append').toBeGreaterThan(1);
    const { state } = await (store as unknown as EventStore<PoolEvent>).aggregateStream(poolStream, { initialState: poolDecider.initialState, evolve: (s, e) => poolDecider.evolve(s, e) });
    expect(state.claims.map((c) => c.productId).sort(), 'one claim per product').toEqual(Array.from({ length: 12 }, (_, i) => `p${i}`).sort());
    expect(state.photographers.map((p) => p.open), 'twelve claims, spread evenly: every choice saw the counts of the claims before it').toEqual([4, 4, 4]);
    await store.close();
  });

  it('two workflow instances on one log and store assign each product once, with consistent counts', async () => {
    const log = createMemoryEventLog();
    const store = await createMemoryEventStore({ log, catalog: helloRetailEvents });
    const first = await harness({ log, store, name: 'photo-workflow-a' });
    const second = await harness({ log, store, name: 'photo-workflow-b', clock: first.clock });
    for (const p of [ann, bob, cyd]) await first.register(p);
    await Promise.all(Array.from({ length: 9 }, (_, i) => first.createProduct(`p${i}`)));
    await second.workflow.settle();
    await first.workflow.settle();
    const assigned = await assignments(first);
    expect(assigned.map((a) => a.split('→')[0]).sort(), 'every product assigned once').toEqual(Array.from({ length: 9 }, (_, i) => `p${i}:1`).sort());
    const perPhotographer = ['ann', 'bob', 'cyd'].map((id) => assigned.filter((a) => a.endsWith(`→${id}`)).length);
    expect(perPhotographer, 'nine products over three photographers, least-loaded first').toEqual([3, 3, 3]);
    await first.close();
    await second.close();
    open = [];
    await store.close();
    await log.close();
  });
});
