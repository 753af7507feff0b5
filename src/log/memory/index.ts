import { UnilogError } from '../../errors.ts';
import type { EventEnvelope } from '../../events/envelope.ts';
import { defaultMaxEventBytes, serializeEvents } from '../embedded/encode.ts';
import { formatSequence, parseLimit, parseSequence, totalOrderPositions } from '../embedded/positions.ts';
import { AppendSignal, startSubscription } from '../embedded/subscription.ts';
import type { EventLog, StoredEvent, Subscription } from '../eventLog.ts';

/** Options of {@link createMemoryEventLog}. */
export interface MemoryEventLogOptions {
  /** The largest serialized event accepted, in bytes. @default 1048576 (1 MiB) */
  readonly maxEventBytes?: number;
}

/**
 * An event log held in memory: for tests and short-lived tools; nothing survives the process.
 * @example
 * const log = createMemoryEventLog();
 */
export function createMemoryEventLog(options: MemoryEventLogOptions = {}): EventLog {
  const maxEventBytes = options.maxEventBytes ?? defaultMaxEventBytes;
  const events: StoredEvent[] = [];
  const appended = new AppendSignal();
  const subscriptions = new Set<Subscription>();
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new UnilogError('LogClosed', 'The event log is closed: open a new one.', {});
  };

  const log: EventLog = {
    capabilities: { ordering: 'total', positions: totalOrderPositions },
    // eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw becomes a rejection
    async append(batch) {
      assertOpen();
      const json = serializeEvents(batch, maxEventBytes);
      const positions = json.map((text) => {
        const position = formatSequence(events.length);
        // A parsed copy: later changes to the caller's objects must not change the log.
        events.push({ position, event: JSON.parse(text) as EventEnvelope });
        return position;
      });
      if (positions.length > 0) appended.notify();
      return { positions };
    },
    // eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw becomes a rejection
    async read(readOptions = {}) {
      assertOpen();
      const from = parseSequence(readOptions.from);
      const limit = parseLimit(readOptions.limit);
      const page = events.slice(from, from + limit);
      return { events: page, next: formatSequence(from + page.length) };
    },
    subscribe(subscribeOptions) {
      assertOpen();
      const start = formatSequence(parseSequence(subscribeOptions.from));
      const subscription = startSubscription(subscribeOptions, {
        read: (o) => log.read(o),
        waitForAppend: (position, signal) => (parseSequence(position) < events.length ? Promise.resolve() : appended.wait(signal)),
        after: (position) => formatSequence(parseSequence(position) + 1),
        onEnd: (s) => subscriptions.delete(s),
      }, start);
      subscriptions.add(subscription);
      return subscription;
    },
    head() {
      return closed ? Promise.reject(new UnilogError('LogClosed', 'The event log is closed: open a new one.', {})) : Promise.resolve(formatSequence(events.length));
    },
    async close() {
      if (closed) return;
      await Promise.all([...subscriptions].map((s) => s.stop()));
      closed = true;
    },
  };
  return log;
}
