// What the Hello Retail demo runs on. The demo's code (pages, projections, workflow, intake) is the same on both
// backends; only this file knows whether the log is a folder or a Kinesis stream.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { openLocalBlobStore } from '../../src/blobs/local/index.ts';
import { openSqliteTimerStore } from '../../src/consumers/timers/index.ts';
import { createCatalog, isUnilogError, openFileEventLog, openFileEventStore, openSqliteViewStorage, type BlobStore, type Consumer, type EventLog, type EventStore, type TimerStore, type ViewStorage } from '../../src/index.ts';
import { createEventLogService, createKey, createKeyVerifier, type EventLogService, type KeyScopes } from '../../src/service/index.ts';
import { helloRetailEvents } from '../events.ts';
import type { HelloRetailEvent } from './context.ts';

/** An event store of the demo: every Hello Retail event type, appending to the demo's log. */
export type HelloRetailStore = EventStore<HelloRetailEvent>;

/** The demo's storage and log, embedded or on AWS. */
export interface DemoBackend {
  readonly kind: 'embedded' | 'aws';
  /** Where the backend keeps its data, for the start banner. */
  readonly describe: string;
  readonly log: EventLog;
  /** The views of the projections and the workflow's checkpoint. */
  readonly storage: ViewStorage;
  readonly timers: TimerStore;
  readonly blobs: BlobStore;
  /** An event store whose appends reach the log (before the append resolves) with `source` as producer. */
  openStore(name: string, source: string): Promise<HelloRetailStore>;
  /** The event-log API over this log, reporting `consumers`, with the operator's key (read and admin scopes). */
  openService(consumers: ReadonlyMap<string, Consumer>, logger: Logger): Promise<{ readonly service: EventLogService; readonly apiKey: string }>;
  /** Closes what the backend opened, last opened first. */
  close(): Promise<void>;
}

/** The file the demo's API key is kept in (the key store itself holds only hashes). */
export const demoKeyFile = 'demo-api-key.txt';

/** Collects close functions and runs them last-in first-out; every one runs even when one fails. */
export function closerList(logger: Logger): { push(close: () => Promise<unknown>): void; closeAll(): Promise<void> } {
  const closers: (() => Promise<unknown>)[] = [];
  return {
    push: (close) => {
      closers.push(close);
    },
    async closeAll() {
      for (const close of closers.splice(0).reverse()) {
        try {
          await close();
        } catch (error) {
          logger.error({ err: error }, 'closing the demo failed');
        }
      }
    },
  };
}

/** The embedded backend: everything in the data folder `dir` (log, views, stores, timers, blobs, keys). */
export async function openEmbeddedBackend(dir: string, logger: Logger): Promise<DemoBackend> {
  const closers = closerList(logger);
  try {
    const log = await openFileEventLog({ dir: path.join(dir, 'log') });
    closers.push(() => log.close());
    const catalog = createCatalog(helloRetailEvents);
    const timers = await openSqliteTimerStore({ dir: path.join(dir, 'timers') });
    closers.push(() => timers.close());
    const blobs = await openLocalBlobStore({ dir: path.join(dir, 'blobs') });
    closers.push(() => blobs.close());
    return {
      kind: 'embedded',
      describe: `data folder ${dir}`,
      log,
      storage: openSqliteViewStorage({ dir: path.join(dir, 'views') }),
      timers,
      blobs,
      async openStore(name, source) {
        // Each store has its own stream index; their streams are disjoint.
        const store = await openFileEventStore({ log, catalog, dir: path.join(dir, 'store', name), source });
        closers.push(() => store.close());
        return store;
      },
      async openService(consumers, serviceLogger) {
        const apiKey = rememberedKey(dir, (key) => {
          try {
            createKeyVerifier(dir).verify(`Bearer ${key}`);
            return Promise.resolve(true);
          } catch (error) {
            if (!isUnilogError(error, 'Unauthorized')) throw error;
            return Promise.resolve(false);
          }
        }, () => Promise.resolve(createKey(dir, operatorScopes).key));
        const service = await createEventLogService({ log, catalog, dir, keys: createKeyVerifier(dir), consumers, logger: serviceLogger });
        closers.push(() => service.close());
        return { service, apiKey: await apiKey };
      },
      close: () => closers.closeAll(),
    };
  } catch (error) {
    await closers.closeAll();
    throw error;
  }
}

/** The operator's key: reads and operates consumers, publishes nothing. */
export const operatorScopes: KeyScopes = { producer: 'demo-operator', types: [], read: true, admin: true };

/**
 * The operator key kept in plain text in `dir` (created on the first start), checked against the key store on every
 * start: a revoked or foreign key is replaced.
 */
export async function rememberedKey(dir: string, isValid: (key: string) => Promise<boolean>, create: () => Promise<string>, file = demoKeyFile): Promise<string> {
  const keyFile = path.join(dir, file);
  if (existsSync(keyFile)) {
    const key = readFileSync(keyFile, 'utf8').trim();
    if (await isValid(key)) return key;
  }
  const key = await create();
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  return key;
}
