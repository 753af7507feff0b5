import type { Position, ReadResult, SubscribeOptions, Subscription } from '../../log/eventLog.ts';
import { formatCut, parseCut } from './positions.ts';

/** What a polling subscription needs from its log. */
export interface PollingSource {
  /** Reads a page from a cut. */
  read(from: Position, limit: number): Promise<ReadResult>;
  /** Resolves after `ms`, when the log appends, or when `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
  readonly pollIntervalMs: number;
  /** The log's open subscriptions: the new one is added, and removed when it ends. */
  readonly subscriptions: Set<Subscription>;
}

/**
 * A subscription of a per-shard log (the Kinesis log, the archived log): reads pages from its cut and waits when a
 * page is empty. Its position moves past each event as the handler returns, and to the page's `next` (which also
 * records shards read to their end) after the page.
 */
export function pollingSubscription(options: SubscribeOptions, source: PollingSource): Subscription {
  const { handler, batchSize = 1000 } = options;
  let position = formatCut(parseCut(options.from));
  const stopper = new AbortController();
  const stopped = () => stopper.signal.aborted;
  const run = async () => {
    while (!stopped()) {
      const page = await source.read(position, batchSize);
      if (page.events.length === 0) {
        await source.wait(source.pollIntervalMs, stopper.signal);
        continue;
      }
      for (const stored of page.events) {
        if (stopped()) return;
        await handler(stored);
        const cut = new Map(parseCut(position));
        const [shardId, cursor] = [...parseCut(stored.position)][0] ?? [];
        if (shardId !== undefined && cursor?.kind === 'at') cut.set(shardId, { kind: 'after', sequence: cursor.sequence });
        position = formatCut(cut);
      }
      position = page.next;
    }
  };
  const done = run();
  const subscription: Subscription = {
    get position() {
      return position;
    },
    async stop() {
      stopper.abort();
      await done.catch(() => undefined);
    },
    done,
  };
  const forget = () => { source.subscriptions.delete(subscription); };
  void done.then(forget, forget);
  source.subscriptions.add(subscription);
  return subscription;
}

/** Resolves after `ms`, when a waker in `wakers` is called (a log wakes them on append), or when `signal` aborts. */
export function waitForWake(wakers: Set<() => void>, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      wakers.delete(wake);
      signal.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    wakers.add(wake);
    signal.addEventListener('abort', wake, { once: true });
  });
}
