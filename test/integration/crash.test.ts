import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileEventLog, type StoredEvent } from '../../src/index.ts';
import { envelope } from '../support/events.ts';
import { tempDir } from '../support/tempDir.ts';

const kills = 24;
const fixture = new URL('../fixtures/appendForever.ts', import.meta.url).pathname;

/** Starts the child, lets it append for `ms` after its first ack, SIGKILLs it; returns the ids it acknowledged, in ack order. */
async function runAndKill(dir: string, run: number, ms: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, String(run)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => { resolve(); }));
  const acked: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith('ack ')) {
      acked.push(...line.slice(4).split(' '));
      timer ??= setTimeout(() => child.kill('SIGKILL'), ms);
    }
  }
  await exited;
  clearTimeout(timer);
  if (acked.length === 0) throw new Error(`the child acknowledged nothing: ${stderr}`);
  return acked;
}

describe('crash: SIGKILL a writer at random moments', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeAll(async () => ({ dir, remove } = await tempDir('unilog-crash-')));
  afterAll(async () => remove());

  it(`keeps every acknowledged event, in order, once, across ${kills} kills`, async () => {
    const allAcked: string[] = [];
    for (let run = 0; run < kills; run++) {
      const acked = await runAndKill(dir, run, 5 + Math.floor(Math.random() * 150));
      allAcked.push(...acked);

      const log = await openFileEventLog({ dir, segmentBytes: 64 * 1024 });
      const stored: StoredEvent[] = [];
      for (let from = '0'; ; ) {
        const page = await log.read({ from, limit: 5000 });
        if (page.events.length === 0) break;
        stored.push(...page.events);
        from = page.next;
      }
      const ids = stored.map((e) => e.event.id);
      // Once: no id twice.
      expect(new Set(ids).size, 'an event is stored twice').toBe(ids.length);
      // Present, in order: the acknowledged ids form a subsequence of the log in acknowledgement order.
      const positionOf = new Map(ids.map((id, i) => [id, i]));
      let last = -1;
      for (const id of allAcked) {
        const at = positionOf.get(id);
        expect(at, `acknowledged event ${id} is missing after kill ${run}`).toBeDefined();
        expect(at!, `acknowledged event ${id} is out of order`).toBeGreaterThan(last);
        last = at!;
      }
      // Batches are atomic: every batch in the log is there whole, acknowledged or not.
      const batches = new Map<string, { size: number; count: number }>();
      for (const id of ids) {
        const match = /^(r\d+-b\d+)-\d+of(\d+)$/.exec(id);
        if (!match) continue;
        const batch = batches.get(match[1]!) ?? { size: Number(match[2]), count: 0 };
        batch.count++;
        batches.set(match[1]!, batch);
      }
      for (const [batch, { size, count }] of batches) expect(count, `batch ${batch} is torn`).toBe(size);
      // The log takes new appends after the crash.
      const { positions } = await log.append([{ ...envelope(0), id: `after-${run}` }]);
      expect(positions[0]).toBe(String(ids.length));
      allAcked.push(`after-${run}`);
      await log.close();
    }
  }, 240_000);
});
