import { createCatalog } from '../../events/catalog.ts';
import type { EventEnvelope } from '../../events/envelope.ts';
import { parseLimit } from '../../log/embedded/positions.ts';
import type { StoredEvent } from '../../log/eventLog.ts';
import { openFileEventLog } from '../../log/file/fileEventLog.ts';
import { serviceClient, type ServiceClient } from '../client.ts';
import { dataDir, logDir, optionalConfig, type GlobalOptions } from '../context.ts';
import { write, type Io } from '../output.ts';
import { untilSignal } from '../signals.ts';

/** Options of `unilog tail`. */
export interface TailCommandOptions extends GlobalOptions {
  readonly from?: string;
  readonly type?: string;
  readonly lines?: string;
  readonly follow?: boolean;
}

const pageSize = 1000;
const defaultLines = 10;

/** `unilog tail`: the last events (or those from `--from`), optionally of some types, and with `--follow` new ones as they come. */
export async function tailCommand(options: TailCommandOptions, io: Io): Promise<number> {
  const lines = options.lines === undefined ? defaultLines : parseLimit(Number(options.lines));
  const types = options.type === undefined ? undefined : new Set(options.type.split(',').map((t) => t.trim()));
  const print = async (stored: StoredEvent) => {
    if (types && !types.has(stored.event.type)) return;
    await write(io.stdout, io.json ? `${JSON.stringify(stored)}\n` : formatEvent(stored));
  };
  const client = serviceClient(options);
  if (client) return tailService(client, options, lines, print);
  const config = await optionalConfig(options);
  const catalog = config ? createCatalog(config.events) : undefined;
  const log = await openFileEventLog({ dir: logDir(dataDir(options, config)), readOnly: true });
  const upcast = (stored: StoredEvent): StoredEvent => (catalog ? { position: stored.position, event: catalog.upcast(stored.event) } : stored);
  try {
    const head = Number(await log.head());
    let from = options.from ?? String(Math.max(0, head - lines));
    for (;;) {
      const page = await log.read({ from, limit: pageSize });
      for (const stored of page.events) await print(upcast(stored));
      from = page.next;
      if (page.events.length === 0 || Number(from) >= head) break;
    }
    if (options.follow !== true) return 0;
    const subscription = log.subscribe({ from, handler: (stored) => print(upcast(stored)) });
    await Promise.race([untilSignal(), subscription.done]);
    await subscription.stop();
    return 0;
  } finally {
    await log.close();
  }
}

type Page = { readonly events: readonly StoredEvent[]; readonly next: string };

async function tailService(client: ServiceClient, options: TailCommandOptions, lines: number, print: (stored: StoredEvent) => Promise<void>): Promise<number> {
  const typeQuery = options.type === undefined ? '' : `&type=${encodeURIComponent(options.type)}`;
  let from: string;
  if (options.from !== undefined) {
    from = await printFrom(client, options.from, typeQuery, print);
  } else {
    const { head } = (await client.request<{ head: string }>('GET', '/health')).body;
    // A log with one order counts positions, so the last lines start at head - lines. A partitioned log's (Kinesis)
    // positions are cuts, which have no "lines before": read what it retains and keep the last lines.
    from = /^(0|[1-9][0-9]*)$/.test(head) ? await printFrom(client, String(Math.max(0, Number(head) - lines)), typeQuery, print) : await printLastRetained(client, lines, print);
  }
  if (options.follow !== true) return 0;
  const response = await client.stream(`/events/stream?from=${encodeURIComponent(from)}${typeQuery}`);
  const body = response.body;
  if (!body) return 0;
  const reader = body.getReader();
  const stop = untilSignal().then(() => reader.cancel());
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const chunk: { done: boolean; value?: Uint8Array | undefined } = await reader.read().catch(() => ({ done: true }));
    if (chunk.done || chunk.value === undefined) break;
    buffer += decoder.decode(chunk.value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (data !== '') await print(JSON.parse(data) as StoredEvent);
    }
  }
  void stop;
  return 0;
}

/** Prints every event from `from` (of the types in `typeQuery`) to the end of the log; returns where the end was. */
async function printFrom(client: ServiceClient, start: string, typeQuery: string, print: (stored: StoredEvent) => Promise<void>): Promise<string> {
  let from = start;
  for (;;) {
    const page = (await client.request<Page>('GET', `/events?from=${encodeURIComponent(from)}&limit=${pageSize}${typeQuery}`)).body;
    for (const stored of page.events) await print(stored);
    const moved = page.next !== from;
    from = page.next;
    if (page.events.length === 0 && !moved) return from;
  }
}

/**
 * Reads the whole log from its start and prints its last `lines` events (`print` drops other types, so `--lines`
 * counts all events, as on a log with one order); returns the `next` after them. On Kinesis that is a read of the
 * retained stream: the cost of a tail where positions are not numbers.
 */
async function printLastRetained(client: ServiceClient, lines: number, print: (stored: StoredEvent) => Promise<void>): Promise<string> {
  // A ring of the newest `lines` events: memory bounded by --lines, not by the stream.
  const ring: StoredEvent[] = [];
  let oldest = 0;
  let from: string | undefined;
  for (;;) {
    const page = (await client.request<Page>('GET', `/events?${from === undefined ? '' : `from=${encodeURIComponent(from)}&`}limit=${pageSize}`)).body;
    for (const stored of page.events) {
      if (ring.length < lines) {
        ring.push(stored);
      } else {
        ring[oldest] = stored;
        oldest = (oldest + 1) % lines;
      }
    }
    from = page.next;
    if (page.events.length === 0) break;
  }
  for (let i = 0; i < ring.length; i++) await print(ring[(oldest + i) % ring.length] as StoredEvent);
  return from;
}

/** One event on one line: position, time, type, key, source, data. */
export function formatEvent(stored: { readonly position: string; readonly event: EventEnvelope }): string {
  const { event } = stored;
  return `${stored.position}  ${event.time}  ${event.type}  ${event.subject}  ${event.source}  ${JSON.stringify(event.data)}\n`;
}

