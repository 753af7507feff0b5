import { setTimeout as sleep } from 'node:timers/promises';
import { isUnilogError, UnilogError } from '../errors.ts';
import { createCatalog, type EventCatalog } from '../events/catalog.ts';
import type { AnyEventDefinition } from '../events/defineEvent.ts';
import type { EventEnvelope } from '../events/envelope.ts';
import { nextEventId } from '../events/eventId.ts';
import type { EventLog, Position, PositionOrder, StoredEvent, Subscription } from '../log/eventLog.ts';
import type { AnyProjection, AnyTableDefinition, Projection, ViewReader } from '../views/defineProjection.ts';
import type { DeadLetter, DeadLetterAudit, ParkedEvent, Row, ViewChanges, ViewLayout, ViewStorage, ViewStore } from '../views/viewStore.ts';
import { BatchTransaction } from './batchTransaction.ts';
import { RowCache } from './rowCache.ts';
import type { AnyReactor } from './defineReactor.ts';
import { backoffMs, defaultIsRetryable, type RetryPolicy } from './retry.ts';

/** What a consumer is doing. */
export type ConsumerState = 'stopped' | 'starting' | 'running' | 'rebuilding' | 'stopping' | 'failed';

/** A consumer's position, lag and health. */
export interface ConsumerStatus {
  readonly name: string;
  readonly kind: 'projection' | 'reactor';
  readonly version: number;
  readonly state: ConsumerState;
  /** Where the consumer reads next (its checkpoint): a log position, a cut on Kinesis. */
  readonly position: Position;
  /** Events in the log not processed yet; on a log that cannot count them (Kinesis) the ones found by reading, at most 1000. */
  readonly lagEvents: number;
  /** How long ago the oldest unprocessed event was published, in ms (0 when caught up). */
  readonly lagMs: number;
  readonly deadLetters: number;
  /** Why the consumer failed, when it did. */
  readonly error?: string;
}

/** Progress of a rebuild, reported through `onProgress`. */
export interface RebuildProgress {
  readonly consumer: string;
  readonly done: number;
  /** The events in the log when the rebuild started (more may arrive meanwhile); 0 when the log cannot count them (Kinesis). */
  readonly total: number;
  readonly eventsPerSecond: number;
  /** Seconds until `total` at the current rate. */
  readonly etaSeconds: number;
}

/** The outcome of retrying a dead letter. */
export interface RetryResult {
  readonly applied: boolean;
  /** Parked events of the same key applied after it. */
  readonly released: number;
  readonly error?: string;
}

/** Options of {@link createConsumer}. */
export interface ConsumerOptions {
  readonly log: EventLog;
  readonly storage: ViewStorage;
  /** Events per commit while live. @default 500 (projections), 1 (reactors: a crash repeats at most one side effect) */
  readonly batchSize?: number;
  /** Events per commit while rebuilding: larger commits write each changed row once for more events. @default 50000 */
  readonly rebuildBatchSize?: number;
  readonly retry?: RetryPolicy;
  /** How a failing view store commit is retried before the consumer fails. @default { attempts: 5, initialDelayMs: 20 } */
  readonly storeRetry?: RetryPolicy;
  /** A poison event parks its key (later events of that key wait) or is skipped. @default 'park-key' */
  readonly onPoison?: 'park-key' | 'skip';
  /** Called as a rebuild makes progress. */
  readonly onProgress?: (progress: RebuildProgress) => void;
  /** Upcasts events; built from the consumer's event definitions when absent. */
  readonly catalog?: EventCatalog;
}

