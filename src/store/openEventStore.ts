import path from 'node:path';
import type { UnilogConfig } from '../config/defineConfig.ts';
import type { AnyEventDefinition } from '../events/defineEvent.ts';
import { openFileEventLog, type FileEventLog } from '../log/file/fileEventLog.ts';
import type { EventStore } from './eventStore.ts';
import { openFileEventStore } from './file/index.ts';

/**
 * Opens the event store a config describes, with its log: the file log in `<dir>/log` and the stream index in
 * `<dir>/store`, where `dir` is the option, else the config's `backend.dir`, else `.unilog`.
 * @example
 * const { store, close } = await openEventStore(config);
 */
export async function openEventStore<TDefs extends AnyEventDefinition>(config: UnilogConfig<TDefs>, options: { readonly dir?: string } = {}): Promise<{ readonly store: EventStore<TDefs>; readonly log: FileEventLog; close(): Promise<void> }> {
  const dir = path.resolve(options.dir ?? config.backend.dir ?? '.unilog');
  const { segmentBytes, maxEventBytes } = config.backend;
  const log = await openFileEventLog({ dir: path.join(dir, 'log'), ...(segmentBytes === undefined ? {} : { segmentBytes }), ...(maxEventBytes === undefined ? {} : { maxEventBytes }) });
  try {
    const store = await openFileEventStore({ log, catalog: config.events, dir: path.join(dir, 'store'), ...(config.store.source === undefined ? {} : { source: config.store.source }) });
    return {
      store,
      log,
      async close() {
        await store.close();
        await log.close();
      },
    };
  } catch (error) {
    await log.close();
    throw error;
  }
}
