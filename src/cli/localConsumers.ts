import path from 'node:path';
import type { UnilogConfig } from '../config/defineConfig.ts';
import { createConsumer, type Consumer } from '../consumers/consumer.ts';
import type { AnyReactor } from '../consumers/defineReactor.ts';
import { UnilogError, isUnilogError } from '../errors.ts';
import { createCatalog } from '../events/catalog.ts';
import { openFileEventLog, type FileEventLog } from '../log/file/fileEventLog.ts';
import type { AnyProjection } from '../views/defineProjection.ts';
import { openSqliteViewStorage } from '../views/sqlite/index.ts';
import { dataDir, logDir, type GlobalOptions } from './context.ts';

/** The config's consumers on the data folder, not started: what `status`, `rebuild` and `dlq` work on without a service. */
export interface LocalConsumers {
  readonly log: FileEventLog;
  readonly consumers: ReadonlyMap<string, Consumer>;
  /** The consumer called `name`, or `ConsumerNotFound`. */
  get(name: string): Consumer;
  close(): Promise<void>;
}

/**
 * Opens the data folder's log and views. `exclusive` takes the log's writer lock, so that no service changes the
 * views meanwhile (rebuild, dead letters); without it the log is opened read-only (status).
 */
export async function openLocalConsumers(options: GlobalOptions, config: UnilogConfig, exclusive: boolean): Promise<LocalConsumers> {
  const dir = dataDir(options, config);
  let log: FileEventLog;
  try {
    log = await openFileEventLog({ dir: logDir(dir), readOnly: !exclusive });
  } catch (error) {
    if (isUnilogError(error, 'LogLocked')) {
      throw new UnilogError('LogLocked', `A service (pid ${error.details.pid}) is running on ${dir}: run this command through it with --url URL --api-key KEY.`, error.details, { cause: error });
    }
    throw error;
  }
  const storage = openSqliteViewStorage({ dir: path.join(dir, 'views') });
  const catalog = createCatalog(config.events);
  const consumers = new Map<string, Consumer>();
  for (const definition of config.projections as readonly (AnyProjection | AnyReactor)[]) {
    const consumerOptions = { log, storage, catalog };
    consumers.set(definition.name, definition.kind === 'projection' ? (createConsumer(definition, consumerOptions) as Consumer) : createConsumer(definition, consumerOptions));
  }
  return {
    log,
    consumers,
    get(name) {
      const consumer = consumers.get(name);
      if (!consumer) throw new UnilogError('ConsumerNotFound', `No consumer ${JSON.stringify(name)} in the config: it has ${[...consumers.keys()].join(', ') || '(none)'}.`, { consumer: name, known: [...consumers.keys()] });
      return consumer;
    },
    close: () => log.close(),
  };
}
