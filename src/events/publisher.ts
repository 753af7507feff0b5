import { UnilogError, type ValidationIssue } from '../errors.ts';
import type { EventLog, Position } from '../log/eventLog.ts';
import { createCatalog, type EventCatalog, type EventOf } from './catalog.ts';
import type { AnyEventDefinition, EventInput } from './defineEvent.ts';
import { eventIdPattern, type EventEnvelope } from './envelope.ts';
import { nextEventId } from './eventId.ts';
import { findNonJsonValue, markJsonChecked } from './jsonValue.ts';

/** Options of {@link createPublisher}. */
export interface PublisherOptions<TDefs extends AnyEventDefinition> {
  /** The log events are appended to. */
  readonly log: EventLog;
  /** The known event types: a catalog, or the definitions to build one from. */
  readonly catalog: EventCatalog<TDefs> | readonly TDefs[];
  /** The producer's identity, stamped on every event as CloudEvents `source`. */
  readonly source: string;
  /** Milliseconds since the epoch, for `time` and ids. @default Date.now */
  readonly clock?: () => number;
}

/** Per-event options of `publish`. */
export interface PublishOptions {
  /** Overrides the partition key the event type derives from the data. */
  readonly key?: string;
  /** A client-chosen id (1–128 of `[A-Za-z0-9._:-]`); a ULID is generated when absent. */
  readonly id?: string;
  /** The id of the request or workflow this event belongs to. */
  readonly correlationId?: string;
  /** The id of the event or command that caused this one. */
  readonly causationId?: string;
  /** Sets causation to this event and carries its correlation (or its id) on. */
  readonly causedBy?: Pick<EventEnvelope, 'id' | 'correlationid'>;
}

/** One event of a batch. */
export type PublishItem<TDefs extends AnyEventDefinition> = {
  [T in TDefs['type']]: { readonly type: T; readonly data: EventInput<EventOf<TDefs, T>> } & PublishOptions;
}[TDefs['type']];

/** The result of publishing one event. */
export interface PublishResult {
  readonly position: Position;
  readonly event: EventEnvelope;
}

/** Validates, wraps and appends typed events for one producer. */
export interface Publisher<TDefs extends AnyEventDefinition = AnyEventDefinition> {
  /** The catalog events are checked against. */
  readonly catalog: EventCatalog<TDefs>;
  /** Publishes one event; resolves once it is durable in the log. */
  publish<T extends TDefs['type']>(type: T, data: EventInput<EventOf<TDefs, T>>, options?: PublishOptions): Promise<PublishResult>;
  /** Publishes a batch atomically: if any event is bad, none is appended. */
  publishBatch(items: readonly PublishItem<TDefs>[]): Promise<PublishResult[]>;
  /** Validates and wraps events without appending them (the service uses this to check a batch before it queues it). */
  prepare(items: readonly PublishItemShape[], options?: { readonly batch?: boolean }): EventEnvelope[];
}

const maxKeyLength = 256;
const maxCorrelationLength = 256;
/** The last millisecond an ISO 8601 time with a four-digit year can name (9999-12-31T23:59:59.999Z). */
const maxTime = 253_402_300_799_999;



/**
 * Creates a publisher: `publish` validates data with the type's zod schema, wraps it in a CloudEvents
 * envelope (ULID id, source, time, subject = partition key) and appends it. Bad events never reach the log.
 * @example
 * const publisher = createPublisher({ log, catalog: [ProductCreated], source: 'product-service' });
 * await publisher.publish('product.created', { id: 'p1', name: 'Boots' });
 */
