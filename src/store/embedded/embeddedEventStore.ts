import { UnilogError, isUnilogError } from '../../errors.ts';
import type { EventCatalog } from '../../events/catalog.ts';
import type { AnyEventDefinition } from '../../events/defineEvent.ts';
import type { EventEnvelope } from '../../events/envelope.ts';
import { markJsonChecked } from '../../events/jsonValue.ts';
import { createPublisher } from '../../events/publisher.ts';
import type { EventLog } from '../../log/eventLog.ts';
import type { AggregateOptions, AppendToStreamResult, EventStore, ExpectedVersion, StreamEnvelope, StreamEvent } from '../eventStore.ts';
import type { IndexedEvent, StreamIndex } from './streamIndex.ts';
import { checkStreamId, meetsExpectedVersion, prepareStreamAppend } from '../streamChecks.ts';

/** Options of {@link createEmbeddedEventStore}. */
export interface EmbeddedEventStoreOptions<TDefs extends AnyEventDefinition> {
  /** The unified log the streams' events are appended to (one total order). */
  readonly log: EventLog;
  readonly catalog: EventCatalog<TDefs>;
  /** The producer stamped as the events' `source`. */
  readonly source: string;
  readonly index: StreamIndex;
}

interface PendingAppend {
  readonly streamId: string;
  readonly envelopes: EventEnvelope[];
  readonly expected: ExpectedVersion;
  resolve(result: AppendToStreamResult): void;
  reject(error: unknown): void;
}

/** Errors of one event rather than of the log: a group failing with one is appended request by request. */
const perEventCodes = new Set(['EventTooLarge', 'EventNotSerializable', 'InvalidPartitionKey']);




/**
 * An event store over an embedded log and a stream index. Appends are grouped: every append that arrives while one
 * is being written is checked against the stream versions (in order) and written in one log append, so version
 * checks and appends are atomic and many writers share one disk write.
 */
