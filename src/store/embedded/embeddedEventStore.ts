import { UnilogError, isUnilogError } from '../../errors.ts';
import type { EventCatalog } from '../../events/catalog.ts';
import type { AnyEventDefinition } from '../../events/defineEvent.ts';
import type { EventEnvelope } from '../../events/envelope.ts';
import { markJsonChecked } from '../../events/jsonValue.ts';
import { createPublisher } from '../../events/publisher.ts';
import type { EventLog, StoredEvent as LogEvent } from '../../log/eventLog.ts';
import type { AggregateOptions, AppendToStreamResult, EventStore, ExpectedVersion, StreamEnvelope, StreamEvent, StreamEventInput } from '../eventStore.ts';
import type { IndexedRun, StreamIndex } from './streamIndex.ts';
import { checkStreamId, meetsExpectedVersion, prepareStreamAppend } from '../streamChecks.ts';

/** Options of {@link createEmbeddedEventStore}. */
export interface EmbeddedEventStoreOptions<TDefs extends AnyEventDefinition> {
  /** The unified log the streams' events are appended to (one total order). */
  readonly log: EventLog;
  readonly catalog: EventCatalog<TDefs>;
  /** The producer stamped as the events' `source`. */
  readonly source: string;
  readonly index: StreamIndex;
  /**
   * Reads `count` events of the log from `position` without waiting, when the log can (the file log); returns
   * undefined when it cannot now. A stream's events are runs scattered over the log, so its reads are many and short.
   * @default every run is read with `log.read`
   */
  readonly readRun?: (position: number, count: number) => readonly LogEvent[] | undefined;
}

interface PendingAppend<TDefs extends AnyEventDefinition> {
  readonly streamId: string;
  /** The caller's events, to build the envelopes again if they were let go and the append must be retried. */
  readonly events: readonly StreamEventInput<TDefs>[];
  /**
   * Its envelopes until the log has taken them: the log keeps them encoded, so they are let go then, and many
   * appends in flight do not keep every event alive twice (it shortens the garbage collector's work).
   */
  envelopes: EventEnvelope[] | undefined;
  readonly count: number;
  readonly expected: ExpectedVersion;
  resolve(result: AppendToStreamResult): void;
  reject(error: unknown): void;
}

/** One log append of the store. The embedded logs number an append's events when it is made, so the order appends are made in is their position order. */
interface Submission {
  settled: boolean;
  /** The log position after its events; -1 when it failed. */
  next: number;
}

/** The versions of one stream wanted from one run: `count` events from `first`, at log position `position` on. */
interface Slice {
  readonly first: number;
  readonly count: number;
  readonly position: number;
  /** The slice's events, when the index keeps them. */
  readonly events?: readonly EventEnvelope[];
}

/** Errors of one event rather than of the log: a group failing with one is appended request by request. */
const perEventCodes = new Set(['EventTooLarge', 'EventNotSerializable', 'InvalidPartitionKey']);
/** At most this many log reads of one `readStream` are in flight at once. */
const readsInFlight = 64;

/**
 * An event store over an embedded log and a stream index. Each stream has at most one log append in flight: appends
 * that arrive for it meanwhile are checked against its version (in order) when that one is durable, and go out as
 * the next append. Appends to different streams go to the log as they come, so the log's group commit writes many
 * of them at once while the next ones are prepared, and the disk wait overlaps the work of the next group.
 * Expected versions are checked exactly: a stream's version changes only through its one append in flight.
 */