/** A running consumer of the log: a projection that keeps a view, or a reactor with side effects. */
export interface Consumer<TTables extends Record<string, AnyTableDefinition> = Record<string, AnyTableDefinition>> {
  readonly name: string;
  /** The view, read from the copy that serves reads (empty tables for a reactor). */
  readonly view: ViewReader<TTables>;
  /** Resumes from the stored checkpoint (rebuilding first when the projection's version changed), then follows the log. */
  start(): Promise<void>;
  /** Finishes the batch in hand, commits it and stops. */
  stop(): Promise<void>;
  status(): Promise<ConsumerStatus>;
  /** Resolves once the event at `position` is processed (read-your-writes); `WaitTimedOut` after `timeoutMs`. */
  waitFor(position: Position, options?: { readonly timeoutMs?: number }): Promise<void>;
  /** Resolves once every event before `head` (a reader position, such as `await log.head()`) is processed; `WaitTimedOut` after `timeoutMs`. */
  catchUp(head: Position, options?: { readonly timeoutMs?: number }): Promise<void>;
  /** Builds a fresh copy of the view from the start of the log while this one serves, then switches to it. */
  rebuild(options?: { readonly onProgress?: (progress: RebuildProgress) => void }): Promise<{ readonly events: number; readonly seconds: number }>;
  readonly deadLetters: {
    list(): Promise<DeadLetter[]>;
    /** Applies the event again (after the handler was fixed), then the parked events of its key, in order. */
    retry(position: Position): Promise<RetryResult>;
    /** Forgets the event and releases the parked events of its key. */
    drop(position: Position): Promise<{ readonly released: number }>;
    audit(): Promise<DeadLetterAudit[]>;
  };
  /** Settles when the consumer stops: rejects when it failed. */
  readonly done: Promise<void>;
}

type Handler = (event: EventEnvelope, second: unknown, third?: unknown) => void | Promise<void>;

interface PendingBatch {
  readonly tx: BatchTransaction;
  readonly view: Record<string, unknown>;
  readonly deadLetters: DeadLetter[];
  readonly parkedEvents: ParkedEvent[];
  readonly audit: DeadLetterAudit[];
}

const queueBatches = 4;
const applied = { ok: true } as const;

/**
 * Creates a consumer for a projection or a reactor. Every batch's view changes, dead letters and checkpoint are
 * committed together, so a view is effectively-once: a crash neither applies an event twice nor skips one.
 * @example
 * const catalog = createConsumer(productCatalog, { log, storage: openSqliteViewStorage({ dir: '.unilog/views' }) });
 * await catalog.start();
 * await catalog.waitFor(position);
 * await catalog.view.products.get('p-1');
 */
export function createConsumer<TDefs extends AnyEventDefinition, TTables extends Record<string, AnyTableDefinition>>(definition: Projection<TDefs, TTables>, options: ConsumerOptions): Consumer<TTables>;
export function createConsumer(definition: AnyReactor, options: ConsumerOptions): Consumer<Record<string, never>>;
export function createConsumer(definition: AnyProjection | AnyReactor, options: ConsumerOptions): Consumer {
  return new ConsumerRuntime(definition, options) as unknown as Consumer;
}

class ConsumerRuntime {
  readonly name: string;
  readonly view: Record<string, unknown>;
  readonly deadLetters: Consumer['deadLetters'];
  done: Promise<void> = Promise.resolve();

  private readonly kind: 'projection' | 'reactor';
  private readonly version: number;
  private readonly layout: ViewLayout;
  private readonly handlers: Readonly<Record<string, Handler | undefined>>;
  private readonly catalog: EventCatalog;
  private readonly batchSize: number;
  private readonly rebuildBatchSize: number;
  private readonly retry: Required<Pick<RetryPolicy, 'attempts'>> & RetryPolicy;
  private readonly isRetryable: (error: unknown) => boolean;
  private readonly order: PositionOrder;