export function createPublisher<const TDefs extends AnyEventDefinition>(options: PublisherOptions<TDefs>): Publisher<TDefs> {
  const { log, source } = options;
  const catalog: EventCatalog<TDefs> = isCatalog(options.catalog) ? options.catalog : createCatalog(options.catalog);
  const clock = options.clock ?? Date.now;
  if (typeof source !== 'string' || source.length === 0) {
    throw new UnilogError('InvalidArgument', 'createPublisher needs a source: the name of the producing service (for example "product-service").', { argument: 'source', reason: 'empty' });
  }

  function prepare(items: readonly PublishItemShape[], prepareOptions: { readonly batch?: boolean } = {}): EventEnvelope[] {
    const envelopes: EventEnvelope[] = [];
    const issues: ValidationIssue[] = [];
    let violated: { type: string; version: number } | undefined;
    const batch = prepareOptions.batch ?? items.length > 1;
    for (let index = 0; index < items.length; index++) {
      const item = items[index] as PublishItemShape;
      const def: AnyEventDefinition = catalog.latest(item.type, batch ? index : undefined);
      const parsed = def.schema.safeParse(item.data);
      if (!parsed.success) {
        violated ??= { type: def.type, version: def.version };
        for (const issue of parsed.error.issues) issues.push({ ...where(batch, index), path: issue.path.map(pathSegment), code: issue.code, message: issue.message });
        continue;
      }
      const notJson = findNonJsonValue(parsed.data);
      if (notJson) {
        throw new UnilogError('EventNotSerializable', `${def.type} data at ${formatPath(notJson.path)} cannot be stored: ${notJson.reason}.`, { ...notJson, ...where(batch, index) });
      }
      const key = item.key ?? partitionKey(def, parsed.data, where(batch, index));
      if (typeof key !== 'string' || key.length === 0 || key.length > maxKeyLength) {
        // A long key is shown cut: an error must not echo megabytes back (the service sends it to the client).
        const shown = typeof key === 'string' ? (key.length > 64 ? `${JSON.stringify(key.slice(0, 64))}… (${key.length} characters)` : JSON.stringify(key)) : typeof key;
        throw new UnilogError('InvalidPartitionKey', `The partition key of ${def.type} must be a string of 1 to ${maxKeyLength} characters, not ${shown}: check the key function of its definition.`, { type: def.type, key: typeof key === 'string' && key.length > 64 ? `${key.slice(0, 64)}…` : key, ...where(batch, index) });
      }
      if (item.id !== undefined || item.correlationId !== undefined || item.causationId !== undefined) {
        const optionIssues = checkOptions(item);
        if (optionIssues.length > 0) {
          violated ??= { type: def.type, version: def.version };
          for (const issue of optionIssues) issues.push({ ...where(batch, index), ...issue });
          continue;
        }
      }
      const now = clock();
      if (!Number.isFinite(now) || now < 0 || now > maxTime) {
        throw new UnilogError('InvalidArgument', `The publisher's clock returned ${String(now)}: it must return milliseconds since 1970 before the year 10000.`, { argument: 'clock', reason: 'out of range' });
      }
      const id = item.id ?? nextEventId(now);
      const time = isoTime(now);
      const correlationid = item.correlationId ?? item.causedBy?.correlationid ?? item.causedBy?.id;
      const causationid = item.causationId ?? item.causedBy?.id;
      // Object literals of one fixed shape are much faster than literals with conditional spreads.
      const envelope: EventEnvelope =
        correlationid === undefined && causationid === undefined
          ? { specversion: '1.0', id, source, type: def.type, time, subject: key, datacontenttype: 'application/json', dataversion: def.version, data: parsed.data }
          : {
              specversion: '1.0',
              id,
              source,
              type: def.type,
              time,
              subject: key,
              datacontenttype: 'application/json',
              dataversion: def.version,
              ...(correlationid === undefined ? {} : { correlationid }),
              ...(causationid === undefined ? {} : { causationid }),
              data: parsed.data,
            };
      envelopes.push(envelope);
    }
    if (violated) {
      const where = batch ? ` in ${new Set(issues.map((i) => i.index)).size} event(s) of the batch` : '';
      throw new UnilogError('SchemaViolation', `Invalid ${violated.type} data${where}: ${issues.map((i) => `${batch ? `[${String(i.index)}] ` : ''}${formatPath(i.path)}: ${i.message}`).join('; ')}.`, {
        ...violated,
        issues,
      });
    }
    // Checked above, so the log need not walk the data again (one mark per batch: a WeakSet entry is costly).
    markJsonChecked(envelopes);
    return envelopes;
  }

  async function appendAll(envelopes: EventEnvelope[]): Promise<PublishResult[]> {
    const { positions } = await log.append(envelopes);
    return envelopes.map((event, i) => ({ position: positions[i] as Position, event }));
  }

  return Object.freeze({
    catalog,
    async publish(type, data, publishOptions = {}) {
      const [result] = await appendAll(prepare([{ ...publishOptions, type, data }]));
      return result as PublishResult;
    },
    async publishBatch(items) {
      return appendAll(prepare(items, { batch: true }));
    },
    prepare,
  } satisfies Publisher<TDefs>);
}

// Many events share a millisecond; formatting its ISO string once saves a Date and a toISOString per event.
let isoMs = Number.NaN;
let isoText = '';
function isoTime(ms: number): string {
  if (ms !== isoMs) {
    isoText = new Date(ms).toISOString();
    isoMs = ms;
  }
  return isoText;
}

/** The batch index to put in error details, when the events came as a batch. */
function where(batch: boolean, index: number): { index?: number } {
  return batch ? { index } : {};
}

/** Runs the definition's key function; a throwing one is reported as a bad key, with its error as the cause. */
function partitionKey(def: AnyEventDefinition, data: unknown, at: { index?: number }): unknown {
  try {
    return (def.key as (data: unknown) => unknown)(data);
  } catch (cause) {
    throw new UnilogError('InvalidPartitionKey', `The key function of ${def.type} threw (${(cause as Error).message}): fix it so it returns a string for every valid event.`, { type: def.type, key: undefined, ...at }, { cause });
  }
}

/** Checks the per-event options that come from outside (the CLI, the service), as validation issues. */
function checkOptions(item: PublishItemShape): Omit<ValidationIssue, 'index'>[] {
  const problems: Omit<ValidationIssue, 'index'>[] = [];
  if (item.id !== undefined && (typeof item.id !== 'string' || !eventIdPattern.test(item.id))) {
    problems.push({ path: ['id'], code: 'invalid_id', message: 'an event id is 1 to 128 characters of letters, digits and . _ : -' });
  }
  for (const [name, value] of [['correlationId', item.correlationId], ['causationId', item.causationId]] as const) {
    if (value !== undefined && (typeof value !== 'string' || value.length === 0 || value.length > maxCorrelationLength)) {
      problems.push({ path: [name], code: 'invalid_string', message: `${name} must be a string of 1 to ${maxCorrelationLength} characters` });
    }
  }
  return problems;
}

/** One event to prepare, untyped: the service and CLI check input from outside with it. */
export type PublishItemShape = { readonly type: string; readonly data: unknown } & PublishOptions;

function isCatalog<TDefs extends AnyEventDefinition>(value: EventCatalog<TDefs> | readonly TDefs[]): value is EventCatalog<TDefs> {
  return !Array.isArray(value);
}

function pathSegment(segment: PropertyKey): string | number {
  return typeof segment === 'symbol' ? segment.toString() : segment;
}

function formatPath(path: readonly (string | number)[]): string {
  return path.length === 0 ? '(root)' : path.join('.');
}