export async function createEmbeddedEventStore<TDefs extends AnyEventDefinition>(options: EmbeddedEventStoreOptions<TDefs>): Promise<EventStore<TDefs>> {
  const { log, catalog, index } = options;
  const publisher = createPublisher({ log, catalog, source: options.source });
  await catchUp(log, index);
  /** Streams with an append in flight, each with the appends that arrived for it since. */
  const busy = new Map<string, PendingAppend<TDefs>[]>();
  /** Log appends not yet settled, in the order they were made (from `head` on), for the index's checkpoint. */
  let order: Submission[] = [];
  let head = 0;
  let inFlight = 0;
  let whenIdle: (() => void) | undefined;
  let closed = false;
  /** Set when the index could not record a durable append: its versions may be behind the log, so appends stop. */
  let indexFailure: UnilogError<'LogWriteFailed'> | undefined;
  /** Index work after the log made an append durable: a failure stops later appends, never this one's caller. */
  const afterDurable = (work: () => void) => {
    if (indexFailure) return;
    try {
      work();
    } catch (error) {
      indexFailure = new UnilogError('LogWriteFailed', `The stream index could not record appends that are in the log (${error instanceof Error ? error.message : String(error)}): the store takes no more appends. Close it and open it again: the index catches up from the log.`, { dir: 'streams.sqlite' });
    }
  };

  /** Marks a log append settled and moves the checkpoint past every settled append before the first unsettled one. */
  const settle = (submission: Submission, next: number) => {
    submission.settled = true;
    submission.next = next;
    let advanced = -1;
    while (head < order.length && (order[head] as Submission).settled) advanced = Math.max(advanced, (order[head++] as Submission).next);
    // Appends are always in flight under load: drop the settled ones from time to time, not only when all are.
    if (head === order.length || (head >= 1024 && head * 2 >= order.length)) {
      order = order.slice(head);
      head = 0;
    }
    if (advanced >= 0) afterDurable(() => {
      index.advance(advanced);
    });
  };

  /** Checks the stream's appends in order and writes those that pass in one log append; settles every one. */
  const appendRequests = async (streamId: string, requests: readonly PendingAppend<TDefs>[]): Promise<void> => {
    if (indexFailure) throw indexFailure;
    let version = index.version(streamId);
    const accepted: PendingAppend<TDefs>[] = [];
    const refused: { request: PendingAppend<TDefs>; error: UnilogError<'ConcurrencyConflict'> }[] = [];
    for (const request of requests) {
      if (!request.envelopes) {
        // Let go after an append the log refused for one bad event: built again (new ids; nothing was written).
        try {
          request.envelopes = prepareStreamAppend(publisher, streamId, request.events, request.expected).envelopes;
        } catch (error) {
          request.reject(error);
          continue;
        }
      }
      if (!meetsExpectedVersion(request.expected, version)) {
        const error = new UnilogError('ConcurrencyConflict', `Stream ${streamId} is at version ${version}, not ${String(request.expected)}: load it again and retry the command.`, {
          streamId,
          expected: request.expected,
          actual: version,
        });
        refused.push({ request, error });
        continue;
      }
      // The envelopes are the store's own (built by prepare for this append): stamped in place, not copied.
      for (const envelope of request.envelopes) {
        envelope.streamid = streamId;
        envelope.streamversion = ++version;
      }
      accepted.push(request);
    }
    // A refusal counts only once the appends before it are durable: were they to fail, it is checked again.
    const refuse = () => {
      for (const { request, error } of refused) request.reject(error);
    };
    if (accepted.length === 0) {
      refuse();
      return;
    }
    let envelopes = accepted.length === 1 ? ((accepted[0] as PendingAppend<TDefs>).envelopes as EventEnvelope[]) : accepted.flatMap((request) => request.envelopes as EventEnvelope[]);
    const count = envelopes.length;
    const first = version - count + 1;
    const submission: Submission = { settled: false, next: -1 };
    order.push(submission);
    let positions: readonly string[];
    try {
      // Every envelope was checked by the publisher's prepare: the log need not walk the data again.
      markJsonChecked(envelopes);
      const appended = log.append(envelopes);
      if (count > index.keepsEvents) {
        for (const request of accepted) request.envelopes = undefined;
        envelopes = [];
      }
      positions = (await appended).positions;
    } catch (error) {
      settle(submission, -1);
      if (requests.length > 1 && isUnilogError(error) && perEventCodes.has(error.code)) {
        // Each append again on its own, in order, checked against what is durable: only the bad one fails.
        for (const request of requests) await appendRequests(streamId, [request]);
        return;
      }
      for (const request of accepted) request.reject(error);
      refuse();
      return;
    }
    const durable = positions;
    afterDurable(() => {
      index.record(runsOf(streamId, first, durable, count <= index.keepsEvents ? envelopes : undefined));
    });
    settle(submission, Number(positions[positions.length - 1]) + 1);
    refuse();
    if (accepted.length === 1) {
      (accepted[0] as PendingAppend<TDefs>).resolve({ nextExpectedVersion: version, positions });
      return;
    }
    let from = 0;
    for (const request of accepted) {
      request.resolve({ nextExpectedVersion: first + from + request.count - 1, positions: positions.slice(from, from + request.count) });
      from += request.count;
    }
  };

  /** Appends the stream's requests, then those that arrived meanwhile, until none is left. */
  const drain = async (streamId: string, requests: PendingAppend<TDefs>[]): Promise<void> => {
    inFlight++;
    try {
      for (let next = requests; next.length > 0; ) {
        try {
          await appendRequests(streamId, next);
        } catch (error) {
          // Not expected (appendRequests settles every request): never leave a caller waiting.
          for (const request of next) request.reject(error);
        }
        next = busy.get(streamId) ?? [];
        busy.set(streamId, []);
      }
    } finally {
      busy.delete(streamId);
      inFlight--;
      if (inFlight === 0) whenIdle?.();
    }
  };

  /** Adds the events the log returned for a slice (from its next version on) to `out`, checking them against the index. */
  const take = (streamId: string, slice: Slice, events: readonly LogEvent[], out: StreamEvent<StreamEnvelope<TDefs>>[]) => {
    for (const { position, event } of events) {
      const version = slice.first + out.length;
      if (event.streamid !== streamId || event.streamversion !== version) throw indexMismatch(streamId, version, position, `the log has ${event.streamid ?? 'no stream'} version ${String(event.streamversion)} there`);
      out.push({ position, streamVersion: version, event: catalog.upcast(event) as StreamEnvelope<TDefs> });
      if (out.length === slice.count) break;
    }
  };

  /** Reads a slice of a stream with `log.read`. */
  const readSlice = async (streamId: string, slice: Slice): Promise<StreamEvent<StreamEnvelope<TDefs>>[]> => {
    const out: StreamEvent<StreamEnvelope<TDefs>>[] = [];
    let from = String(slice.position);
    while (out.length < slice.count) {
      const page = await log.read({ from, limit: slice.count - out.length });
      if (page.events.length === 0) throw indexMismatch(streamId, slice.first + out.length, from, 'the log ends before it');
      take(streamId, slice, page.events, out);
      from = page.next;
    }
    return out;
  };

  const readStream = async (streamId: string, from: number | undefined, direction: 'forward' | 'backward', limit: number) => {
    const version = index.version(streamId);
    const low = direction === 'forward' ? Math.max(1, from ?? 1) : 1;
    const high = direction === 'forward' ? version : Math.min(version, from ?? version);
    const slices: Slice[] = [];
    if (low <= high) {
      let left = limit;
      for (const run of index.runs(streamId, low, high, direction, limit)) {
        const a = Math.max(run.first, low);
        const b = Math.min(run.last, high);
        if (a > b) continue;
        const count = Math.min(b - a + 1, left);
        const first = direction === 'forward' ? a : b - count + 1;
        const skip = first - run.first;
        slices.push({ first, count, position: run.position + skip, ...(run.events ? { events: run.events.slice(skip, skip + count) } : {}) });
        left -= count;
        if (left === 0) break;
      }
    }
    // Slices the log can hand over now are read in place; the others (another log, or a log behind its writer)
    // with `log.read`, a few at a time.
    const parts: (StreamEvent<StreamEnvelope<TDefs>>[] | undefined)[] = slices.map((slice) => {
      if (slice.events) return slice.events.map((event, i) => ({ position: String(slice.position + i), streamVersion: slice.first + i, event: catalog.upcast(event) as StreamEnvelope<TDefs> }));
      const now = options.readRun?.(slice.position, slice.count);
      if (now?.length !== slice.count) return undefined;
      const out: StreamEvent<StreamEnvelope<TDefs>>[] = [];
      take(streamId, slice, now, out);
      return out;
    });
    const later = slices.flatMap((_, i) => (parts[i] ? [] : [i]));
    for (let k = 0; k < later.length; k += readsInFlight) {
      await Promise.all(later.slice(k, k + readsInFlight).map(async (i) => (parts[i] = await readSlice(streamId, slices[i] as Slice))));
    }
    const events: StreamEvent<StreamEnvelope<TDefs>>[] = [];
    for (const part of parts as StreamEvent<StreamEnvelope<TDefs>>[][]) {
      if (direction === 'forward') for (const event of part) events.push(event);
      else for (let i = part.length - 1; i >= 0; i--) events.push(part[i] as StreamEvent<StreamEnvelope<TDefs>>);
    }
    return { version, events };
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
          const request: PendingAppend<TDefs> = { streamId, events, envelopes, count: envelopes.length, expected, resolve, reject };
          const waiting = busy.get(streamId);
          if (waiting) {
            waiting.push(request);
          } else {
            busy.set(streamId, []);
            void drain(streamId, [request]);
          }
        });
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },
    async readStream(streamId, readOptions = {}) {
      assertOpen();
      checkStreamId(streamId);
      const limit = readOptions.limit ?? Number.MAX_SAFE_INTEGER;
      if (!Number.isSafeInteger(limit) || limit < 1) throw new UnilogError('InvalidArgument', `limit must be a whole number of 1 or more, not ${String(readOptions.limit)}.`, { argument: 'limit', reason: 'invalid' });
      if (readOptions.from !== undefined && (!Number.isSafeInteger(readOptions.from) || readOptions.from < 0)) {
        throw new UnilogError('InvalidArgument', `from must be a stream version (0 or more), not ${String(readOptions.from)}.`, { argument: 'from', reason: 'invalid' });
      }
      return readStream(streamId, readOptions.from, readOptions.direction ?? 'forward', limit);
    },
    async aggregateStream<TState>(streamId: string, aggregate: AggregateOptions<TState, StreamEnvelope<TDefs>>) {
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
      const { version, events } = await readStream(streamId, from, 'forward', Number.MAX_SAFE_INTEGER);
      for (const { event } of events) state = aggregate.evolve(state, event);
      if (snapshots && version - (from - 1) >= snapshots.every) index.saveSnapshot(streamId, { version, tag: snapshots.version, state: structuredClone(state) });
      return { state, version };
    },
    async close() {
      if (closed) return;
      closed = true;
      if (inFlight > 0) await new Promise<void>((resolve) => (whenIdle = resolve));
      index.close();
    },
  };
}

