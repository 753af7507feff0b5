import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve } from '@hono/node-server';
import pino, { type Logger } from 'pino';
import type { UnilogConfig } from '../config/defineConfig.ts';
import { createConsumer, type Consumer } from '../consumers/consumer.ts';
import type { AnyReactor } from '../consumers/defineReactor.ts';
import { UnilogError } from '../errors.ts';
import { createCatalog } from '../events/catalog.ts';
import { openFileEventLog } from '../log/file/fileEventLog.ts';
import type { AnyProjection } from '../views/defineProjection.ts';
import { openSqliteViewStorage } from '../views/sqlite/index.ts';
import { createKeyVerifier, keyFile } from './keys.ts';
import { createEventLogService, type EventLogService } from './service.ts';

/** Options of {@link startService}. */
export interface StartServiceOptions {
  /** The data folder: the log in `log/`, keys in `keys.json`, views in `views/`, the id index in `service/`. */
  readonly dir: string;
  readonly config: UnilogConfig;
  /** @default 8080; 0 picks a free port */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** Accept requests without keys (every request may do everything, as producer `insecure`). */
  readonly insecure?: boolean;
  /** JSON-lines logger. @default pino to stderr */
  readonly logger?: Logger;
  /** Past this many events waiting to be appended, POSTs get 429. @default 20000 */
  readonly maxQueuedEvents?: number;
  /** A request (headers and body) that takes longer is cut off with 408. @default 30000 */
  readonly requestTimeoutMs?: number;
}

/** A running service. */
export interface RunningService {
  /** The base URL, such as `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting requests, finishes queued writes, stops consumers and closes the log. */
  close(): Promise<void>;
}

/** Runs the event-log service on a data folder: the HTTP API, the config's projections and reactors, metrics. */
export async function startService(options: StartServiceOptions): Promise<RunningService> {
  const logger = options.logger ?? pino({ name: 'unilog' }, pino.destination(2));
  const { config, dir } = options;
  const keys = createKeyVerifier(dir);
  if (options.insecure === true) {
    logger.warn('running with --insecure: every request may publish any type, read everything and operate consumers, without a key');
  } else if (!keys.hasKeys()) {
    throw new UnilogError('NoApiKeys', `No API keys in ${keyFile(dir)}: create one with unilog keys create --producer NAME --types TYPE,... (or run with --insecure on a trusted machine).`, { dir });
  }
  const catalog = createCatalog(config.events);
  const log = await openFileEventLog({
    dir: path.join(dir, 'log'),
    ...(config.backend.segmentBytes === undefined ? {} : { segmentBytes: config.backend.segmentBytes }),
    ...(config.backend.maxEventBytes === undefined ? {} : { maxEventBytes: config.backend.maxEventBytes }),
  });
  const opened: { close(): unknown }[] = [];
  try {
    const storage = openSqliteViewStorage({ dir: path.join(dir, 'views') });
    const consumers = new Map<string, Consumer>();
    for (const definition of config.projections as readonly (AnyProjection | AnyReactor)[]) {
      const consumerOptions = { log, storage, catalog };
      const consumer: Consumer = definition.kind === 'projection' ? (createConsumer(definition, consumerOptions) as Consumer) : createConsumer(definition, consumerOptions);
      consumers.set(definition.name, consumer);
    }
    const service = await createEventLogService({
      log,
      catalog,
      dir,
      keys: options.insecure === true ? 'insecure' : keys,
      consumers,
      logger,
      ...(options.maxQueuedEvents === undefined ? {} : { maxQueuedEvents: options.maxQueuedEvents }),
      maxEventBytes: config.backend.maxEventBytes ?? 1024 * 1024,
    });
    opened.push(service);
    for (const consumer of consumers.values()) await consumer.start();
    return await listenService(service, {
      ...listenOptionsOf(options),
      logger,
      describe: { dir, consumers: [...consumers.keys()] },
      onClose: async () => {
        for (const consumer of consumers.values()) await consumer.stop();
        await log.close();
      },
    });
  } catch (error) {
    for (const resource of opened) await resource.close();
    await log.close();
    throw error;
  }
}

/** Options of {@link listenService}. */
export interface ListenServiceOptions {
  /** @default 8080; 0 picks a free port */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** A request (headers and body) that takes longer is cut off with 408. @default 30000 */
  readonly requestTimeoutMs?: number;
  readonly logger: Logger;
  /** Logged with "unilog service listening": where the service keeps its data. */
  readonly describe: Record<string, unknown>;
  /** Runs after the HTTP server stopped and queued writes finished: closes what the caller opened (consumers, the log). */
  readonly onClose: () => Promise<void>;
}

/** The listening options of a start options object, without its undefined ones. */
export function listenOptionsOf(options: { readonly port?: number; readonly host?: string; readonly requestTimeoutMs?: number }): Pick<ListenServiceOptions, 'port' | 'host' | 'requestTimeoutMs'> {
  return {
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  };
}

/**
 * Serves a built service over HTTP on Node until `close()`: what `startService` does after opening the data folder,
 * and `startAwsService` (unilog/aws) after connecting to Kinesis and DynamoDB.
 */
export async function listenService(service: EventLogService, options: ListenServiceOptions): Promise<RunningService> {
  const { app } = service;
  const { logger } = options;
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const host = options.host ?? '127.0.0.1';
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        port: options.port ?? 8080,
        hostname: host,
        // A client that never finishes its body is cut off (Node answers 408), and is checked for often enough.
        serverOptions: { requestTimeout, headersTimeout: Math.min(requestTimeout, 60_000), connectionsCheckingInterval: Math.max(100, Math.min(30_000, requestTimeout / 4)), keepAliveTimeout: 65_000 },
      },
      () => { resolve(s); },
    );
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  logger.info({ url, ...options.describe }, 'unilog service listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => { resolve(); });
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
        await service.close();
        await options.onClose();
        logger.info('unilog service stopped');
      })()),
  };
}
