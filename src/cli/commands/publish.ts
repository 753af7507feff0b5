import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { isUnilogError, UnilogError, type ValidationIssue } from '../../errors.ts';
import { createPublisher, type PublishResult } from '../../events/publisher.ts';
import { serviceClient } from '../client.ts';
import { openWriter, requireConfig, usageError, type GlobalOptions } from '../context.ts';
import { printError, write, type Io } from '../output.ts';

/** Options of `unilog publish`. */
export interface PublishCommandOptions extends GlobalOptions {
  readonly payload?: string;
  readonly key?: string;
  readonly id?: string;
  readonly source?: string;
  readonly stdin?: boolean;
}

const stdinBatchLines = 100;
const stdinBatchMs = 10;

/** `unilog publish TYPE --payload JSON` or `unilog publish --stdin`: prints `{"position","id"}` per appended event. */
export async function publishCommand(type: string | undefined, options: PublishCommandOptions, io: Io, stdin: Readable): Promise<number> {
  if (options.stdin === true && type !== undefined) throw usage('give either TYPE with --payload, or --stdin with NDJSON lines, not both');
  if (options.stdin !== true && (type === undefined || options.payload === undefined)) throw usage('give TYPE and --payload JSON, or --stdin');
  const client = serviceClient(options);
  if (client) {
    // Through the service: the API key names the producer, so --source does not apply.
    const sink: Sink = {
      publishBatch: async (items) => (await client.request<{ events: Published[] }>('POST', '/events', items)).body.events,
      publishOne: async (item) => (await client.request<{ events: Published[] }>('POST', '/events', item)).body.events,
    };
    return publishWith(sink, type, options, io, stdin);
  }
  const config = await requireConfig(options);
  const log = await openWriter(options, config);
  try {
    const publisher = createPublisher({ log, catalog: config.events, source: options.source ?? 'unilog-cli' });
    const sink: Sink = {
      publishBatch: async (items) => (await publisher.publishBatch(items as never)).map(published),
      publishOne: async ({ type, data, ...rest }) => [published(await publisher.publish(type, data as never, rest))],
    };
    return await publishWith(sink, type, options, io, stdin);
  } finally {
    await log.close();
  }
}

/** Where events go: the data folder's log, or a service. */
interface Sink {
  publishBatch(items: readonly Item[]): Promise<readonly Published[]>;
  /** One event, not as a batch: errors then name no batch index. */
  publishOne(item: Item): Promise<readonly Published[]>;
}
interface Published {
  readonly position: string;
  readonly id: string;
}
type Item = ReturnType<typeof toItem>;

const published = (result: PublishResult): Published => ({ position: result.position, id: result.event.id });

async function publishWith(sink: Sink, type: string | undefined, options: PublishCommandOptions, io: Io, stdin: Readable): Promise<number> {
  if (options.stdin === true) return publishLines(sink, stdin, io);
  const data = parseJson(options.payload as string, '--payload');
  const item: Item = { type: type as string, data, ...(options.key === undefined ? {} : { key: options.key }), ...(options.id === undefined ? {} : { id: options.id }) };
  await printResults(io, await sink.publishOne(item));
  return 0;
}

interface Line {
  readonly number: number;
  readonly text: string;
}

/** Appends NDJSON lines as they arrive, in batches of up to 100 lines or 10 ms; a bad line fails only its batch. */
async function publishLines(sink: Sink, input: Readable, io: Io): Promise<number> {
  let failedBatches = 0;
  let batch: Line[] = [];
  let timer: NodeJS.Timeout | undefined;
  let chain = Promise.resolve();
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0) return;
    const lines = batch;
    batch = [];
    // Batches are appended one after another, in input order, while reading goes on.
    chain = chain.then(async () => {
      if (!(await publishBatch(sink, lines, io))) failedBatches++;
    });
  };
  let number = 0;
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    number++;
    if (text.trim() === '') continue;
    batch.push({ number, text });
    if (batch.length >= stdinBatchLines) flush();
    else timer ??= setTimeout(flush, stdinBatchMs);
  }
  flush();
  await chain;
  return failedBatches === 0 ? 0 : 1;
}

async function publishBatch(sink: Sink, lines: readonly Line[], io: Io): Promise<boolean> {
  const range = lines.length === 1 ? `line ${lines[0]?.number}` : `lines ${lines[0]?.number}-${lines[lines.length - 1]?.number}`;
  let current: Line = lines[0] as Line;
  try {
    const items = lines.map((line) => {
      current = line;
      return toItem(parseJson(line.text, `line ${line.number}`));
    });
    await printResults(io, await sink.publishBatch(items));
    return true;
  } catch (error) {
    printError(io, error, `${badLines(error, lines, current)}; the batch of ${range} was not appended`);
    return false;
  }
}

/** Names the input lines an error is about, from the batch indexes in its details. */
function badLines(error: unknown, lines: readonly Line[], current: Line): string {
  if (!isUnilogError(error)) return `line ${current.number}`;
  const lineOf = (index: number | undefined) => (lines[index ?? 0] ?? current).number;
  if (isUnilogError(error, 'SchemaViolation')) {
    const numbers = [...new Set(error.details.issues.map((issue: ValidationIssue) => lineOf(issue.index)))];
    return `line ${numbers.join(', ')}`;
  }
  const index = (error.details as { index?: unknown }).index;
  return `line ${typeof index === 'number' ? lineOf(index) : current.number}`;
}

function toItem(value: unknown): { type: string; data: unknown; key?: string; id?: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw usage('each line must be a JSON object { "type", "data", "key"? }');
  const { type, data, key, id } = value as Record<string, unknown>;
  if (typeof type !== 'string') throw usage('each line needs "type": the event type, as a string');
  if (key !== undefined && typeof key !== 'string') throw usage('"key" must be a string');
  if (id !== undefined && typeof id !== 'string') throw usage('"id" must be a string');
  return { type, data, ...(key === undefined ? {} : { key }), ...(id === undefined ? {} : { id }) };
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new UnilogError('InvalidArgument', `${where} is not JSON: ${(cause as Error).message}`, { argument: where, reason: 'not JSON' }, { cause });
  }
}

function usage(reason: string): UnilogError<'InvalidArgument'> {
  return usageError(`unilog publish: ${reason}.`);
}

async function printResults(io: Io, results: readonly Published[]): Promise<void> {
  await write(io.stdout, results.map((r) => `${JSON.stringify({ position: r.position, id: r.id })}\n`).join(''));
}