/** The runs of one append: its positions are consecutive in the embedded logs, but this does not rely on it. */
function runsOf(stream: string, first: number, positions: readonly string[], events: readonly EventEnvelope[] | undefined): IndexedRun[] {
  const start = Number(positions[0]);
  if (Number(positions[positions.length - 1]) - start === positions.length - 1) return [{ stream, first, last: first + positions.length - 1, position: start, ...(events ? { events } : {}) }];
  return positions.map((position, i) => ({ stream, first: first + i, last: first + i, position: Number(position), ...(events ? { events: events.slice(i, i + 1) } : {}) }));
}

/** The index points at a log position that does not hold the stream event it expects: the index belongs to another log. */
function indexMismatch(streamId: string, version: number, position: string, what: string): UnilogError<'LogCorrupted'> {
  return new UnilogError('LogCorrupted', `The stream index says ${streamId} version ${version} is at log position ${position}, but ${what}: the index does not belong to this log. Close the store, delete its index (streams.sqlite) and open it again to rebuild it from the log.`, {
    segment: 'streams.sqlite',
    offset: Number(position),
    reason: `stream index mismatch for ${streamId} version ${version}`,
  });
}

/** The `reason` of the `LogCorrupted` an index ahead of its log gives: `openFileEventStore` rebuilds the index then. */
export const indexAheadOfLog = 'stream index ahead of the log';