  private state: ConsumerState = 'stopped';
  private failure: unknown;
  private store: ViewStore | undefined;
  private copy = '';
  /** The checkpoint: where reading resumes, in the log's own positions. */
  private position: Position;
  private parkedKeys = new Set<string>();
  /** Rows of the current copy, which this consumer alone writes. */
  private cache = new RowCache();
  private queue: StoredEvent[] = [];
  private subscription: Subscription | undefined;
  private wakeProcessor: (() => void) | undefined;
  private roomWaiters: (() => void)[] = [];
  private commands: { run: () => Promise<void>; done: (error?: unknown) => void }[] = [];
  private waiters: { target: Position; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private stopping = false;
  /** True while the processor loop runs: work on the store must then go through it. */
  private processorLive = false;
  /** Serialises work on the store when no processor runs (before start, after stop). */
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly definition: AnyProjection | AnyReactor,
    private readonly options: ConsumerOptions,
  ) {
    // Checkpoints, waits and lag use the log's own position arithmetic: integers on a total order, cuts on Kinesis.
    this.order = options.log.capabilities.positions;
    this.position = this.order.start;
    this.name = definition.name;
    this.kind = definition.kind;
    this.version = definition.kind === 'projection' ? definition.version : 1;
    this.layout = definition.kind === 'projection' ? definition.layout : {};
    this.handlers = definition.handlers as Record<string, Handler | undefined>;
    this.catalog = options.catalog ?? createCatalog(definition.events as readonly AnyEventDefinition[]);
    this.batchSize = options.batchSize ?? (this.kind === 'reactor' ? 1 : 500);
    this.rebuildBatchSize = options.rebuildBatchSize ?? 50_000;
    this.retry = { attempts: 3, ...options.retry };
    this.isRetryable = options.retry?.isRetryable ?? defaultIsRetryable;
    this.view = this.reader();
    this.deadLetters = {
      // A stopped consumer opens its current copy for the read (the CLI's status and dlq list do this).
      list: () => (this.store ? this.store.deadLetters() : this.exclusive(() => this.store?.deadLetters() ?? Promise.resolve([]))),
      audit: () => (this.store ? this.store.audit() : this.exclusive(() => this.store?.audit() ?? Promise.resolve([]))),
      retry: (position) => this.exclusive(() => this.retryDeadLetter(position, false)),
      drop: (position) => this.exclusive(() => this.retryDeadLetter(position, true)),
    };
  }

