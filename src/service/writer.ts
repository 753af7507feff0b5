import { UnilogError, isUnilogError } from '../errors.ts';
import type { EventEnvelope } from '../events/envelope.ts';
import { markJsonChecked } from '../events/jsonValue.ts';
import type { EventLog, Position } from '../log/eventLog.ts';
import { idKey, type ClientId, type IdIndex } from './idIndex.ts';

/** The outcome of one request's events, in request order. */
export interface WriteResult {
  readonly positions: readonly string[];
  /** True where a client id had already been appended: the position is the original one. */
  readonly duplicates: readonly boolean[];
}

/** Queues requests' events and appends them in groups: one append (one disk write) for all that arrived meanwhile. */
export interface Writer {
  /** Appends a request's validated events atomically, or finds them appended already; throws `Overloaded` when full. */
  write(events: readonly EventEnvelope[], clientIds: readonly boolean[]): Promise<WriteResult>;
  /** Events waiting to be appended. */
  queued(): number;
  /** Waits for queued writes to finish. */
  drain(): Promise<void>;
}

/** Errors that belong to one event rather than to the log: a group that fails with one is retried request by request. */
const perEventCodes = new Set(['EventTooLarge', 'EventNotSerializable', 'InvalidPartitionKey']);

export interface WriterOptions {
  readonly log: EventLog;
  readonly ids: IdIndex;
  /** Past this many queued events, requests get 429. */
  readonly maxQueuedEvents: number;
  /** Called with each group's size and append time, for metrics. */
  readonly onAppend?: (events: number, seconds: number) => void;
  /** Called when recording or releasing client ids failed: the request's answer stands, but a repeat may append its events again. */
  readonly onIndexError: (error: unknown) => void;
}

/** One request's new events, waiting for the group append. */
interface QueuedAppend {
  readonly events: readonly EventEnvelope[];
  resolve(positions: readonly Position[]): void;
  reject(error: unknown): void;
}

/** Where each event of a request gets its position. */
type Slot = { readonly kind: 'fresh'; readonly index: number } | { readonly kind: 'known'; readonly position: Position } | { readonly kind: 'same'; readonly as: number };

/** A client id this request claimed: settled with its position once appended (undefined when the append failed). */
interface OwnClaim {
  readonly key: string;
  readonly event: number;
  readonly done: Promise<Position | undefined>;
  settle(position: Position | undefined): void;
}

/**
 * A writer that groups concurrent requests into single appends and answers repeated client ids from the index.
 * Client ids are claimed before the append and recorded after it; within the process a repeat of an id in flight
 * waits for that append, and across processes the index's claim decides (see {@link IdIndex}).
 */
