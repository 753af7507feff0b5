import type { ConsumerStatus } from '../../consumers/consumer.ts';
import { serviceClient } from '../client.ts';
import { requireConfig, type GlobalOptions } from '../context.ts';
import { openLocalConsumers } from '../localConsumers.ts';
import { write, type Io } from '../output.ts';
import { formatTable } from '../table.ts';

/** `unilog status`: every consumer's state, position, lag and dead letters. */
export async function statusCommand(options: GlobalOptions, io: Io): Promise<number> {
  const statuses = await consumerStatuses(options);
  if (io.json) {
    await write(io.stdout, `${JSON.stringify({ consumers: statuses })}\n`);
    return 0;
  }
  if (statuses.length === 0) {
    await write(io.stdout, 'no consumers: add projections or reactors to the config\n');
    return 0;
  }
  const rows = statuses.map((s) => [s.name, s.kind, String(s.version), s.state, s.position, String(s.lagEvents), formatAge(s.lagMs), String(s.deadLetters), s.error ?? '']);
  await write(io.stdout, formatTable(['CONSUMER', 'KIND', 'VERSION', 'STATE', 'POSITION', 'LAG', 'OLDEST', 'DEAD LETTERS', 'ERROR'], rows));
  return 0;
}

async function consumerStatuses(options: GlobalOptions): Promise<ConsumerStatus[]> {
  const client = serviceClient(options);
  if (client) return (await client.request<{ consumers: ConsumerStatus[] }>('GET', '/consumers')).body.consumers;
  const local = await openLocalConsumers(options, await requireConfig(options), false);
  try {
    const statuses: ConsumerStatus[] = [];
    for (const consumer of local.consumers.values()) {
      statuses.push(await consumer.status());
    }
    return statuses;
  } finally {
    await local.close();
  }
}

function formatAge(ms: number): string {
  if (ms === 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
