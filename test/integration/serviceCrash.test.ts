import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileEventLog, type StoredEvent } from '../../src/index.ts';
import { createKey } from '../../src/service/keys.ts';
import { post } from '../support/service.ts';
import { tempDir } from '../support/tempDir.ts';

const kills = 12;
/** Client loops posting at once, so that the service groups their events into shared appends. */
const clients = 6;
const fixture = new URL('../fixtures/serveCarts.ts', import.meta.url).pathname;

type Item =
  | { readonly type: 'cart.item-added'; readonly id: string; readonly data: { readonly cartId: string; readonly productId: string; readonly quantity: number } }
  | { readonly type: 'cart.item-removed'; readonly id: string; readonly data: { readonly cartId: string; readonly productId: string } };

/** One POST: a single event (`batch: false`, sent as an object) or a batch (sent as an array). */
interface PostRequest {
  readonly items: readonly Item[];
  readonly batch: boolean;
}

interface Answer {
  readonly position: string;
  readonly id: string;
  readonly duplicate: boolean;
}

type Outcome = { readonly kind: 'answered'; readonly status: 200 | 201; readonly events: readonly Answer[] } | { readonly kind: 'failed'; readonly reason: string };

interface Server {
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<NodeJS.Signals | number | null>;
  stderr(): string;
}

/** Starts the service child on the data folder and waits for the URL it prints. */
async function startServer(dir: string): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(signal ?? code);
    }),
  );
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => { resolve(undefined); }, 30_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    lines.once('close', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  if (first === undefined) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`the service child did not start: ${stderr}`);
  }
  const { url } = JSON.parse(first) as { url: string };
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  return { url, child, exited, stderr: () => stderr };
}

/** SIGKILLs the child and checks that it was running until then (it did not die by itself). */
async function kill(server: Server): Promise<void> {
  server.child.kill('SIGKILL');
  const how = await server.exited;
  expect(how, `the service child died by itself: ${server.stderr()}`).toBe('SIGKILL');
}

/** Children still running, killed after the test whatever happened. */
const running = new Set<ChildProcess>();

/** Posts a request; anything but a complete 200 or 201 answer (a refused or cut connection, a cut body) is a failure. */
async function send(url: string, key: string, request: PostRequest, unexpected: string[]): Promise<Outcome> {
  let response: Response;
  try {
    response = await post(`${url}/events`, request.batch ? request.items : request.items[0], key);
  } catch (error) {
    return { kind: 'failed', reason: String(error) };
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    return { kind: 'failed', reason: `status ${response.status}, body cut: ${String(error)}` };
  }
  if (response.status !== 200 && response.status !== 201) {
    unexpected.push(`${response.status} ${JSON.stringify(body)}`);
    return { kind: 'failed', reason: `status ${response.status}` };
  }
  return { kind: 'answered', status: response.status, events: (body as { events: Answer[] }).events };
}

let n = 0;
/** A new request with fresh client ids: mostly single events, some batches of 2 to 6. */
function newRequest(): PostRequest {
  const batch = Math.random() < 0.4;
  const size = batch ? 2 + Math.floor(Math.random() * 5) : 1;
  const items = Array.from({ length: size }, (): Item => {
    const i = n++;
    const cartId = `cart-${i % 17}`;
    const productId = `p${i % 5}`;
    return i % 7 === 6 ? { type: 'cart.item-removed', id: `load-${i}`, data: { cartId, productId } } : { type: 'cart.item-added', id: `load-${i}`, data: { cartId, productId, quantity: 1 + (i % 3) } };
  });
  return { items, batch };
}

