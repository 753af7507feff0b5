import { createCatalog, type EventCatalog } from '../../events/catalog.ts';
import type { AnyEventDefinition } from '../../events/defineEvent.ts';
import type { EventLog } from '../../log/eventLog.ts';
import { createMemoryEventLog } from '../../log/memory/index.ts';
import { createEmbeddedEventStore } from '../embedded/embeddedEventStore.ts';
import { createMemoryStreamIndex } from '../embedded/streamIndex.ts';
import type { EventStore } from '../eventStore.ts';

/** Options of {@link createMemoryEventStore}. */
export interface MemoryEventStoreOptions<TDefs extends AnyEventDefinition> {
  readonly catalog: EventCatalog<TDefs> | readonly TDefs[];
  /** The producer stamped as the events' source. @default "event-store" */
  readonly source?: string;
  /** The log the events also go to. @default a new memory log */
  readonly log?: EventLog;
}

/** An event store in memory (tests, examples): the same semantics as the file store, nothing durable. */
export async function createMemoryEventStore<const TDefs extends AnyEventDefinition>(options: MemoryEventStoreOptions<TDefs>): Promise<EventStore<TDefs>> {
  const catalog = 'upcast' in options.catalog ? options.catalog : createCatalog(options.catalog);
  return createEmbeddedEventStore({ log: options.log ?? createMemoryEventLog(), catalog, source: options.source ?? 'event-store', index: createMemoryStreamIndex() });
}
