import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isUnilogError, openFileEventLog } from '../../src/index.ts';
import { envelopes } from '../support/events.ts';
import { tempDir } from '../support/tempDir.ts';

const fixture = new URL('../fixtures/appendAndExit.ts', import.meta.url).pathname;

function startChild(dir: string, count: number, mode?: 'hold'): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, String(count), ...(mode ? [mode] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  return { child, lines: createInterface({ input: child.stdout })[Symbol.asyncIterator]() };
}

describe('file log', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => ({ dir, remove } = await tempDir('unilog-file-')));
  afterEach(async () => remove());

  it('pages read while the log grows, interleaved with other readers and with run reads, return exactly the log', async () => {
    const log = await openFileEventLog({ dir, segmentBytes: 256 * 1024 });
    const ids = (from: number, to: number) => envelopes(to, 0).slice(from, to).map((e) => e.id);
    try {
      await log.append(envelopes(600, 0));
      // Two readers page through the same log in pages of 300 (each page reads the next chunk ahead); between
      // their pages the log grows and a third reader reads short runs from elsewhere.
      const seen: string[][] = [[], []];
      const next: [string, string] = ['0', '0'];
      let written = 600;
      for (let step = 0; step < 40; step++) {
        const r = (step % 2) as 0 | 1;
        const page = await log.read({ from: next[r], limit: 300 });
        for (const e of page.events) (seen[r] as string[]).push(e.event.id);
        next[r] = page.next;
        if (step % 3 === 0) {
          await log.append(envelopes(written + 120, 0).slice(written));
          written += 120;
        }
        const at = (step * 37) % written;
        expect((await log.read({ from: String(at), limit: 3 })).events.map((e) => e.event.id)).toEqual(ids(at, Math.min(at + 3, written)));
      }
      for (const r of [0, 1] as const) {
        for (;;) {
          const page = await log.read({ from: next[r], limit: 300 });
          if (page.events.length === 0) break;
          for (const e of page.events) (seen[r] as string[]).push(e.event.id);
          next[r] = page.next;
        }
        expect(seen[r], `reader ${r}`).toEqual(ids(0, written));
      }
    } finally {
      await log.close();
    }
  });

  it('keeps events across close and reopen, and continues the positions', async () => {
    let log = await openFileEventLog({ dir, segmentBytes: 2048 });
    // A batch never spans segments, so small batches are needed for many segments.
    for (let i = 0; i < 40; i += 5) await log.append(envelopes(5, i));
    await log.close();
    log = await openFileEventLog({ dir, segmentBytes: 2048 });
    expect(log.openReport).toEqual({ truncatedBytes: 0, rebuiltIndexes: [] });
    const { positions } = await log.append(envelopes(5, 40));
    expect(positions).toEqual(['40', '41', '42', '43', '44']);
    const page = await log.read({ from: '0', limit: 100 });
    expect(page.events.map((e) => e.event.id)).toEqual(envelopes(45).map((e) => e.id));
    await log.close();
    const files = await readdir(dir);
    expect(files.filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(5);
    // Every closed segment has its index; the last one is scanned on open instead.
    expect(files.filter((f) => f.endsWith('.idx')).length).toBe(files.filter((f) => f.endsWith('.seg')).length - 1);
  });

  it('seeks any position across segments', async () => {
    const log = await openFileEventLog({ dir, segmentBytes: 1500 });
    for (let i = 0; i < 200; i += 4) await log.append(envelopes(4, i));
    for (const from of [0, 1, 17, 99, 150, 199]) {
      const page = await log.read({ from: String(from), limit: 2 });
      expect(page.events.map((e) => e.event.id)).toEqual(envelopes(Math.min(2, 200 - from), from).map((e) => e.id));
    }
    await log.close();
  });

  it('a second writer in the same process gets LogLocked naming the holder', async () => {
    const log = await openFileEventLog({ dir });
    await expect(openFileEventLog({ dir })).rejects.toSatisfy((e) => isUnilogError(e, 'LogLocked') && e.details.pid === process.pid);
    await log.close();
    const again = await openFileEventLog({ dir });
    await again.close();
  });

  it('a writer in another process gets LogLocked naming this process', async () => {
    const log = await openFileEventLog({ dir });
    const { child, lines } = startChild(dir, 10);
    const line = await lines.next();
    await new Promise((resolve) => child.on('exit', resolve));
    expect(JSON.parse(String(line.value))).toMatchObject({ code: 'LogLocked', details: { pid: process.pid } });
    await log.close();
  });

  it('takes over the lock of a writer that died', async () => {
    await writeFile(path.join(dir, 'LOCK'), '2147483646 123\n');
    const log = await openFileEventLog({ dir });
    await log.append(envelopes(1));
    await log.close();
  });

  it('a read-only log in this process follows a writer in another process, segment rolls included', async () => {
    const { child, lines } = startChild(dir, 300, 'hold');
    try {
      // The reader may open before or after the child's first append; wait until a segment exists.
      while (!(await readdir(dir).catch(() => [])).some((f) => f.endsWith('.seg'))) await new Promise((r) => setTimeout(r, 10));
      const reader = await openFileEventLog({ dir, readOnly: true, pollIntervalMs: 5 });
      const seen: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const subscription = reader.subscribe({
          handler: (stored) => {
            seen.push(stored.event.id);
            if (seen.length === 300) resolve();
          },
        });
        subscription.done.catch(reject);
      });
      expect(seen).toEqual(envelopes(300).map((e) => e.id));
      expect((await lines.next()).value).toBe('appended');
      await expect(reader.append(envelopes(1))).rejects.toSatisfy((e) => isUnilogError(e, 'InvalidArgument'));
      await reader.close();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a read-only open of a folder without a log is LogNotFound', async () => {
    await expect(openFileEventLog({ dir: path.join(dir, 'none'), readOnly: true })).rejects.toSatisfy((e) => isUnilogError(e, 'LogNotFound'));
  });
});
