import type { z } from 'zod';
import { UnilogError } from '../errors.ts';
import { eventTypeSchema } from './envelope.ts';

/** A schema for event data: any zod schema. */
export type EventSchema = z.ZodType;

/** A frozen description of one version of one event type. */
export interface EventDefinition<TType extends string = string, TSchema extends EventSchema = EventSchema> {
  /** The event type, as it appears in the envelope's `type` (`product.created`). */
  readonly type: TType;
  /** The schema version `data` follows; starts at 1 and grows by one. */
  readonly version: number;
  /** The zod schema of `data`. */
  readonly schema: TSchema;
  /** The partition key of an event, from its data: events with one key keep their order on every backend. */
  readonly key: (data: z.output<TSchema>) => string;
  /** What the event means, for docs and the schema listing. */
  readonly description?: string;
  /** The definition of the previous version, when this type has one. */
  readonly previous?: AnyEventDefinition;
  /** Turns data of the previous version into data of this version. */
  readonly upcast?: (data: unknown) => unknown;
}

/** Any event definition, whatever its type and schema. */
// The key function takes the definition's own data type; `never` makes every definition assignable here.
export type AnyEventDefinition = Omit<EventDefinition, 'key'> & { readonly key: (data: never) => string };

/** The data of an event as stored and read (the schema's output). */
export type EventData<D extends AnyEventDefinition> = D extends EventDefinition<string, infer S> ? z.output<S> : never;

/** The data a producer passes to publish (the schema's input). */
export type EventInput<D extends AnyEventDefinition> = D extends EventDefinition<string, infer S> ? z.input<S> : never;

/** Options of {@link defineEvent}. */
export interface DefineEventOptions<TType extends string, TSchema extends EventSchema, TPrevious extends AnyEventDefinition> {
  readonly type: TType;
  /** @default 1, or the previous version plus one */
  readonly version?: number;
  readonly schema: TSchema;
  readonly key: (data: z.output<TSchema>) => string;
  readonly description?: string;
  /** The previous version of this type; requires `upcast`. */
  readonly previous?: TPrevious;
  /** How data of `previous` becomes data of this version. */
  readonly upcast?: (data: EventData<TPrevious>) => z.input<TSchema>;
}

/**
 * Declares one version of an event type; does no I/O.
 * @example
 * const ProductCreated = defineEvent({
 *   type: 'product.created',
 *   schema: z.object({ id: z.string(), name: z.string() }),
 *   key: (product) => product.id,
 * });
 */
export function defineEvent<const TType extends string, TSchema extends EventSchema, TPrevious extends AnyEventDefinition = never>(
  options: DefineEventOptions<TType, TSchema, TPrevious>,
): EventDefinition<TType, TSchema> {
  const { type, schema, key, description, previous, upcast } = options;
  const invalid = (reason: string) => new UnilogError('InvalidEventDefinition', `Event type ${JSON.stringify(type)}: ${reason}.`, { type, reason });
  if (!eventTypeSchema.safeParse(type).success) {
    throw invalid('the type must be words of letters and digits joined by . _ / or - (for example product.created), at most 256 characters');
  }
  const version = options.version ?? (previous ? previous.version + 1 : 1);
  if (!Number.isSafeInteger(version) || version < 1) throw invalid(`the version must be a whole number from 1 up, not ${String(version)}`);
  if (typeof key !== 'function') throw invalid('key must be a function of the data that returns the partition key');
  if (previous) {
    if (previous.type !== type) throw invalid(`previous is a definition of ${JSON.stringify(previous.type)}, not of this type`);
    if (previous.version !== version - 1) throw invalid(`previous has version ${previous.version}; version ${version} must follow version ${version - 1}`);
    if (typeof upcast !== 'function') throw invalid(`version ${version} needs upcast: how version ${previous.version} data becomes version ${version} data`);
  } else {
    if (upcast) throw invalid('upcast needs previous: the definition of the version it upcasts from');
    if (version !== 1) throw invalid(`version ${version} needs previous: the definition of version ${version - 1}`);
  }
  return Object.freeze({
    type,
    version,
    schema,
    key,
    ...(description === undefined ? {} : { description }),
    ...(previous === undefined ? {} : { previous }),
    ...(upcast === undefined ? {} : { upcast: upcast as (data: unknown) => unknown }),
  });
}
