import type { RetryResult } from '../../consumers/consumer.ts';
import type { DeadLetter } from '../../views/viewStore.ts';
import { serviceClient } from '../client.ts';
import { requireConfig, type GlobalOptions } from '../context.ts';
import { openLocalConsumers } from '../localConsumers.ts';
import { write, type Io } from '../output.ts';
import { formatTable } from '../table.ts';

const path = (consumer: string, position?: string) => `/consumers/${encodeURIComponent(consumer)}/dead-letters${position === undefined ? '' : `/${encodeURIComponent(position)}`}`;

/** `unilog dlq list CONSUMER`. */
export async function dlqListCommand(consumer: string, options: GlobalOptions, io: Io): Promise<number> {
  const client = serviceClient(options);
  const letters = client ? (await client.request<{ deadLetters: DeadLetter[] }>('GET', path(consumer))).body.deadLetters : await local(options, consumer, false, (c) => c.deadLetters.list());
  if (io.json) {
    await write(io.stdout, `${JSON.stringify({ consumer, deadLetters: letters })}\n`);
    return 0;
  }
  if (letters.length === 0) {
    await write(io.stdout, `${consumer} has no dead letters\n`);
    return 0;
  }
  const rows = letters.map((d) => [d.position, d.event.type, d.event.subject, d.mode, String(d.attempts), d.at, d.error.message]);
  await write(io.stdout, formatTable(['POSITION', 'TYPE', 'KEY', 'MODE', 'ATTEMPTS', 'AT', 'ERROR'], rows));
  return 0;
}

/** `unilog dlq retry CONSUMER POSITION`: exit 1 when the event fails again. */
export async function dlqRetryCommand(consumer: string, position: string, options: GlobalOptions, io: Io): Promise<number> {
  const client = serviceClient(options);
  const result = client ? (await client.request<RetryResult>('POST', `${path(consumer, position)}/retry`)).body : await local(options, consumer, true, (c) => c.deadLetters.retry(position));
  if (io.json) await write(io.stdout, `${JSON.stringify({ consumer, position, ...result })}\n`);
  else if (result.applied) await write(io.stdout, `applied dead letter ${position} of ${consumer}; released ${result.released} parked event(s)\n`);
  else io.stderr.write(`dead letter ${position} of ${consumer} failed again: ${result.error ?? 'unknown error'}\n`);
  return result.applied ? 0 : 1;
}

/** `unilog dlq drop CONSUMER POSITION`. */
export async function dlqDropCommand(consumer: string, position: string, options: GlobalOptions, io: Io): Promise<number> {
  const client = serviceClient(options);
  const result = client ? (await client.request<{ released: number }>('DELETE', path(consumer, position))).body : await local(options, consumer, true, (c) => c.deadLetters.drop(position));
  await write(io.stdout, io.json ? `${JSON.stringify({ consumer, position, ...result })}\n` : `dropped dead letter ${position} of ${consumer}; released ${result.released} parked event(s)\n`);
  return 0;
}

async function local<T>(options: GlobalOptions, name: string, exclusive: boolean, work: (consumer: ReturnType<Awaited<ReturnType<typeof openLocalConsumers>>['get']>) => Promise<T>): Promise<T> {
  const consumers = await openLocalConsumers(options, await requireConfig(options), exclusive);
  try {
    return await work(consumers.get(name));
  } finally {
    await consumers.close();
  }
}
