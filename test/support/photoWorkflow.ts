// A photo workflow on memory backends with a manual clock and the SMS simulator, plus the publishers the other
// Hello Retail services would use, for the workflow tests.
import { createManualClock, createMemoryEventLog, createMemoryEventStore, createMemoryTimerStore, createMemoryViewStorage, createPublisher, type EventLog, type EventStore, type ManualClock, type TimerStore, type ViewStorage } from '../../src/index.ts';
import { helloRetailEvents } from '../../sample-app/events.ts';
import { createSimulatorSmsGateway, type SimulatorSmsGateway } from '../../sample-app/sms/simulator/index.ts';
import type { SmsGateway } from '../../sample-app/sms/smsGateway.ts';
import { createPhotoWorkflow, type HelloRetailEvent, type PhotoWorkflow, type PhotoWorkflowOptions } from '../../sample-app/workflow/photoWorkflow.ts';

export const minute = 60_000;

/** Three photographers, registered in this order. */
export const ann = { photographerId: 'ann', name: 'Ann', phone: '+14155550101' };
export const bob = { photographerId: 'bob', name: 'Bob', phone: '+14155550102' };
export const cyd = { photographerId: 'cyd', name: 'Cyd', phone: '+14155550103' };

export interface Harness {
  readonly log: EventLog;
  readonly store: EventStore<HelloRetailEvent>;
  readonly storage: ViewStorage;
  readonly timerStore: TimerStore;
  readonly clock: ManualClock;
  readonly sms: SimulatorSmsGateway;
  readonly workflow: PhotoWorkflow;
  /** Publishes as the merchant, registration, webhook and image services would. */
  createProduct(id: string, name?: string): Promise<void>;
  register(photographer: { photographerId: string; name: string; phone: string }): Promise<void>;
  photoFrom(productId: string, photographerId: string): Promise<void>;
  /** Moves the clock, fires due timers, and waits for the workflow to settle; resolves with how many fired. */
  advance(ms: number): Promise<number>;
  /** The data of every event of `type` in the log, in order. */
  events(type: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** Starts a workflow on memory backends (or the given ones); every helper waits until the workflow settled. */
export async function startHarness(options: Partial<Pick<PhotoWorkflowOptions, 'deadlineMs' | 'maxAttempts' | 'name' | 'onTextFailed'>> & { gateway?: SmsGateway; log?: EventLog; store?: EventStore<HelloRetailEvent>; timerStore?: TimerStore; clock?: ManualClock } = {}): Promise<Harness> {
  const log = options.log ?? createMemoryEventLog();
  const store = options.store ?? (await createMemoryEventStore({ log, catalog: helloRetailEvents, source: 'photo-workflow' }));
  const storage = createMemoryViewStorage();
  const timerStore = options.timerStore ?? createMemoryTimerStore();
  const clock = options.clock ?? createManualClock();
  const sms = createSimulatorSmsGateway({ now: () => clock.now() });
  const workflow = createPhotoWorkflow({
    log,
    store,
    storage,
    timers: timerStore,
    sms: options.gateway ?? sms,
    clock,
    ...(options.onTextFailed === undefined ? {} : { onTextFailed: options.onTextFailed }),
    ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...(options.name === undefined ? {} : { name: options.name }),
  });
  await workflow.start();
  const services = createPublisher({ log, catalog: helloRetailEvents, source: 'test-services' });
  const settle = () => workflow.settle({ timeoutMs: 5000 });
  return {
    log,
    store,
    storage,
    timerStore,
    clock,
    sms,
    workflow,
    async createProduct(id, name = `Product ${id}`) {
      await services.publish('product.created', { id, brand: 'Nordwest', name, description: '', category: 'shoes', priceCents: 100, merchantId: 'm-1', merchantName: 'Nordwest Outfitters' });
      await settle();
    },
    async register(photographer) {
      await services.publish('photographer.registered', photographer);
      await settle();
    },
    async photoFrom(productId, photographerId) {
      await services.publish('photo.received', { productId, photographerId, messageId: `mms-${productId}-${photographerId}`, contentType: 'image/jpeg' });
      await settle();
    },
    async advance(ms) {
      clock.advance(ms);
      const fired = await workflow.timers.fireDue();
      await settle();
      return fired;
    },
    async events(type) {
      const { events } = await log.read({ limit: 100_000 });
      return events.filter((e) => e.event.type === type).map((e) => e.event.data as Record<string, unknown>);
    },
    async close() {
      await workflow.stop();
      if (!options.store) await store.close();
      if (!options.log) await log.close();
    },
  };
}