export async function createEmbeddedEventStore<TDefs extends AnyEventDefinition>(options: EmbeddedEventStoreOptions<TDefs>): Promise<EventStore<TDefs>> {
  const { log, catalog, index } = options;
  const publisher = createPublisher({ log, catalog, source: options.source });
  await catchUp(log, index);
  let queue: PendingAppend[] = [];
  let running: Promise<void> | undefined;
  let closed = false;

  const run = async () => {
    while (queue.length > 0) {
      const group = queue;
      queue = [];
      await appendGroup(group);
    }
    running = undefined;
  };

  const appendGroup = async (group: readonly PendingAppend[]) => {
    // Versions as this group leaves them: a later append in the group sees the earlier ones.
    const versions = new Map<string, number>();
    const accepted: { request: PendingAppend; first: number; from: number }[] = [];
    const envelopes: EventEnvelope[] = [];
    for (const request of group) {
      const actual = versions.get(request.streamId) ?? index.version(request.streamId);
      if (!meetsExpectedVersion(request.expected, actual)) {
        request.reject(
          new UnilogError('ConcurrencyConflict', `Stream ${request.streamId} is at version ${actual}, not ${String(request.expected)}: load it again and retry the command.`, {
            streamId: request.streamId,
            expected: request.expected,
            actual,
          }),
        );
        continue;
      }
      accepted.push({ request, first: actual + 1, from: envelopes.length });
      request.envelopes.forEach((envelope, i) => {
        envelopes.push({ ...envelope, streamid: request.streamId, streamversion: actual + 1 + i });
      });
      versions.set(request.streamId, actual + request.envelopes.length);
    }
    if (envelopes.length === 0) return;
    let positions: readonly string[];
    try {
      // Every envelope was checked by the publisher's prepare: the log need not walk the data again.
      markJsonChecked(envelopes);
      positions = (await log.append(envelopes)).positions;
    } catch (error) {
      if (accepted.length > 1 && isUnilogError(error) && perEventCodes.has(error.code)) {
        for (const { request } of accepted) await appendGroup([request]);
        return;
      }
      for (const { request } of accepted) request.reject(error);
      return;
    }
    const indexed: IndexedEvent[] = envelopes.map((event, i) => ({ stream: event.streamid as string, version: event.streamversion as number, position: Number(positions[i]), event }));
    index.record(indexed, Number(positions[positions.length - 1]) + 1);
    for (const { request, first, from } of accepted) {
      request.resolve({ nextExpectedVersion: first + request.envelopes.length - 1, positions: positions.slice(from, from + request.envelopes.length) });
    }
  };

  const readStream = (streamId: string, from: number | undefined, direction: 'forward' | 'backward', limit: number) => {
    const version = index.version(streamId);
    const start = from ?? (direction === 'forward' ? 1 : version);
    const events = direction === 'forward' ? index.read(streamId, start, version, 'forward', limit) : index.read(streamId, 1, start, 'backward', limit);
    return {
      version,
      events: events.map((e): StreamEvent<StreamEnvelope<TDefs>> => ({ position: String(e.position), streamVersion: e.version, event: catalog.upcast(e.event) as StreamEnvelope<TDefs> })),
    };
  };

  const assertOpen = () => {
    if (closed) throw new UnilogError('LogClosed', 'The event store is closed: open it again.', {});
  };

  return {
    appendToStream(streamId, events, appendOptions = {}) {
      try {
        assertOpen();
        const { expected, envelopes } = prepareStreamAppend(publisher, streamId, events, appendOptions.expectedVersion);
        return new Promise<AppendToStreamResult>((resolve, reject) => {
          queue.push({ streamId, envelopes, expected, resolve, reject });
          running ??= run();
        });
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },
    readStream(streamId, readOptions = {}) {
      try {
        assertOpen();
        checkStreamId(streamId);
        const limit = readOptions.limit ?? Number.MAX_SAFE_INTEGER;
        if (!Number.isSafeInteger(limit) || limit < 1) throw new UnilogError('InvalidArgument', `limit must be a whole number of 1 or more, not ${String(readOptions.limit)}.`, { argument: 'limit', reason: 'invalid' });
        if (readOptions.from !== undefined && (!Number.isSafeInteger(readOptions.from) || readOptions.from < 0)) {
          throw new UnilogError('InvalidArgument', `from must be a stream version (0 or more), not ${String(readOptions.from)}.`, { argument: 'from', reason: 'invalid' });
        }
        return Promise.resolve(readStream(streamId, readOptions.from, readOptions.direction ?? 'forward', limit));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },
    async aggregateStream<TState>(streamId: string, aggregate: AggregateOptions<TState, StreamEnvelope<TDefs>>) {
      // Async for the port's sake (other adapters read over the network); a closed store rejects rather than throws.
      await Promise.resolve();
      assertOpen();
      checkStreamId(streamId);
      const { snapshots } = aggregate;
      let state = aggregate.initialState();
      let from = 1;
      const snapshot = snapshots ? index.snapshot(streamId) : undefined;
      if (snapshots && snapshot && snapshot.tag === snapshots.version && snapshot.version <= index.version(streamId)) {
        state = structuredClone(snapshot.state) as TState;
        from = snapshot.version + 1;
      }
      const { version, events } = readStream(streamId, from, 'forward', Number.MAX_SAFE_INTEGER);
      for (const { event } of events) state = aggregate.evolve(state, event);
      if (snapshots && version - (from - 1) >= snapshots.every) index.saveSnapshot(streamId, { version, tag: snapshots.version, state: structuredClone(state) });
      return { state, version };
    },
    async close() {
      if (closed) return;
      closed = true;
      while (running) await running;
      index.close();
    },
  };
}

/** Brings the index up to the log's head: stream events appended after its checkpoint (a crash, a deleted index). */
async function catchUp(log: EventLog, index: StreamIndex): Promise<void> {
  const head = Number(await log.head());
  for (let from = index.checkpoint(); from < head; ) {
    const page = await log.read({ from: String(from), limit: 1000 });
    if (page.events.length === 0) break;
    const found: IndexedEvent[] = [];
    for (const { position, event } of page.events) {
      if (event.streamid !== undefined && event.streamversion !== undefined) found.push({ stream: event.streamid, version: event.streamversion, position: Number(position), event });
    }
    from = Number(page.next);
    index.record(found, from);
  }
}
