/**
 * The Hello Retail photo workflow: a process manager (a reactor plus durable timers), in place of the original's
 * Step Functions machine. Usage, on the embedded backend:
 *
 * ```ts
 * const store = await openFileEventStore({ log, catalog: helloRetailEvents, dir: path.join(dir, 'store') });
 * const workflow = createPhotoWorkflow({
 *   log, store,
 *   storage: openSqliteViewStorage({ dir: path.join(dir, 'views') }),   // the reactor's checkpoint
 *   timers: await openSqliteTimerStore({ dir: path.join(dir, 'timers') }),
 *   sms: createSimulatorSmsGateway(),
 * });
 * await workflow.start();
 * // the photo webhook: no open assignment means "we couldn't find your assignment"
 * const assignment = await workflow.openAssignmentOf(from);
 * // shutdown: the workflow stops; the caller closes store, log, timer store and gateway
 * await workflow.stop();
 * ```
 *
 * How it runs: every step reacts to one event of the log and issues idempotent commands to two kinds of streams,
 * `photo-<productId>` (the assignment: attempt, assignee, who was tried) and `photo-pool` (photographers in
 * registration order with their open assignment counts, claims, the queue of products waiting for a registration).
 * Side effects (texts, timers) react to the events those commands append, so a crash at any point redoes at most
 * the step in hand, and that step's commands decide nothing the second time.
 *
 * product.created → request → photo.requested → claim the least-loaded photographer not tried yet → photo.assigned
 * → schedule the deadline timer, text the request. The deadline → time-out → photo.unassigned (+ photo.unavailable
 * after `maxAttempts`) → release, claim the next photographer, text the notice. No photographer to claim →
 * photo.queued; the next registration (photo.photographer-enlisted) claims for the queue, oldest first. A photo
 * (photo.received or product.image-added) of the current assignee → photo.assignment-completed → release and cancel
 * the deadline timer.
 * @see docs/hello-retail.md#photo-workflow
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createCommandHandler,
  createConsumer,
  createPublisher,
  createTimerScheduler,
  defineReactor,
  isUnilogError,
  systemClock,
  UnilogError,
  type Clock,
  type Consumer,
  type EventLog,
  type EventStore,
  type RetryPolicy,
  type TimerScheduler,
  type TimerStore,
  type ViewStorage,
} from '../../src/index.ts';
import {
  PhotoAssigned,
  PhotoAssignmentCompleted,
  PhotoDeadlinePassed,
  PhotographerEnlisted,
  PhotographerRegistered,
  PhotoReceived,
  PhotoRequested,
  PhotoUnassigned,
  ProductCreated,
  ProductImageAdded,
  type helloRetailEvents,
} from '../events.ts';
import type { SmsGateway, SmsMessage } from '../sms/smsGateway.ts';
import { assignmentDecider, assignmentStream, type AssignmentEvent, type AssignmentState } from './assignmentDecider.ts';
import { requestText, unassignedText } from './messages.ts';
import { poolDecider, poolStream, type PoolEvent, type PoolState } from './poolDecider.ts';

/** An event definition of the Hello Retail catalog. */
export type HelloRetailEvent = (typeof helloRetailEvents)[number];

/** Options of {@link createPhotoWorkflow}. */
export interface PhotoWorkflowOptions {
  /** The unified log: the reactor follows it. */
  readonly log: EventLog;
  /** An event store appending to the same `log`, with the Hello Retail catalog (`helloRetailEvents`). */
  readonly store: EventStore<HelloRetailEvent>;
  /** Where the reactor keeps its checkpoint (SQLite in a data folder, or memory in tests). */
  readonly storage: ViewStorage;
  /** Where the deadlines are kept: `openSqliteTimerStore` survives restarts. */
  readonly timers: TimerStore;
  readonly sms: SmsGateway;
  /** Deadlines are computed from it; tests pass a manual clock. @default systemClock */
  readonly clock?: Clock;
  /** How long a photographer has to send the photo. @default 600000 (10 minutes) */
  readonly deadlineMs?: number;
  /** Photographers tried per product before it is marked photo unavailable. @default 3 */
  readonly maxAttempts?: number;
  /** The reactor's name (its checkpoint's name). @default "photo-workflow" */
  readonly name?: string;
  /** How a failing step is retried before its event is dead-lettered. @default the consumer's (3 tries) */
  readonly retry?: RetryPolicy;
  /** Told when a text could not be sent after retries; the workflow goes on (the deadline moves the product on). @default console.error */
  readonly onTextFailed?: (error: unknown, message: SmsMessage) => void;
}

/** A photographer's open assignment, as the photo webhook needs it. */
export interface OpenAssignment {
  readonly productId: string;
  readonly productName: string;
  readonly merchantName: string;
  readonly photographerId: string;
  readonly photographerName: string;
  readonly phone: string;
  readonly attempt: number;
  /** ISO 8601. */
  readonly deadline: string;
}

