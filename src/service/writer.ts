import { UnilogError, isUnilogError } from '../errors.ts';
import type { EventEnvelope } from '../events/envelope.ts';
import { markJsonChecked } from '../events/jsonValue.ts';
import type { EventLog } from '../log/eventLog.ts';
import type { IdIndex } from './idIndex.ts';

/** The outcome of one request's events, in request order. */
export interface WriteResult {
  readonly positions: readonly string[];
  /** True where a client id had already been appended: the position is the original one. */
  readonly duplicates: readonly boolean[];
}

interface WriteRequest {
  readonly events: readonly EventEnvelope[];
  /** True where the client chose the id: only those can repeat. */
  readonly clientIds: readonly boolean[];
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
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
}

/** A writer that groups concurrent requests into single appends and answers repeated client ids from the index. */
export function createWriter(options: WriterOptions): Writer {
  const { log, ids, maxQueuedEvents } = options;
  let queue: WriteRequest[] = [];
  let queuedEvents = 0;
  let running: Promise<void> | undefined;

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

  const appendGroup = async (group: WriteRequest[]) => {
    // Which events are new: a client id seen before (in the index or earlier in this group) answers with its position.
    const fresh: EventEnvelope[] = [];
    const plans: { readonly request: WriteRequest; readonly slots: number[] }[] = [];
    const inGroup = new Map<string, number>();
    const known: string[] = [];
    for (const request of group) {
      const slots: number[] = [];
      for (let i = 0; i < request.events.length; i++) {
        const event = request.events[i] as EventEnvelope;
        if (request.clientIds[i] === true) {
          const key = `${event.source}\n${event.id}`;
          const earlier = inGroup.get(key);
          if (earlier !== undefined) {
            slots.push(earlier);
            continue;
          }
          const stored = ids.lookup(event.source, event.id);
          if (stored !== undefined) {
            // Negative slots point into `known`: positions appended before this group.
            known.push(String(stored));
            slots.push(-known.length);
            continue;
          }
          inGroup.set(key, fresh.length);
        }
        slots.push(fresh.length);
        fresh.push(event);
      }
      plans.push({ request, slots });
    }
    let positions: readonly string[] = [];
    if (fresh.length > 0) {
      try {
        positions = await timedAppend(fresh);
      } catch (error) {
        if (group.length > 1 && isUnilogError(error) && perEventCodes.has(error.code)) {
          // One request's event broke the group: append each request alone, so only that one fails.
          for (const request of group) await appendGroup([request]);
          return;
        }
        for (const { request } of plans) request.reject(error);
        return;
      }
      ids.record(fresh, positions.map(Number));
    }
    // A fresh event named twice in the group (the same client id) is new the first time, a duplicate after.
    const answered = new Set<number>();
    for (const { request, slots } of plans) {
      const out: string[] = [];
      const duplicates: boolean[] = [];
      for (const slot of slots) {
        if (slot < 0) {
          out.push(known[-slot - 1] as string);
          duplicates.push(true);
        } else {
          out.push(positions[slot] as string);
          duplicates.push(answered.has(slot));
          answered.add(slot);
        }
      }
      request.resolve({ positions: out, duplicates });
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

  return {
    write(events, clientIds) {
      if (queuedEvents + events.length > maxQueuedEvents && queuedEvents > 0) {
        return Promise.reject(
          new UnilogError('Overloaded', `The write queue is full (${queuedEvents} events waiting): retry after a second.`, { queued: queuedEvents, limit: maxQueuedEvents, retryAfterSeconds: 1 }),
        );
      }
      return new Promise<WriteResult>((resolve, reject) => {
        queue.push({ events, clientIds, resolve, reject });
        queuedEvents += events.length;
        running ??= run();
      });
    },
    queued: () => queuedEvents,
    async drain() {
      while (running) await running;
    },
  };
}
