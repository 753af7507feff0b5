import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumer, createPublisher, openFileEventLog, openSqliteViewStorage, type FileEventLog } from '../../src/index.ts';
import { cartProjection, foldCarts, ItemAdded, ItemRemoved } from '../support/cart.ts';
import { tempDir } from '../support/tempDir.ts';

const kills = 22;
const fixture = new URL('../fixtures/consumeCarts.ts', import.meta.url).pathname;

/** Runs the consumer child until it has made progress, lets it run a random while, and SIGKILLs it. */
async function runAndKill(dir: string, ms: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => { resolve(); }));
  let timer: NodeJS.Timeout | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith('started')) timer ??= setTimeout(() => child.kill('SIGKILL'), ms);
  }
  await exited;
  clearTimeout(timer);
  if (timer === undefined) throw new Error(`the consumer never started: ${stderr}`);
}

describe('crash: SIGKILL a projection consumer while events keep arriving', () => {
  let dir: string;
  let remove: () => Promise<void>;
  let log: FileEventLog;
  beforeAll(async () => {
    ({ dir, remove } = await tempDir('unilog-consumer-crash-'));
    log = await openFileEventLog({ dir: path.join(dir, 'log') });
  });
  afterAll(async () => {
    await log.close();
    await remove();
  });

  it(`the counting view equals a fold of the log after ${kills} kills`, async () => {
    const publisher = createPublisher({ log, catalog: [ItemAdded, ItemRemoved], source: 'cart-service' });
    let publishing = true;
    let n = 0;
    const writer = (async () => {
      while (publishing) {
        const size = 1 + Math.floor(Math.random() * 20);
        await publisher.publishBatch(
          Array.from({ length: size }, () => {
            n++;
            return n % 9 === 0
              ? { type: 'cart.item-removed' as const, data: { cartId: `c${n % 13}`, productId: `p${n % 4}` } }
              : { type: 'cart.item-added' as const, data: { cartId: `c${n % 13}`, productId: `p${n % 4}`, quantity: 1 + (n % 3) } };
          }),
        );
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let kill = 0; kill < kills; kill++) await runAndKill(dir, 20 + Math.floor(Math.random() * 200));
    publishing = false;
    await writer;

    // A last, clean run catches up to the head; its view must equal the reference fold exactly.
    const carts = createConsumer(cartProjection(), { log, storage: openSqliteViewStorage({ dir: path.join(dir, 'views') }) });
    await carts.start();
    const head = Number(await log.head());
    await carts.waitFor(String(head - 1), { timeoutMs: 30_000 });
    const events: { type: string; data: unknown }[] = [];
    for (let from = '0'; ; ) {
      const page = await log.read({ from, limit: 5000 });
      if (page.events.length === 0) break;
      events.push(...page.events.map((e) => e.event));
      from = page.next;
    }
    const expected = foldCarts(events);
    const actual = new Map<string, unknown>();
    for (const row of await carts.view.carts.scan({ limit: 1000 })) actual.set(row.cartId, row);
    expect(actual).toEqual(expected);
    expect(events.length).toBeGreaterThan(100);
    await carts.stop();
  }, 240_000);
});

describe('graceful stop on SIGTERM', () => {
  it('finishes the batch in hand, commits it and exits 0; the view matches its checkpoint exactly', async () => {
    const { dir, remove } = await tempDir('unilog-consumer-term-');
    const log = await openFileEventLog({ dir: path.join(dir, 'log') });
    try {
      const publisher = createPublisher({ log, catalog: [ItemAdded, ItemRemoved], source: 'cart-service' });
      for (let i = 0; i < 3000; i += 100) {
        await publisher.publishBatch(Array.from({ length: 100 }, (_, j) => ({ type: 'cart.item-added' as const, data: { cartId: `c${(i + j) % 7}`, productId: 'p', quantity: 1 } })));
      }
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, 'drain'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code); }));
      for await (const line of createInterface({ input: child.stdout })) {
        if (line.startsWith('at ') && line !== 'at 0') {
          child.kill('SIGTERM');
          break;
        }
      }
      expect(await exited).toBe(0);
      // The stopped consumer's view holds exactly the events before its checkpoint: no half batch.
      const carts = createConsumer(cartProjection(), { log, storage: openSqliteViewStorage({ dir: path.join(dir, 'views') }) });
      const checkpoint = Number((await carts.status()).position);
      expect(checkpoint).toBeGreaterThan(0);
      const storage = openSqliteViewStorage({ dir: path.join(dir, 'views') });
      const store = await storage.open('carts', (await storage.current('carts'))!, cartProjection().layout);
      const rows = new Map((await store.scan('carts', { limit: 100 })).map((row) => [row['cartId'], row]));
      await store.close();
      expect(rows).toEqual(foldCarts((await log.read({ from: '0', limit: checkpoint })).events.map((e) => e.event)));
    } finally {
      await log.close();
      await remove();
    }
  }, 60_000);
});