/** A running photo workflow. */
export interface PhotoWorkflow {
  /** The reactor's consumer: status, dead letters. */
  readonly consumer: Consumer<Record<string, never>>;
  /** The deadline timers; tests advance their clock and call `timers.fireDue()`. */
  readonly timers: TimerScheduler<typeof PhotoDeadlinePassed>;
  /**
   * The open assignment of the photographer with this phone: the oldest, when they hold several; undefined when
   * they hold none, or its deadline passed (a late photo must not attach).
   */
  openAssignmentOf(phone: string): Promise<OpenAssignment | undefined>;
  /** Resolves once the reactor processed every event of the log, the ones it caused included (tests, demos). */
  settle(options?: { readonly timeoutMs?: number }): Promise<void>;
  /** Starts the reactor and the timers (due ones fire at once). */
  start(): Promise<void>;
  /** Stops the timers and the reactor; closes nothing it was given. */
  stop(): Promise<void>;
}

/** The id of the deadline timer of one attempt: scheduling it twice is a no-op. */
export const deadlineTimerId = (productId: string, attempt: number): string => `photo-deadline:${String(attempt)}:${productId}`;

/** Creates the photo workflow; nothing runs until `start()`. */
export function createPhotoWorkflow(options: PhotoWorkflowOptions): PhotoWorkflow {
  const { log, sms } = options;
  const clock = options.clock ?? systemClock;
  const deadlineMs = options.deadlineMs ?? 600_000;
  const maxAttempts = options.maxAttempts ?? 3;
  for (const [argument, value] of [['deadlineMs', deadlineMs], ['maxAttempts', maxAttempts]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new UnilogError('InvalidArgument', `createPhotoWorkflow: ${argument} must be a whole number of 1 or more, not ${String(value)}.`, { argument, reason: 'invalid' });
  }
  // The deciders see only their own events; the store's catalog (Hello Retail) holds them all.
  const assignmentStore = options.store as unknown as EventStore<AssignmentEvent>;
  const poolStore = options.store as unknown as EventStore<PoolEvent>;
  const assignment = createCommandHandler(assignmentStore, assignmentDecider);
  // The pool is one stream every claim goes through: under contention more attempts are needed than for one entity.
  const poolSnapshots = { every: 100, version: poolDecider.version };
  const pool = createCommandHandler(poolStore, poolDecider, { maxAttempts: 50, snapshotEvery: poolSnapshots.every });
  const timers = createTimerScheduler({ store: options.timers, publisher: createPublisher({ log, catalog: [PhotoDeadlinePassed], source: 'photo-workflow' }), clock });

  const loadAssignment = async (productId: string): Promise<AssignmentState> =>
    (await assignmentStore.aggregateStream(assignmentStream(productId), { initialState: assignmentDecider.initialState, evolve: (s, e) => assignmentDecider.evolve(s, e) })).state;
  const loadPool = async (): Promise<PoolState> => (await poolStore.aggregateStream(poolStream, { initialState: poolDecider.initialState, evolve: (s, e) => poolDecider.evolve(s, e), snapshots: poolSnapshots })).state;
  const photographerOf = async (photographerId: string) => (await loadPool()).photographers.find((p) => p.photographerId === photographerId);

  /** Gives an open product to the next photographer, or queues it; a no-op for a product that is not open. */
  const assignNext = async (productId: string): Promise<void> => {
    const product = await loadAssignment(productId);
    if (product.status !== 'open') return;
    const attempt = product.attempt + 1;
    const { state } = await pool(poolStream, { kind: 'claim', productId, attempt, exclude: product.tried });
    const claim = state.claims.find((c) => c.productId === productId && c.attempt === attempt);
    const photographer = state.photographers.find((p) => p.photographerId === claim?.photographerId);
    if (!claim || !photographer) return;
    const deadline = new Date(clock.now() + deadlineMs).toISOString();
    const assigned = await assignment(assignmentStream(productId), { kind: 'assign', productId, attempt, photographerId: photographer.photographerId, phone: photographer.phone, deadline });
    // Only with two workflows racing: the product moved on between the load and the assignment, so the claim is void.
    if (assigned.state.status !== 'assigned' || assigned.state.attempt !== attempt) await pool(poolStream, { kind: 'release', productId, attempt, reason: 'withdrawn' });
  };

  const onTextFailed =
    options.onTextFailed ??
    ((error: unknown, message: SmsMessage) => {
      console.error(`photo workflow: the text to ${message.to} could not be sent:`, error);
    });
  /**
   * Sends a text, retrying a passing failure a few times, and never throws: a text that failed for good must not
   * dead-letter its event, which would park every later event of the product's stream behind it.
   */
  const text = async (message: SmsMessage): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await sms.send(message);
        return;
      } catch (error) {
        if (attempt >= 3 || isUnilogError(error, 'HandlerRejected')) {
          onTextFailed(error, message);
          return;
        }
        await sleep(100 * 4 ** (attempt - 1));
      }
    }
  };

  /** A photo of the assignee completes the assignment; anyone else's changes nothing. */
  const complete = async (productId: string, photographerId: string): Promise<void> => {
    await assignment(assignmentStream(productId), { kind: 'complete', productId, photographerId });
  };

  const reactor = defineReactor({
    name: options.name ?? 'photo-workflow',
    // From the start: products created before the workflow's first run get a photographer too.
    startFrom: 'start',
    events: [ProductCreated, PhotographerRegistered, PhotographerEnlisted, PhotoRequested, PhotoAssigned, PhotoDeadlinePassed, PhotoUnassigned, PhotoReceived, ProductImageAdded, PhotoAssignmentCompleted],
  }).on({
    'product.created': async ({ data }) => {
      await assignment(assignmentStream(data.id), { kind: 'request', productId: data.id, productName: data.name, merchantName: data.merchantName });
    },
    'photo.requested': ({ data }) => assignNext(data.productId),
    'photographer.registered': async ({ data }) => {
      await pool(poolStream, { kind: 'enlist', photographerId: data.photographerId, name: data.name, phone: data.phone });
    },
    // A registration wakes the waiting products, oldest first: no polling while nobody can take them.
    'photo.photographer-enlisted': async () => {
      for (const waiting of (await loadPool()).queue) await assignNext(waiting.productId);
    },
    'photo.assigned': async ({ data }, { idempotencyKey }) => {
      const { productId, photographerId, attempt, deadline } = data;
      // The timer first: if the text fails for good, the deadline still passes and the next photographer is asked.
      await timers.schedule(deadlineTimerId(productId, attempt), { at: Date.parse(deadline), event: { type: 'photo.deadline-passed', data: { productId, photographerId, attempt } } });
      const [product, photographer] = await Promise.all([loadAssignment(productId), photographerOf(photographerId)]);
      await text({ to: data.phone, body: requestText({ name: photographer?.name ?? 'there', productName: product.productName, merchantName: product.merchantName, deadline }), idempotencyKey });
    },
    'photo.deadline-passed': async ({ data }) => {
      await assignment(assignmentStream(data.productId), { kind: 'time-out', productId: data.productId, attempt: data.attempt, maxAttempts });
    },
    'photo.unassigned': async ({ data }, { idempotencyKey }) => {
      const { productId, photographerId, attempt } = data;
      await pool(poolStream, { kind: 'release', productId, attempt, reason: 'deadline' });
      await assignNext(productId);
      // The notice last: a slow or failing text does not hold up the next assignment.
      const [product, photographer] = await Promise.all([loadAssignment(productId), photographerOf(photographerId)]);
      if (photographer) await text({ to: photographer.phone, body: unassignedText({ name: photographer.name, productName: product.productName }), idempotencyKey });
    },
    'photo.received': ({ data }) => complete(data.productId, data.photographerId),
    'product.image-added': ({ data }) => complete(data.productId, data.photographerId),
    'photo.assignment-completed': async ({ data }) => {
      await pool(poolStream, { kind: 'release', productId: data.productId, attempt: data.attempt, reason: 'photo' });
      await timers.cancel(deadlineTimerId(data.productId, data.attempt));
    },
  });
  const consumer = createConsumer(reactor, { log, storage: options.storage, ...(options.retry ? { retry: options.retry } : {}) });

  return {
    consumer,
    timers,
    async openAssignmentOf(phone) {
      const state = await loadPool();
      const photographer = state.photographers.find((p) => p.phone === phone);
      if (!photographer) return undefined;
      for (const claim of state.claims) {
        if (claim.photographerId !== photographer.photographerId) continue;
        const product = await loadAssignment(claim.productId);
        const assignee = product.assignee;
        if (product.status !== 'assigned' || assignee?.photographerId !== photographer.photographerId) continue;
        // Past the deadline the timer is about to take it away: the photo is late even if it has not fired yet.
        if (Date.parse(assignee.deadline) <= clock.now()) continue;
        const { productName, merchantName, attempt } = product;
        return { productId: claim.productId, productName, merchantName, photographerId: photographer.photographerId, photographerName: photographer.name, phone, attempt, deadline: assignee.deadline };
      }
      return undefined;
    },
    async settle(settleOptions = {}) {
      for (;;) {
        const head = await log.head();
        await consumer.catchUp(head, settleOptions);
        if ((await log.head()) === head) return;
      }
    },
    async start() {
      await consumer.start();
      timers.start();
    },
    async stop() {
      await timers.stop();
      await consumer.stop();
    },
  };
}
