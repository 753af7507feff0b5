import type { OpenAPIHono } from '@hono/zod-openapi';
import pino, { type Logger } from 'pino';
import type { Consumer } from '../consumers/consumer.ts';
import { isUnilogError } from '../errors.ts';
import type { EventCatalog } from '../events/catalog.ts';
import type { EventLog } from '../log/eventLog.ts';
import { createServiceApp, type ServiceEnv } from './app.ts';
import { openIdIndex } from './idIndex.ts';
import type { KeyVerifier } from './keys.ts';
import { createServiceMetrics } from './metrics.ts';
import { createWriter, type Writer } from './writer.ts';

/** Options of {@link createEventLogService}. */
export interface EventLogServiceOptions {
  readonly log: EventLog;
  readonly catalog: EventCatalog;
  /** The data folder of the id index (`service/ids.sqlite`), which answers repeated client ids. */
  readonly dir: string;
  /** Checks API keys, or `insecure`. */
  readonly keys: KeyVerifier | 'insecure';
  /** Consumers whose status, rebuild and dead letters the API exposes (started and stopped by the caller). @default none */
  readonly consumers?: ReadonlyMap<string, Consumer>;
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
  const ids = await openIdIndex(options.dir, log);
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
      ids.close();
    },
  };
}