  // ---- lifecycle -------------------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.state !== 'stopped') throw new UnilogError('InvalidArgument', `Consumer ${this.name} is already ${this.state}.`, { argument: 'start', reason: this.state });
    this.state = 'starting';
    this.stopping = false;
    try {
      await this.openCurrent();
      const checkpoint = await (this.store as ViewStore).checkpoint();
      if (this.kind === 'projection' && checkpoint && checkpoint.version !== this.version) {
        await this.rebuildCopy(this.options.onProgress);
      }
      this.state = 'running';
      this.done = this.runProcessor();
      // The failure also shows in status(); marking `done` handled keeps an unobserved failure from killing the process.
      this.done.catch(() => undefined);
      this.follow();
    } catch (error) {
      this.state = 'failed';
      this.failure = error;
      throw error;
    }
  }

  /** Opens the copy that serves reads, making the first one when there is none. */
  private async openCurrent(): Promise<void> {
    const { storage } = this.options;
    let copy = await storage.current(this.name);
    if (copy === undefined) {
      copy = this.newCopyName();
      const store = await storage.open(this.name, copy, this.layout);
      const start = this.kind === 'reactor' && this.definition.kind === 'reactor' && this.definition.startFrom === 'head' ? await this.options.log.head() : this.order.start;
      await store.commit({ rows: [] }, { position: start, version: this.version });
      await storage.setCurrent(this.name, copy);
      this.store = store;
    } else {
      this.store = await storage.open(this.name, copy, this.layout);
    }
    this.copy = copy;
    this.cache = new RowCache();
    const checkpoint = await this.store.checkpoint();
    this.position = checkpoint?.position ?? this.order.start;
    this.parkedKeys = await parkedSubjects(this.store);
  }

  private newCopyName(): string {
    return `v${this.version}-${nextEventId(Date.now()).toLowerCase()}`;
  }

  /** Subscribes from the current position; events queue up for the processor, which commits them in batches. */
  private follow(): void {
    const subscription = this.options.log.subscribe({
      from: this.position,
      handler: (stored) => {
        this.queue.push(stored);
        this.wakeProcessor?.();
        // Backpressure: reading stops while the processor is several batches behind.
        if (this.queue.length >= this.batchSize * queueBatches) return new Promise<void>((resolve) => this.roomWaiters.push(resolve));
        return undefined;
      },
    });
    this.subscription = subscription;
    subscription.done.catch((error: unknown) => {
      if (this.subscription === subscription) this.fail(error);
    });
  }

  private async unfollow(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    this.releaseRoom();
    await subscription?.stop();
    this.queue = [];
  }

  private releaseRoom(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const resolve of waiters) resolve();
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.stopping = true;
    this.state = 'stopping';
    await this.unfollow();
    this.wakeProcessor?.();
    await this.done.catch(() => undefined);
    await this.store?.close();
    this.store = undefined;
    this.state = this.failure === undefined ? 'stopped' : 'failed';
    this.rejectWaiters(new UnilogError('ConsumerStopped', `Consumer ${this.name} stopped before the position was processed.`, { consumer: this.name }));
  }

  private fail(error: unknown): void {
    this.failure = error;
    this.state = 'failed';
    this.stopping = true;
    this.wakeProcessor?.();
    this.rejectWaiters(error);
  }

  // ---- the processor -----------------------------------------------------------------------------------------

  private async runProcessor(): Promise<void> {
    this.processorLive = true;
    try {
      await this.processLoop();
    } finally {
      this.processorLive = false;
    }
  }

  private async processLoop(): Promise<void> {
    while (!this.stopping) {
      const command = this.commands.shift();
      if (command) {
        try {
          await command.run();
          command.done();
        } catch (error) {
          command.done(error);
        }
        continue;
      }
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => (this.wakeProcessor = resolve));
        this.wakeProcessor = undefined;
        continue;
      }
      const batch = this.queue.splice(0, this.batchSize);
      if (this.queue.length < this.batchSize * queueBatches) this.releaseRoom();
      try {
        this.position = await this.processBatch(this.store as ViewStore, this.cache, batch, this.parkedKeys);
      } catch (error) {
        this.fail(error);
        throw error;
      }
      this.resolveWaiters();
    }
    for (const command of this.commands.splice(0)) command.done(new UnilogError('ConsumerStopped', `Consumer ${this.name} stopped.`, { consumer: this.name }));
  }

  /** Runs `work` with no batch in flight: inside the processor while it runs, else one at a time. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    // The processor runs while the state is 'running' and also while a rebuild fills its fresh copy.
    if (this.processorLive && !this.stopping) {
      return new Promise<T>((resolve, reject) => {
        let result: T;
        this.commands.push({
          run: async () => {
            result = await work();
          },
          done: (error) => {
            if (error === undefined) resolve(result);
            else reject(asError(error));
          },
        });
        this.wakeProcessor?.();
      });
    }
    const run = this.idle.then(async () => {
      const opened = this.store === undefined;
      if (opened) await this.openCurrent();
      try {
        return await work();
      } finally {
        if (opened) {
          await this.store?.close();
          this.store = undefined;
        }
      }
    });
    this.idle = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Applies one batch to `store` and commits it with the checkpoint after its last event; returns that position. */
  private async processBatch(store: ViewStore, cache: RowCache, events: readonly StoredEvent[], parked: Set<string>): Promise<Position> {
    const batch = this.openBatch(store, cache);
    await this.applyEvents(batch, events, parked);
    let next = this.position;
    for (const stored of events) next = this.order.after(next, stored.position);
    return this.commitBatch(store, batch, next);
  }

  /** A batch in the making: its transaction and the dead letters, parked events and audit records it collects. */
  private openBatch(store: ViewStore, cache: RowCache): PendingBatch {
    const tx = new BatchTransaction(store, this.layout, cache);
    return { tx, view: tx.view(), deadLetters: [], parkedEvents: [], audit: [] };
  }

  /** Applies events to a batch, in order, without committing. */
  private async applyEvents(batch: PendingBatch, events: readonly StoredEvent[], parked: Set<string>): Promise<void> {
    const { tx, view, deadLetters, parkedEvents, audit } = batch;
    for (const stored of events) {
      let event: EventEnvelope;
      try {
        event = this.catalog.upcast(stored.event);
      } catch (error) {
        this.poison(stored.position, stored.event, error, 1, parked, deadLetters, audit);
        continue;
      }
      const handler = this.handlers[event.type];
      if (!handler) continue;
      if (parked.has(event.subject)) {
        parkedEvents.push({ position: stored.position, event });
        audit.push({ at: new Date().toISOString(), position: stored.position, action: 'parked', detail: `key ${event.subject} is parked behind a dead letter` });
        continue;
      }
      // The first try inline: the common case, success, then costs no extra promise per event.
      tx.beginEvent();
      try {
        const result = this.kind === 'reactor' ? handler(event, { idempotencyKey: event.id, position: stored.position }) : handler(event, view, { position: stored.position });
        if (result instanceof Promise) await result;
        tx.commitEvent();
        continue;
      } catch (error) {
        tx.rollbackEvent();
        if (!this.isRetryable(error) || this.retry.attempts <= 1 || this.stopping) {
          this.poison(stored.position, event, error, 1, parked, deadLetters, audit);
          continue;
        }
        await sleep(backoffMs(1, this.retry));
      }
      const outcome = await this.apply(handler, event, stored.position, tx, view, 2);
      if (!outcome.ok) this.poison(stored.position, event, outcome.error, outcome.attempts, parked, deadLetters, audit);
    }
  }

  /** Commits a batch with the checkpoint `next`; returns `next`. */
  private async commitBatch(store: ViewStore, batch: PendingBatch, next: Position): Promise<Position> {
    const { tx, deadLetters, parkedEvents, audit } = batch;
    await this.commit(store, { rows: tx.changes(), deadLetters: { add: deadLetters }, parked: { add: parkedEvents }, audit }, next);
    tx.committed();
    return next;
  }

  /** Runs a handler with retries; its writes are kept only when it succeeds. */
  private async apply(handler: Handler, event: EventEnvelope, position: Position, tx: BatchTransaction, view: Record<string, unknown>, firstAttempt = 1): Promise<{ ok: true } | { ok: false; error: unknown; attempts: number }> {
    for (let attempt = firstAttempt; ; attempt++) {
      tx.beginEvent();
      try {
        // Awaited only when the handler returned a promise: most projection handlers are synchronous writes.
        const result = this.kind === 'reactor' ? handler(event, { idempotencyKey: event.id, position }) : handler(event, view, { position });
        if (result instanceof Promise) await result;
        tx.commitEvent();
        return applied;
      } catch (error) {
        tx.rollbackEvent();
        if (!this.isRetryable(error) || attempt >= this.retry.attempts || this.stopping) return { ok: false, error, attempts: attempt };
        await sleep(backoffMs(attempt, this.retry));
      }
    }
  }

  private poison(position: Position, event: EventEnvelope, error: unknown, attempts: number, parked: Set<string>, deadLetters: DeadLetter[], audit: DeadLetterAudit[]): void {
    const mode = this.options.onPoison === 'skip' ? 'skipped' : 'parked';
    const at = new Date().toISOString();
    deadLetters.push({ position, event, error: describeError(error), attempts, at, mode });
    audit.push({ at, position, action: 'dead-lettered', detail: `${describeError(error).message} (after ${attempts} attempt(s); key ${event.subject} ${mode})` });
    if (mode === 'parked') parked.add(event.subject);
  }

  /** Commits, retrying a failing store a few times: a batch is only lost to the view if the store stays down. */
  private async commit(store: ViewStore, changes: ViewChanges, next: Position): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await store.commit(changes, { position: next, version: this.version });
        return;
      } catch (error) {
        const policy = this.options.storeRetry ?? { attempts: 5, initialDelayMs: 20 };
        if (isUnilogError(error, 'InvalidArgument') || attempt >= (policy.attempts ?? 5)) throw error;
        await sleep(backoffMs(attempt, policy));
      }
    }
  }

  // ---- dead letters ----------------------------------------------------------------------------------------------

  private async retryDeadLetter(position: Position, drop: boolean): Promise<RetryResult> {
    const store = this.store as ViewStore;
    const letter = (await store.deadLetters()).find((d) => d.position === position);
    if (!letter) throw new UnilogError('DeadLetterNotFound', `Consumer ${this.name} has no dead letter at position ${position}: list them (deadLetters.list(), unilog dlq list or GET /consumers/{name}/dead-letters).`, { consumer: this.name, position });
    const checkpoint = await store.checkpoint();
    const tx = new BatchTransaction(store, this.layout, this.cache);
    const view = tx.view();
    const at = new Date().toISOString();
    const audit: DeadLetterAudit[] = [];
    if (!drop) {
      const handler = this.handlers[letter.event.type];
      const outcome = handler ? await this.apply(handler, letter.event, position, tx, view) : ({ ok: true } as const);
      if (!outcome.ok) {
        const error = describeError(outcome.error);
        await store.commit(
          { rows: [], deadLetters: { add: [{ ...letter, error, attempts: letter.attempts + outcome.attempts, at }] }, audit: [{ at, position, action: 'retried', detail: `failed again: ${error.message}` }] },
          checkpoint ?? { position: this.position, version: this.version },
        );
        return { applied: false, released: 0, error: error.message };
      }
    }
    audit.push({ at, position, action: drop ? 'dropped' : 'retried', detail: drop ? 'dropped by request' : 'applied' });
    const removeParked: Position[] = [];
    const newLetters: DeadLetter[] = [];
    let released = 0;
    let stillParked = false;
    if (letter.mode === 'parked') {
      for (const waiting of await store.parked(letter.event.subject)) {
        const handler = this.handlers[waiting.event.type];
        removeParked.push(waiting.position);
        const outcome = handler ? await this.apply(handler, waiting.event, waiting.position, tx, view) : ({ ok: true } as const);
        if (!outcome.ok) {
          // The next poison of the same key: it becomes the dead letter the rest now wait behind.
          newLetters.push({ position: waiting.position, event: waiting.event, error: describeError(outcome.error), attempts: outcome.attempts, at, mode: 'parked' });
          audit.push({ at, position: waiting.position, action: 'dead-lettered', detail: describeError(outcome.error).message });
          stillParked = true;
          break;
        }
        released++;
        audit.push({ at, position: waiting.position, action: 'released', detail: `applied after dead letter ${position}` });
      }
    }
    await store.commit(
      { rows: tx.changes(), deadLetters: { remove: [position], add: newLetters }, parked: { remove: removeParked }, audit },
      checkpoint ?? { position: this.position, version: this.version },
    );
    tx.committed();
    if (!stillParked) this.parkedKeys.delete(letter.event.subject);
    return { applied: !drop, released };
  }

  // ---- rebuild -----------------------------------------------------------------------------------------------------

  async rebuild(options: { onProgress?: (progress: RebuildProgress) => void } = {}): Promise<{ events: number; seconds: number }> {
    if (this.kind === 'reactor') {
      throw new UnilogError('InvalidArgument', `${this.name} is a reactor: reactors have side effects and are never replayed or rebuilt.`, { argument: 'rebuild', reason: 'reactor' });
    }
    return this.rebuildCopy(options.onProgress ?? this.options.onProgress);
  }

  /**
   * Fills a fresh copy from the start of the log while the current copy serves reads (and, when running, keeps
   * following the log), then pauses the live processing, catches the copy up to the head, and switches.
   */
  private async rebuildCopy(onProgress?: (progress: RebuildProgress) => void): Promise<{ events: number; seconds: number }> {
    const { storage, log } = this.options;
    const started = performance.now();
    const copy = this.newCopyName();
    const fresh = await storage.open(this.name, copy, this.layout);
    const parked = new Set<string>();
    const cache = new RowCache();
    const total = this.order.count(this.order.start, await log.head()) ?? 0;
    const previousState = this.state;
    if (this.state === 'running' || this.state === 'starting') this.state = 'rebuilding';
    let position = this.order.start;
    let done = 0;
    // An object, not a let: it is set inside the switch-over closure.
    const progress = { switched: false };
    const report = () => {
      const seconds = (performance.now() - started) / 1000;
      const rate = seconds > 0 ? done / seconds : 0;
      onProgress?.({ consumer: this.name, done, total, eventsPerSecond: Math.round(rate), etaSeconds: rate > 0 ? Math.max(0, (total - done) / rate) : 0 });
    };
    // Pages are read small and committed large: a big commit is cheap per event, but holding a big page of parsed
    // events until it commits makes them survive into the old generation, which costs far more in garbage collection.
    const catchUp = async () => {
      let batch = this.openBatch(fresh, cache);
      let applied = 0;
      let next = position;
      const pageSize = Math.min(1000, this.rebuildBatchSize);
      // The next page is read while this one is applied, so the disk and the handlers work at the same time.
      let reading = log.read({ from: position, limit: pageSize });
      for (;;) {
        const page = await reading;
        if (page.events.length > 0) {
          reading = log.read({ from: page.next, limit: pageSize });
          await this.applyEvents(batch, page.events, parked);
          applied += page.events.length;
          done += page.events.length;
          next = page.next;
        }
        if (applied > 0 && (applied >= this.rebuildBatchSize || page.events.length === 0)) {
          position = await this.commitBatch(fresh, batch, next);
          batch = this.openBatch(fresh, cache);
          applied = 0;
          report();
        }
        if (page.events.length === 0) return;
      }
    };
    try {
      await catchUp();
      const switchOver = async () => {
        const live = this.subscription !== undefined;
        if (live) await this.unfollow();
        await catchUp();
        const oldCopy = await storage.current(this.name);
        await storage.setCurrent(this.name, copy);
        progress.switched = true;
        const old = this.store;
        const serving = old !== undefined;
        this.store = serving ? fresh : undefined;
        this.copy = copy;
        this.parkedKeys = parked;
        this.cache = cache;
        this.position = position;
        if (live) this.follow();
        this.resolveWaiters();
        // Reads that already hold the old store finish first: close and drop it on a later turn.
        const retire = async () => {
          await old?.close();
          if (!serving) await fresh.close();
          if (oldCopy !== undefined && oldCopy !== copy) await storage.drop(this.name, oldCopy);
        };
        await new Promise<void>((resolve, reject) => setImmediate(() => void retire().then(resolve, reject)));
      };
      if (previousState === 'running') await this.exclusive(switchOver);
      else await switchOver();
    } catch (error) {
      // Before the switch the fresh copy is waste; after it, it is the view, and only retiring the old one failed.
      if (!progress.switched) {
        await fresh.close();
        await storage.drop(this.name, copy);
      }
      throw error;
    } finally {
      if (this.state === 'rebuilding') this.state = previousState === 'starting' ? 'starting' : 'running';
    }
    report();
    return { events: done, seconds: (performance.now() - started) / 1000 };
  }

  // ---- reads and waiting --------------------------------------------------------------------------------------------

  private currentStore(): Promise<ViewStore> {
    if (this.store) return Promise.resolve(this.store);
    return Promise.reject(new UnilogError('ConsumerStopped', `Consumer ${this.name} is not running: start it to read its view.`, { consumer: this.name }));
  }

  private reader(): Record<string, unknown> {
    const view: Record<string, unknown> = {};
    for (const table of Object.keys(this.layout)) {
      view[table] = {
        get: async (key: string): Promise<Row | undefined> => (await this.currentStore()).get(table, key),
        query: async (field: string, value: string | number | boolean, options: { limit?: number } = {}): Promise<Row[]> =>
          (await this.currentStore()).query(table, { index: field, value, ...(options.limit === undefined ? {} : { limit: options.limit }) }),
        scan: async (options: { after?: string; limit?: number } = {}): Promise<Row[]> => (await this.currentStore()).scan(table, options),
      };
    }
    return view;
  }

  /** The checkpoint of the copy that serves reads, for a consumer that is not running; undefined before the first. */
  private async storedPosition(): Promise<Position | undefined> {
    const { storage } = this.options;
    const copy = await storage.current(this.name);
    if (copy === undefined) return undefined;
    const store = await storage.open(this.name, copy, this.layout);
    try {
      const checkpoint = await store.checkpoint();
      return checkpoint?.position;
    } finally {
      await store.close();
    }
  }

  async status(): Promise<ConsumerStatus> {
    const { log } = this.options;
    if (this.store === undefined) this.position = (await this.storedPosition()) ?? this.position;
    const head = await log.head();
    let lagEvents = 0;
    let lagMs = 0;
    if (!this.order.reached(this.position, head)) {
      const counted = this.order.count(this.position, head);
      const unprocessed = (await log.read({ from: this.position, limit: counted === undefined ? 1000 : 1 })).events;
      lagEvents = counted ?? unprocessed.length;
      const oldest = unprocessed[0];
      if (oldest) lagMs = Math.max(0, Date.now() - Date.parse(oldest.event.time));
    }
    const deadLetters = (await this.deadLetters.list()).length;
    return {
      name: this.name,
      kind: this.kind,
      version: this.version,
      state: this.state,
      position: this.position,
      lagEvents,
      lagMs,
      deadLetters,
      ...(this.failure === undefined ? {} : { error: describeError(this.failure).message }),
    };
  }

  waitFor(position: Position, options: { timeoutMs?: number } = {}): Promise<void> {
    let target: Position;
    try {
      target = this.order.after(this.order.start, position);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    return this.waitUntil(target, position, options);
  }

  catchUp(head: Position, options: { timeoutMs?: number } = {}): Promise<void> {
    try {
      this.order.reached(this.order.start, head);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    return this.waitUntil(head, head, options);
  }

  /** Resolves once the checkpoint reaches `target`; `position` is what the caller asked for, for the messages. */
  private waitUntil(target: Position, position: Position, options: { timeoutMs?: number }): Promise<void> {
    if (this.order.reached(this.position, target)) return Promise.resolve();
    if (this.state === 'failed' || this.state === 'stopped') {
      return Promise.reject(new UnilogError('ConsumerStopped', `Consumer ${this.name} is ${this.state}: it will not reach position ${position}.`, { consumer: this.name }));
    }
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        target,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error: unknown) => {
          clearTimeout(timer);
          reject(asError(error));
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new UnilogError('WaitTimedOut', `Consumer ${this.name} did not process position ${position} within ${timeoutMs} ms (it is at ${this.position}).`, { consumer: this.name, position, processed: this.position, timeoutMs }));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private resolveWaiters(): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (this.order.reached(this.position, waiter.target)) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }

  private rejectWaiters(error: unknown): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }
}

async function parkedSubjects(store: ViewStore): Promise<Set<string>> {
  return new Set((await store.deadLetters()).filter((d) => d.mode === 'parked').map((d) => d.event.subject));
}

/** Errors pass unchanged; anything else thrown becomes an Error saying what it was. */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(`non-Error thrown: ${String(error)}`);
}

function describeError(error: unknown): DeadLetter['error'] {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { message: error.message, name: error.name, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { message: String(error), name: 'NonError' };
}
