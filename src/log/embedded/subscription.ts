import type { Position, ReadOptions, ReadResult, StoredEvent, SubscribeOptions, Subscription } from '../eventLog.ts';

/** What a subscription needs from an embedded log. */
export interface SubscriptionSource {
  read(options: ReadOptions): Promise<ReadResult>;
  /** Resolves when an event at `position` may be readable, or when `signal` aborts. */
  waitForAppend(position: Position, signal: AbortSignal): Promise<void>;
  /** The position after `position`. */
  after(position: Position): Position;
  /** Called once when the subscription ends, so the log can forget it. */
  onEnd(subscription: Subscription): void;
}

/** Runs a subscription: pages through history with `read`, then waits for appends; one cursor, so no gap and no duplicate. */
export function startSubscription(options: SubscribeOptions, source: SubscriptionSource, start: Position): Subscription {
  const { handler, batchSize = 1000 } = options;
  const stopper = new AbortController();
  let position = start;
  // A function, not a property read: the flag changes while the handler is awaited.
  const stopped = () => stopper.signal.aborted;

  async function run(): Promise<void> {
    while (!stopped()) {
      const page = await source.read({ from: position, limit: batchSize });
      if (page.events.length === 0) {
        await source.waitForAppend(position, stopper.signal);
        continue;
      }
      for (const stored of page.events as StoredEvent[]) {
        if (stopped()) return;
        await handler(stored);
        position = source.after(stored.position);
      }
    }
  }

  const done = run();
  const subscription: Subscription = {
    get position() {
      return position;
    },
    async stop() {
      stopper.abort();
      // The handler's error, if any, stays on `done` for whoever awaits it.
      await done.catch(() => undefined);
    },
    done,
  };
  void done.then(
    () => { source.onEnd(subscription); },
    () => { source.onEnd(subscription); },
  );
  return subscription;
}

/** Wakes everyone waiting for a log to grow; the embedded logs share it. */
export class AppendSignal {
  private waiters = new Set<() => void>();

  /** Resolves on the next `notify()` or when `signal` aborts. */
  wait(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.waiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      this.waiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