export function createWriter(options: WriterOptions): Writer {
  const { log, ids, maxQueuedEvents } = options;
  let queue: QueuedAppend[] = [];
  let queuedEvents = 0;
  let running: Promise<void> | undefined;
  const active = new Set<Promise<unknown>>();
  /** Client ids a request of this process is appending: their position, or undefined when that append failed. */
  const inFlight = new Map<string, Promise<Position | undefined>>();

  const run = async () => {
    while (queue.length > 0) {
      const group = queue;
      queue = [];
      let count = 0;
      for (const request of group) count += request.events.length;
      queuedEvents -= count;
      await appendGroup(group);
    }
    running = undefined;
  };

  const appendGroup = async (group: readonly QueuedAppend[]) => {
    let positions: readonly string[];
    try {
      positions = await timedAppend(group.flatMap((request) => request.events));
    } catch (error) {
      if (group.length > 1 && isUnilogError(error) && perEventCodes.has(error.code)) {
        // One request's event broke the group: append each request alone, so only that one fails.
        for (const request of group) await appendGroup([request]);
        return;
      }
      for (const request of group) request.reject(error);
      return;
    }
    let at = 0;
    for (const request of group) {
      request.resolve(positions.slice(at, at + request.events.length));
      at += request.events.length;
    }
  };

  const timedAppend = async (events: EventEnvelope[]): Promise<readonly string[]> => {
    const started = performance.now();
    // Every event was checked by the publisher's prepare: the log need not walk the data again.
    markJsonChecked(events);
    const { positions } = await log.append(events);
    options.onAppend?.(events.length, (performance.now() - started) / 1000);
    return positions;
  };

  /** Queues events for the next group append (synchronously: the caller's order is the log's). */
  const append = (events: readonly EventEnvelope[]): Promise<readonly Position[]> =>
    new Promise((resolve, reject) => {
      queue.push({ events, resolve, reject });
      running ??= run();
    });

  /**
   * Decides, for each distinct client id of a request, whether it was appended before (its position) or is this
   * request's to append (claimed). It never holds a claim while it waits, so two requests cannot wait for each other.
   */
  const resolveIds = async (events: readonly EventEnvelope[], distinct: readonly (readonly [string, number])[], known: Map<number, Position>): Promise<OwnClaim[]> => {
    let open = distinct;
    for (;;) {
      const busy = open.filter(([key]) => inFlight.has(key));
      if (busy.length > 0) {
        const outcomes = await Promise.all(busy.map(([key]) => inFlight.get(key) ?? Promise.resolve(undefined)));
        busy.forEach(([, event], i) => {
          const position = outcomes[i];
          if (position !== undefined) known.set(event, position);
        });
        // Ids whose other append failed are claimed again; look again, as others may have registered meanwhile.
        open = open.filter(([, event]) => !known.has(event));
        continue;
      }
      if (open.length === 0) return [];
      // None in flight: register every id now (synchronously, so no other request of this process claims it too), then claim.
      const own = open.map(([key, event]): OwnClaim => {
        let settle: (position: Position | undefined) => void = () => undefined;
        const done = new Promise<Position | undefined>((resolve) => (settle = resolve));
        inFlight.set(key, done);
        return { key, event, done, settle };
      });
      let claims;
      try {
        claims = await ids.claim(own.map((claim) => clientIdOf(events[claim.event] as EventEnvelope)));
      } catch (error) {
        settleClaims(own, undefined);
        throw error;
      }
      const mine: OwnClaim[] = [];
      own.forEach((claim, i) => {
        const answer = claims[i];
        if (answer === undefined || answer.claimed) {
          mine.push(claim);
        } else {
          known.set(claim.event, answer.position);
          settleClaims([claim], answer.position);
        }
      });
      return mine;
    }
  };

  const settleClaims = (claims: readonly OwnClaim[], position: Position | undefined | ((claim: OwnClaim) => Position)) => {
    for (const claim of claims) {
      if (inFlight.get(claim.key) === claim.done) inFlight.delete(claim.key);
      claim.settle(typeof position === 'function' ? position(claim) : position);
    }
  };

  const settle = async (events: readonly EventEnvelope[], clientIds: readonly boolean[]): Promise<WriteResult> => {
    // A client id named twice in one request is new the first time and a duplicate after.
    const first = new Map<string, number>();
    const same = new Map<number, number>();
    events.forEach((event, i) => {
      if (clientIds[i] !== true) return;
      const key = idKey(clientIdOf(event));
      const earlier = first.get(key);
      if (earlier === undefined) first.set(key, i);
      else same.set(i, earlier);
    });
    const known = new Map<number, Position>();
    let mine: OwnClaim[] = [];
    if (first.size > 0) {
      try {
        mine = await resolveIds(events, [...first], known);
      } catch (error) {
        queuedEvents -= events.length;
        throw error;
      }
    }
    const slots: Slot[] = [];
    const fresh: EventEnvelope[] = [];
    events.forEach((event, i) => {
      const position = known.get(i);
      const as = same.get(i);
      if (position !== undefined) slots.push({ kind: 'known', position });
      else if (as !== undefined) slots.push({ kind: 'same', as });
      else slots.push({ kind: 'fresh', index: fresh.push(event) - 1 });
    });
    // The reservation made in write() covers only the events that will be appended.
    queuedEvents -= events.length - fresh.length;
    let positions: readonly Position[] = [];
    let recordFailure: { readonly error: unknown } | undefined;
    if (fresh.length > 0) {
      try {
        positions = await append(fresh);
      } catch (error) {
        settleClaims(mine, undefined);
        try {
          await ids.release(mine.map((claim) => clientIdOf(events[claim.event] as EventEnvelope)));
        } catch (releaseError) {
          // The append's error is the request's answer; a claim not given back only delays a retry (until it times out).
          options.onIndexError(releaseError);
        }
        throw error;
      }
      const claimedEvents = new Set(mine.map((claim) => claim.event));
      const appended = slots.flatMap((slot, i) => {
        if (slot.kind !== 'fresh') return [];
        const event = events[i] as EventEnvelope;
        return [{ source: event.source, id: event.id, position: positions[slot.index] as Position, claimed: claimedEvents.has(i) }];
      });
      try {
        await ids.record(appended);
      } catch (error) {
        recordFailure = { error };
      }
    }
    const positionOf = (slot: Slot): Position => (slot.kind === 'known' ? slot.position : slot.kind === 'fresh' ? (positions[slot.index] as Position) : positionOf(slots[slot.as] as Slot));
    settleClaims(mine, (claim) => positionOf(slots[claim.event] as Slot));
    // The events are durable in the log, so the request succeeded; the index only lost the chance to answer repeats.
    if (recordFailure) options.onIndexError(recordFailure.error);
    return { positions: slots.map(positionOf), duplicates: slots.map((slot) => slot.kind !== 'fresh') };
  };

  return {
    write(events, clientIds) {
      if (queuedEvents + events.length > maxQueuedEvents && queuedEvents > 0) {
        return Promise.reject(
          new UnilogError('Overloaded', `The write queue is full (${queuedEvents} events waiting): retry after a second.`, { queued: queuedEvents, limit: maxQueuedEvents, retryAfterSeconds: 1 }),
        );
      }
      queuedEvents += events.length;
      const result = settle(events, clientIds);
      active.add(result);
      const forget = () => active.delete(result);
      result.then(forget, forget);
      return result;
    },
    queued: () => queuedEvents,
    async drain() {
      while (active.size > 0) await Promise.allSettled([...active]);
      while (running) await running;
    },
  };
}

function clientIdOf(event: EventEnvelope): ClientId {
  return { source: event.source, id: event.id };
}
