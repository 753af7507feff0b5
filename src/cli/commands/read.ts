import { parseLimit } from '../../log/embedded/positions.ts';
import { openFileEventLog } from '../../log/file/fileEventLog.ts';
import { dataDir, logDir, optionalConfig, type GlobalOptions } from '../context.ts';
import { write, type Io } from '../output.ts';
import { serviceClient, type ServiceClient } from '../client.ts';
import type { StoredEvent } from '../../log/eventLog.ts';
import { createCatalog } from '../../events/catalog.ts';

/** Options of `unilog read`. */
export interface ReadCommandOptions extends GlobalOptions {
  readonly from?: string;
  readonly limit?: string;
}

const pageSize = 1000;

/** `unilog read [--from POS] [--limit N]`: prints events as NDJSON `{ position, event }`, upcast when a config is present. */
export async function readCommand(options: ReadCommandOptions, io: Io): Promise<number> {
  const limit = options.limit === undefined ? Infinity : parseLimit(Number(options.limit));
  const client = serviceClient(options);
  if (client) return readService(client, options.from, limit, io);
  const config = await optionalConfig(options);
  const catalog = config ? createCatalog(config.events) : undefined;
  const log = await openFileEventLog({ dir: logDir(dataDir(options, config)), readOnly: true });
  try {
    let from = options.from;
    let remaining = limit;
    while (remaining > 0) {
      const page = await log.read({ ...(from === undefined ? {} : { from }), limit: Math.min(pageSize, remaining) });
      if (page.events.length === 0) break;
      let text = '';
      for (const stored of page.events) {
        const event = catalog ? catalog.upcast(stored.event) : stored.event;
        text += `${JSON.stringify({ position: stored.position, event })}\n`;
      }
      await write(io.stdout, text);
      remaining -= page.events.length;
      from = page.next;
    }
    return 0;
  } finally {
    await log.close();
  }
}

/** Pages through `GET /events`; without `--from` it sends none, so the service starts at its log's start (a Kinesis log's positions are cuts, not numbers). */
async function readService(client: ServiceClient, start: string | undefined, limit: number, io: Io): Promise<number> {
  let from = start;
  let remaining = limit;
  while (remaining > 0) {
    const fromQuery = from === undefined ? '' : `from=${encodeURIComponent(from)}&`;
    const page = (await client.request<{ events: StoredEvent[]; next: string }>('GET', `/events?${fromQuery}limit=${Math.min(pageSize, remaining)}`)).body;
    if (page.events.length === 0) break;
    await write(io.stdout, page.events.map((stored) => `${JSON.stringify(stored)}\n`).join(''));
    remaining -= page.events.length;
    from = page.next;
  }
  return 0;
}
