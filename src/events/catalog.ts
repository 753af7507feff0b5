import { z } from 'zod';
import { UnilogError } from '../errors.ts';
import type { AnyEventDefinition } from './defineEvent.ts';
import type { EventEnvelope } from './envelope.ts';

/** The definition of type `T` among `TDefs`. */
export type EventOf<TDefs extends AnyEventDefinition, T extends string> = Extract<TDefs, { readonly type: T }>;

/** Every event type and version an application knows, with upcasting and JSON Schema export. */
export interface EventCatalog<TDefs extends AnyEventDefinition = AnyEventDefinition> {
  /** The known event types, sorted. */
  readonly types: readonly TDefs['type'][];
  /** The newest definition of `type`; throws `UnknownEventType` when the catalog does not know it. */
  latest<T extends TDefs['type']>(type: T, index?: number): EventOf<TDefs, T>;
  /** The definition of one version; throws `UnknownEventType` or `UnknownEventVersion`. */
  version(type: string, version: number, index?: number): AnyEventDefinition;
  /** Every version of every type, oldest version first. */
  definitions(): readonly AnyEventDefinition[];
  /** Whether the catalog knows `type`. */
  has(type: string): type is TDefs['type'];
  /** The envelope with its data brought to the newest version of its type; unknown types pass unchanged. */
  upcast(event: EventEnvelope): EventEnvelope;
  /** The JSON Schema (draft 2020-12) of one version's data, the newest by default. */
  jsonSchema(type: string, version?: number): Record<string, unknown>;
}

/**
 * Builds a catalog from event definitions; older versions are found through each definition's `previous`.
 * @example
 * const catalog = createCatalog([ProductCreated, ProductPurchased]);
 */
export function createCatalog<const TDefs extends readonly AnyEventDefinition[]>(definitions: TDefs): EventCatalog<TDefs[number]> {
  // versions.get(type)[v - 1] is version v of type.
  const versions = new Map<string, AnyEventDefinition[]>();
  for (const newest of definitions) {
    for (let def: AnyEventDefinition | undefined = newest; def; def = def.previous) {
      const known: AnyEventDefinition[] = versions.get(def.type) ?? [];
      const existing: AnyEventDefinition | undefined = known[def.version - 1];
      if (existing && existing !== def) {
        throw new UnilogError('InvalidEventDefinition', `Event type ${JSON.stringify(def.type)} version ${def.version} is defined twice: keep one definition and import it where it is needed.`, {
          type: def.type,
          reason: `version ${def.version} defined twice`,
        });
      }
      known[def.version - 1] = def;
      versions.set(def.type, known);
    }
  }
  for (const [type, known] of versions) {
    for (let i = 0; i < known.length; i++) {
      if (!known[i]) throw new UnilogError('InvalidEventDefinition', `Event type ${JSON.stringify(type)} lacks version ${i + 1}: pass it as previous of version ${i + 2}.`, { type, reason: `version ${i + 1} missing` });
    }
  }
  const types = [...versions.keys()].sort();
  const jsonSchemas = new Map<AnyEventDefinition, Record<string, unknown>>();

  function versionsOf(type: string, index?: number): AnyEventDefinition[] {
    const known = versions.get(type);
    if (known) return known;
    throw new UnilogError('UnknownEventType', `Unknown event type ${JSON.stringify(type)}: define it with defineEvent and add it to the catalog (known: ${types.join(', ') || 'none'}).`, {
      type,
      known: types,
      ...(index === undefined ? {} : { index }),
    });
  }

  function version(type: string, v: number, index?: number): AnyEventDefinition {
    const known = versionsOf(type, index);
    const def = Number.isSafeInteger(v) ? known[v - 1] : undefined;
    if (def) return def;
    throw new UnilogError('UnknownEventVersion', `Event type ${JSON.stringify(type)} has no version ${String(v)} (known: ${known.map((d) => d.version).join(', ')}); upgrade the reader's catalog.`, {
      type,
      version: v,
      known: known.map((d) => d.version),
      ...(index === undefined ? {} : { index }),
    });
  }

  const catalog: EventCatalog<TDefs[number]> = {
    types,
    latest(type, index) {
      const known = versionsOf(type, index);
      return known[known.length - 1] as never;
    },
    version,
    definitions: () => [...versions.values()].flat(),
    has: (type): type is TDefs[number]['type'] => versions.has(type),
    upcast(event) {
      const known = versions.get(event.type);
      if (!known || event.dataversion === known.length) return event;
      let data = event.data;
      let v = event.dataversion;
      // Throws UnknownEventVersion for a version newer than this catalog knows.
      version(event.type, v);
      try {
        for (; v < known.length; v++) {
          const next = known[v];
          if (next?.upcast) data = next.upcast(data);
        }
        data = (known[known.length - 1] as AnyEventDefinition).schema.parse(data);
      } catch (cause) {
        throw new UnilogError('UpcastFailed', `Upcasting ${event.type} event ${event.id} from version ${event.dataversion} to ${known.length} failed: fix the upcast function of version ${v + 1}.`, {
          type: event.type,
          fromVersion: event.dataversion,
          id: event.id,
        }, { cause });
      }
      return { ...event, dataversion: known.length, data };
    },
    jsonSchema(type, v) {
      const known = versionsOf(type);
      const def = v === undefined ? (known[known.length - 1] as AnyEventDefinition) : version(type, v);
      let schema = jsonSchemas.get(def);
      if (!schema) {
        schema = z.toJSONSchema(def.schema, { io: 'input', unrepresentable: 'any' });
        jsonSchemas.set(def, schema);
      }
      return schema;
    },
  };
  return Object.freeze(catalog);
}
