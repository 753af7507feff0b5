import type { OpenAPIHono } from '@hono/zod-openapi';
import pino, { type Logger } from 'pino';
import type { Consumer } from '../consumers/consumer.ts';
import { UnilogError, isUnilogError } from '../errors.ts';
import type { EventCatalog } from '../events/catalog.ts';
import type { EventLog } from '../log/eventLog.ts';
import { createServiceApp, type ServiceEnv } from './app.ts';
import type { IdIndex } from './idIndex.ts';
import type { KeyVerifier } from './keys.ts';
import { createServiceMetrics } from './metrics.ts';
import { openSqliteIdIndex } from './sqlite/sqliteIdIndex.ts';
import { createWriter, type Writer } from './writer.ts';

/** Options of {@link createEventLogService}. */
export interface EventLogServiceOptions {
  readonly log: EventLog;
  readonly catalog: EventCatalog;
  /** The data folder of the default id index (`service/ids.sqlite`); needed unless `ids` is given. */
  readonly dir?: string;
  /** The index that answers repeated client ids; the service closes it. @default the SQLite index in `dir` */
  readonly ids?: IdIndex;
  /** Checks API keys (the data folder's `createKeyVerifier`, or a DynamoDB key store), or `insecure`. */
  readonly keys: KeyVerifier | 'insecure';
  /** Consumers whose status, rebuild and dead letters the API exposes (started and stopped by the caller). @default none */
  readonly consumers?: ReadonlyMap<string, Consumer>;
  /** When consumers run elsewhere (separate workers): why, for the 404 the consumer routes then answer with. */
  readonly consumersElsewhere?: string;
  readonly logger?: Logger;
  /** @default 20000 */
  readonly maxQueuedEvents?: number;
  /** The log's largest event in bytes of JSON. @default 1048576 */
  readonly maxEventBytes?: number;
}

/** The service's app and what it holds open. */
export interface EventLogService {
  readonly app: OpenAPIHono<ServiceEnv>;
  /** Finishes queued writes and closes the id index (not the log or the consumers: the caller owns those). */
  close(): Promise<void>;
}

/** Builds the service over a log: the app for Node (`startService`) or Lambda (`createLambdaHandler`). */
export async function createEventLogService(options: EventLogServiceOptions): Promise<EventLogService> {
  const { log } = options;
  const consumers = options.consumers ?? new Map<string, Consumer>();
  const ids = options.ids ?? (await openSqliteIdIndex(requireDir(options.dir), log));
  const metrics = createServiceMetrics(consumers);
  let writeFailure: string | undefined;
  const logger = options.logger ?? pino({ name: 'unilog' });
  const writer = createWriter({
    log,
    ids,
    maxQueuedEvents: options.maxQueuedEvents ?? 20_000,
    onAppend: (events, seconds) => {
      metrics.appended(events, seconds);
    },
    onIndexError: (error) => {
      logger.error({ err: error }, 'recording or releasing client ids failed: a repeat of these ids may append their events again');
    },
  });
  const watched: Writer = {
    ...writer,
    write: (events, clientIds) =>
      writer.write(events, clientIds).catch((error: unknown) => {
        // The log stops accepting appends after a failed write: health says so until it is reopened.
        if (isUnilogError(error, 'LogWriteFailed')) {
          writeFailure = error.message;
          logger.error({ err: error }, 'writing to the log failed');
        }
        throw error;
      }),
  };
  const app = createServiceApp({
    log,
    catalog: options.catalog,
    keys: options.keys,
    writer: watched,
    consumers,
    ...(options.consumersElsewhere === undefined ? {} : { consumersElsewhere: options.consumersElsewhere }),
    metrics,
    logger,
    maxEventBytes: options.maxEventBytes ?? 1024 * 1024,
    health: async () => {
      const head = await log.head();
      // The failure's message names the data folder: the service's log has it, /health (no key) only says what failed.
      return writeFailure === undefined ? { ok: true, head } : { ok: false, head, reason: 'a write to the log failed; the log accepts no more appends until the service restarts' };
    },
  });
  return {
    app,
    async close() {
      await writer.drain();
      await ids.close();
    },
  };
}

function requireDir(dir: string | undefined): string {
  if (dir === undefined) throw new UnilogError('InvalidArgument', 'createEventLogService needs dir (the data folder of its id index) or ids (an id index).', { argument: 'dir', reason: 'missing' });
  return dir;
}