/** Brings the index up to the log's head: stream events appended after its checkpoint (a crash, a deleted index). */
async function catchUp(log: EventLog, index: StreamIndex): Promise<void> {
  const head = Number(await log.head());
  if (index.checkpoint() > head) {
    // The log is shorter than what the index recorded: it was restored from an older copy or repaired past events.
    throw new UnilogError('LogCorrupted', `The stream index has recorded the log up to position ${index.checkpoint()}, but the log ends at ${head}: the log was restored or repaired. Close the store, delete its index (streams.sqlite) and open it again to rebuild it from the log.`, {
      segment: 'streams.sqlite',
      offset: index.checkpoint(),
      reason: indexAheadOfLog,
    });
  }
  for (let from = index.checkpoint(); from < head; ) {
    const page = await log.read({ from: String(from), limit: 5000 });
    if (page.events.length === 0) break;
    // Events of one stream next to each other in the log, at consecutive versions, make one run.
    const runs: IndexedRun[] = [];
    let run: { stream: string; first: number; last: number; position: number; events: EventEnvelope[] } | undefined;
    for (const { position, event } of page.events) {
      const { streamid, streamversion } = event;
      if (streamid === undefined || streamversion === undefined) continue;
      const at = Number(position);
      if (run && run.stream === streamid && streamversion === run.last + 1 && at === run.position + (run.last - run.first) + 1) {
        run.last = streamversion;
        run.events.push(event);
        continue;
      }
      if (run) runs.push(run);
      run = { stream: streamid, first: streamversion, last: streamversion, position: at, events: [event] };
    }
    if (run) runs.push(run);
    index.record(runs);
    from = Number(page.next);
    index.advance(from);
  }
}
