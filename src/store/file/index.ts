import { createCatalog, type EventCatalog } from '../../events/catalog.ts';
import type { AnyEventDefinition } from '../../events/defineEvent.ts';
import type { EventLog } from '../../log/eventLog.ts';
import { syncRunReader } from '../../log/file/fileEventLog.ts';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { isUnilogError } from '../../errors.ts';
import { createEmbeddedEventStore, indexAheadOfLog } from '../embedded/embeddedEventStore.ts';
import { openSqliteStreamIndex } from '../embedded/sqliteStreamIndex.ts';
import type { EventStore } from '../eventStore.ts';

/** Options of {@link openFileEventStore}. */
export interface FileEventStoreOptions<TDefs extends AnyEventDefinition> {
  /** The file log the streams' events are appended to (the unified log). */
  readonly log: EventLog;
  readonly catalog: EventCatalog<TDefs> | readonly TDefs[];
  /** Where the stream index lives (`streams.sqlite`); deleting it is safe, it is rebuilt from the log. */
  readonly dir: string;
  /** The producer stamped as the events' source. @default "event-store" */
  readonly source?: string;
}

/**
 * A durable event store on the file log: streams' events are log events (with `streamid`, `streamversion`); a
 * SQLite stream index makes `readStream` cost the stream's length and is caught up from the log on open.
 * @example
 * const store = await openFileEventStore({ log, catalog: [ItemAdded], dir: '.unilog/store' });
 * await store.appendToStream('cart-c1', [{ type: 'cart.item-added', data }], { expectedVersion: 'no_stream' });
 */
export async function openFileEventStore<const TDefs extends AnyEventDefinition>(options: FileEventStoreOptions<TDefs>): Promise<EventStore<TDefs>> {
  const catalog = 'upcast' in options.catalog ? options.catalog : createCatalog(options.catalog);
  const open = async () => {
    const index = openSqliteStreamIndex(options.dir);
    try {
      const readRun = syncRunReader(options.log);
      return await createEmbeddedEventStore({ log: options.log, catalog, source: options.source ?? 'event-store', index, ...(readRun ? { readRun } : {}) });
    } catch (error) {
      index.close();
      throw error;
    }
  };
  try {
    return await open();
  } catch (error) {
    // The index is derived from the log: one ahead of it (a log restored from an older copy) is rebuilt, not trusted.
    if (!(isUnilogError(error, 'LogCorrupted') && error.details.reason === indexAheadOfLog)) throw error;
    for (const file of ['streams.sqlite', 'streams.sqlite-wal', 'streams.sqlite-shm']) rmSync(path.join(options.dir, file), { force: true });
    return open();
  }
}
