import { SingleBar } from 'cli-progress';
import type { RebuildProgress } from '../../consumers/consumer.ts';
import { serviceClient } from '../client.ts';
import { requireConfig, type GlobalOptions } from '../context.ts';
import { openLocalConsumers } from '../localConsumers.ts';
import { write, type Io } from '../output.ts';

/** `unilog rebuild PROJECTION`: a fresh copy of the view from the start of the log, with a progress bar. */
export async function rebuildCommand(name: string, options: GlobalOptions, io: Io): Promise<number> {
  const client = serviceClient(options);
  let result: { events: number; seconds: number };
  if (client) {
    if (!io.json) io.stderr.write(`rebuilding ${name} on ${client.url}; the service answers when it has switched over\n`);
    result = (await client.request<{ events: number; seconds: number }>('POST', `/consumers/${encodeURIComponent(name)}/rebuild`)).body;
  } else {
    const local = await openLocalConsumers(options, await requireConfig(options), true);
    try {
      const consumer = local.get(name);
      const bar = io.json ? undefined : progressBar(io);
      result = await consumer.rebuild({
        onProgress: (progress) => {
          bar?.update(progress);
        },
      });
      bar?.stop();
    } finally {
      await local.close();
    }
  }
  const rate = result.seconds > 0 ? Math.round(result.events / result.seconds) : 0;
  await write(io.stdout, io.json ? `${JSON.stringify({ consumer: name, ...result })}\n` : `rebuilt ${name}: ${result.events} events in ${result.seconds.toFixed(1)} s (${rate} events/s)\n`);
  return 0;
}

/** A cli-progress bar on stderr: done of total, events/s, ETA. */
function progressBar(io: Io): { update(progress: RebuildProgress): void; stop(): void } {
  const bar = new SingleBar({
    stream: io.stderr,
    format: 'rebuild {consumer} [{bar}] {percentage}% | {value}/{total} events | {rate} events/s | ETA {etaText}',
    // Not a terminal (a pipe, a CI log): a line every few seconds instead of redrawing.
    noTTYOutput: true,
    notTTYSchedule: 2000,
    hideCursor: true,
  });
  let started = false;
  return {
    update(progress) {
      const payload = { consumer: progress.consumer, rate: progress.eventsPerSecond, etaText: `${Math.ceil(progress.etaSeconds)}s` };
      const total = Math.max(progress.total, progress.done);
      if (!started) {
        bar.start(total, progress.done, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(progress.done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
