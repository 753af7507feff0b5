import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileEventLog, openFileEventStore } from '../../src/index.ts';
import { storeEvents } from '../contract/eventStore.contract.ts';
import { tempDir } from '../support/tempDir.ts';

const kills = 12;
const fixture = new URL('../fixtures/appendStreams.ts', import.meta.url).pathname;

/** Runs the child until `ms` after its first ack, SIGKILLs it; returns the acknowledged `stream version position` triples. */
async function runAndKill(dir: string, ms: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => { resolve(signal); }));
  const acked: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    if (!line.startsWith('ack ')) continue;
    const words = line.slice(4).split(' ');
    for (let i = 0; i < words.length; i += 3) acked.push(words.slice(i, i + 3).join(' '));
    timer ??= setTimeout(() => child.kill('SIGKILL'), ms);
  }
  expect(await exited, stderr).toBe('SIGKILL');
  clearTimeout(timer);
  return acked;
}

describe('crash: SIGKILL an event store writer at random moments', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeAll(async () => ({ dir, remove } = await tempDir('unilog-store-crash-')));
  afterAll(async () => remove());

  it(`keeps every acknowledged append at its version and position, and the index agrees with the log, across ${kills} kills`, { timeout: 180_000 }, async () => {
    const acked = new Set<string>();
    for (let run = 0; run < kills; run++) {
      for (const ack of await runAndKill(dir, 20 + Math.floor(Math.random() * 200))) acked.add(ack);

      const log = await openFileEventLog({ dir: path.join(dir, 'log'), segmentBytes: 64 * 1024 });
      const store = await openFileEventStore({ log, catalog: storeEvents, dir: path.join(dir, 'store') });
      try {
        // The log is the truth: every stream event in it, by stream, in log order.
        const fromLog = new Map<string, string[]>();
        for (let from = '0'; ; ) {
          const page = await log.read({ from, limit: 5000 });
          if (page.events.length === 0) break;
          for (const { position, event } of page.events) {
            const list = fromLog.get(event.streamid ?? '') ?? [];
            list.push(`${event.streamid ?? ''} ${event.streamversion ?? ''} ${position}`);
            fromLog.set(event.streamid ?? '', list);
          }
          from = page.next;
        }
        const stored = new Set<string>();
        for (const [stream, events] of fromLog) {
          // Versions in the log are 1, 2, 3… per stream: no gap, no repeat, even across crashes.
          expect(events.map((e) => Number(e.split(' ')[1]))).toEqual(events.map((_, i) => i + 1));
          // The index answers exactly what the log holds.
          const read = await store.readStream(stream);
          expect(read.events.map((e) => `${stream} ${e.streamVersion} ${e.position}`)).toEqual(events);
          expect(read.version).toBe(events.length);
          for (const e of events) stored.add(e);
        }
        for (const ack of acked) expect(stored.has(ack), `acknowledged ${ack} is missing`).toBe(true);
      } finally {
        await store.close();
        await log.close();
      }
    }
    expect(acked.size).toBeGreaterThan(100);
  });
});
