/** Something that drains on stop: a consumer, a server. */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Drains consumers on SIGTERM and SIGINT: each finishes its batch and commits, then the process exits (code 0,
 * or 1 when a stop failed). Returns a function that removes the handlers.
 */
export function stopOnSignals(stoppables: readonly Stoppable[], options: { readonly signals?: readonly NodeJS.Signals[]; readonly exit?: boolean } = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    void Promise.allSettled(stoppables.map((s) => s.stop())).then((results) => {
      const failed = results.filter((r) => r.status === 'rejected');
      for (const failure of failed) console.error('unilog: a consumer failed to stop cleanly:', failure.reason);
      if (options.exit ?? true) process.exit(failed.length === 0 ? 0 : 1);
    });
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