describe('crash: SIGKILL the HTTP service under load', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeAll(async () => ({ dir, remove } = await tempDir('unilog-service-crash-')));
  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await remove();
  });

  it(`keeps every acknowledged event once, at its acknowledged position, across ${kills} kills and the retries`, async () => {
    const key = createKey(dir, { producer: 'cart-service', types: ['cart.item-added', 'cart.item-removed'], read: false, admin: false }).key;
    /** Every item ever posted, by id. */
    const sent = new Map<string, Item>();
    /** The position the service acknowledged each id at. */
    const acked = new Map<string, string>();
    /** Requests without an answer: retried later with the same ids and data. */
    let unacked: PostRequest[] = [];
    /** Answers that break the contract, reported all together at the end. */
    const wrong: string[] = [];
    const unexpected: string[] = [];
    let failures = 0;
    let retriedFound = 0;

    /** Checks an answer against its request and records the positions. A first post must be new; a retry is new or found whole. */
    const accept = (request: PostRequest, outcome: Extract<Outcome, { kind: 'answered' }>, retry: boolean) => {
      const ids = request.items.map((item) => item.id);
      if (JSON.stringify(outcome.events.map((e) => e.id)) !== JSON.stringify(ids)) {
        wrong.push(`answer ids ${outcome.events.map((e) => e.id).join(',')} for ${ids.join(',')}`);
        return;
      }
      const duplicates = outcome.events.map((e) => e.duplicate);
      const allDuplicates = duplicates.every(Boolean);
      if (outcome.status !== (allDuplicates ? 200 : 201)) wrong.push(`status ${outcome.status} with duplicates ${duplicates.join(',')} for ${ids.join(',')}`);
      if (!retry && duplicates.some(Boolean)) wrong.push(`never-posted ids ${ids.join(',')} answered as duplicates ${duplicates.join(',')}`);
      // A batch is appended whole or not at all: its retry finds all of it or none of it.
      if (retry && !allDuplicates && duplicates.some(Boolean)) wrong.push(`retried batch ${ids.join(',')} was partly appended: ${duplicates.join(',')}`);
      if (retry && allDuplicates) retriedFound++;
      for (const answer of outcome.events) {
        if (acked.has(answer.id)) wrong.push(`${answer.id} acknowledged twice`);
        acked.set(answer.id, answer.position);
      }
    };

    const postAndRecord = async (url: string, request: PostRequest, retry: boolean): Promise<boolean> => {
      for (const item of request.items) sent.set(item.id, item);
      const outcome = await send(url, key, request, unexpected);
      if (outcome.kind === 'failed') {
        failures++;
        unacked.push(request);
        return false;
      }
      accept(request, outcome, retry);
      return true;
    };

    for (let run = 0; run < kills; run++) {
      const server = await startServer(dir);
      let stopped = false;
      // Each loop posts new events, and now and then retries a request a kill left unanswered.
      const loops = Array.from({ length: clients }, async () => {
        while (!stopped) {
          const retry = unacked.length > 0 && Math.random() < 0.3 ? unacked.shift() : undefined;
          await postAndRecord(server.url, retry ?? newRequest(), retry !== undefined);
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(Math.random() * 300)));
      stopped = true;
      await kill(server);
      await Promise.all(loops);
    }
    expect(unexpected, 'answers other than 200 and 201').toEqual([]);
    expect(acked.size, 'the clients got (almost) nothing acknowledged').toBeGreaterThan(20);
    expect(failures, 'no request was in flight at any kill').toBeGreaterThan(0);

    // A last start: every unanswered request is retried, with the same ids and data, until answered.
    const server = await startServer(dir);
    try {
      const pending = unacked;
      unacked = [];
      for (const request of pending) expect(await postAndRecord(server.url, request, true), `retry of ${request.items.map((i) => i.id).join(',')}`).toBe(true);
      expect(unacked).toEqual([]);
      expect(wrong).toEqual([]);
      expect([...sent.keys()].filter((id) => !acked.has(id)), 'ids never acknowledged').toEqual([]);

      // Every id again, in batches and singly: all found, at the positions first acknowledged.
      const ids = [...sent.keys()];
      for (let i = 0; i < ids.length; i += 50) {
        const chunk = ids.slice(i, i + 50);
        const single = chunk.length === 1 || i % 200 === 0;
        const items = single ? [sent.get(chunk[0]!)!] : chunk.map((id) => sent.get(id)!);
        const outcome = await send(server.url, key, { items, batch: !single }, unexpected);
        expect(outcome.kind, `re-post of ${items[0]!.id}…`).toBe('answered');
        if (outcome.kind !== 'answered') continue;
        expect(outcome.status, `re-post of ${items[0]!.id}… was appended again`).toBe(200);
        expect(outcome.events).toEqual(items.map((item) => ({ id: item.id, position: acked.get(item.id), duplicate: true })));
      }
      expect(unexpected, 'answers other than 200 and 201').toEqual([]);
    } finally {
      await kill(server);
    }

    // The log itself: every id exactly once, at its acknowledged position, with the data that was sent.
    const log = await openFileEventLog({ dir: path.join(dir, 'log'), readOnly: true });
    const stored: StoredEvent[] = [];
    try {
      for (let from = '0'; ; ) {
        const page = await log.read({ from, limit: 5000 });
        if (page.events.length === 0) break;
        stored.push(...page.events);
        from = page.next;
      }
    } finally {
      await log.close();
    }
    const counts = new Map<string, number>();
    for (const { event } of stored) counts.set(event.id, (counts.get(event.id) ?? 0) + 1);
    expect([...counts].filter(([, count]) => count > 1), 'ids stored more than once').toEqual([]);
    expect(stored.length).toBe(sent.size);
    const misplaced: string[] = [];
    for (const { position, event } of stored) {
      const item = sent.get(event.id);
      if (item === undefined) {
        misplaced.push(`${event.id} at ${position} was never sent`);
        continue;
      }
      if (acked.get(event.id) !== position) misplaced.push(`${event.id} acknowledged at ${acked.get(event.id) ?? 'nothing'}, stored at ${position}`);
      expect({ type: event.type, data: event.data, source: event.source }).toEqual({ type: item.type, data: item.data, source: 'cart-service' });
    }
    expect(misplaced).toEqual([]);
    console.info(`service crash: ${kills} kills, ${sent.size} events acknowledged, ${failures} requests unanswered, ${retriedFound} retries found already appended`);
  }, 180_000);
});
