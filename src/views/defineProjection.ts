import type { z } from 'zod';
import { UnilogError } from '../errors.ts';
import type { EventOf } from '../events/catalog.ts';
import type { AnyEventDefinition, EventData } from '../events/defineEvent.ts';
import type { TypedEventEnvelope } from '../events/envelope.ts';
import type { Position } from '../log/eventLog.ts';
import type { ViewLayout } from './viewStore.ts';

/** One view table: its rows' zod schema, the field that is the key, and indexed fields. */
export interface TableDefinition<TRow extends z.ZodType = z.ZodType> {
  readonly row: TRow;
  readonly key: keyof z.output<TRow> & string;
  readonly indexes?: readonly (keyof z.output<TRow> & string)[];
}

/** Any table definition: the constraint tables are inferred under, before their keys are checked. */
export interface AnyTableDefinition {
  readonly row: z.ZodType;
  readonly key: string;
  readonly indexes?: readonly string[];
}

/** The tables with each key and index checked against its own row schema. */
export type CheckedTables<T extends Record<string, AnyTableDefinition>> = { readonly [K in keyof T]: TableDefinition<T[K]['row']> };

/** The row type of a table definition. */
export type RowOf<T extends AnyTableDefinition> = z.output<T['row']>;

/** Reads and writes of one table inside a handler; writes apply with the batch's checkpoint, atomically. */
export interface TableTransaction<TRow> {
  /** The row of `key`: frozen, so build a new row to change it (`{ ...row, field }`). */
  get(key: string): Promise<Readonly<TRow> | undefined>;
  /** Rows whose indexed `field` equals `value`, this batch's writes included. */
  query(field: string, value: string | number | boolean): Promise<Readonly<TRow>[]>;
  put(row: TRow): void;
  delete(key: string): void;
}

/** The tables of a view as a handler sees them. */
export type ViewTransaction<TTables extends Record<string, AnyTableDefinition>> = { readonly [K in keyof TTables]: TableTransaction<RowOf<TTables[K]>> };

/** The read side of a view: what the application serves from. */
export interface TableReader<TRow> {
  get(key: string): Promise<Readonly<TRow> | undefined>;
  query(field: string, value: string | number | boolean, options?: { limit?: number }): Promise<Readonly<TRow>[]>;
  scan(options?: { after?: string; limit?: number }): Promise<Readonly<TRow>[]>;
}

/** The tables of a view for reading. */
export type ViewReader<TTables extends Record<string, AnyTableDefinition>> = { readonly [K in keyof TTables]: TableReader<RowOf<TTables[K]>> };

/** The event a handler of type `T` receives: the envelope, typed by the catalog, upcast to the newest version. */
export type ProjectionEvent<TDefs extends AnyEventDefinition, T extends string> = TypedEventEnvelope<T, EventData<EventOf<TDefs, T>>>;

/** What else a handler may know about the event. */
export interface HandlerContext {
  readonly position: Position;
}

/** A projection handler: given the event and a view transaction, it reads and writes rows, nothing else. */
export type ProjectionHandler<TDefs extends AnyEventDefinition, TTables extends Record<string, AnyTableDefinition>, T extends string> = (
  event: ProjectionEvent<TDefs, T>,
  view: ViewTransaction<TTables>,
  context: HandlerContext,
) => void | Promise<void>;

/** Handlers by event type; only types of the catalog are allowed. */
export type ProjectionHandlers<TDefs extends AnyEventDefinition, TTables extends Record<string, AnyTableDefinition>> = {
  readonly [T in TDefs['type']]?: ProjectionHandler<TDefs, TTables, T>;
};

/** The header of {@link defineProjection}. */
export interface ProjectionHeader<TDefs extends AnyEventDefinition, TTables extends Record<string, AnyTableDefinition>> {
  /** Unique among the application's consumers; names its view database. Letters, digits, `-` and `_`. */
  readonly name: string;
  /** Bump it when handlers change: the view is then rebuilt from the log at start. */
  readonly version: number;
  /** The event definitions the handlers take (their newest versions). */
  readonly events: readonly TDefs[];
  readonly tables: TTables & CheckedTables<TTables>;
  readonly description?: string;
}

/** A projection: header and handlers, frozen; does no I/O. */
export interface Projection<TDefs extends AnyEventDefinition = AnyEventDefinition, TTables extends Record<string, AnyTableDefinition> = Record<string, AnyTableDefinition>> {
  readonly kind: 'projection';
  readonly name: string;
  readonly version: number;
  readonly events: readonly TDefs[];
  readonly tables: TTables;
  /** The storage layout derived from the tables. */
  readonly layout: ViewLayout;
  readonly handlers: ProjectionHandlers<TDefs, TTables>;
  readonly description?: string;
}

/** A projection of any events and tables. */
// Handlers take the projection's own event and table types; `any` in those positions lets every projection in.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyProjection = Projection<any, any>;

const namePattern = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * Declares a projection: a header (name, version, event definitions, tables) and then its handlers.
 * @example
 * const catalogView = defineProjection({
 *   name: 'product-catalog', version: 1, events: [ProductCreated],
 *   tables: { products: { row: z.object({ id: z.string(), category: z.string() }), key: 'id', indexes: ['category'] } },
 * }).on({
 *   'product.created': (event, view) => view.products.put({ id: event.data.id, category: event.data.category }),
 * });
 */
export function defineProjection<const TDefs extends AnyEventDefinition, const TTables extends Record<string, AnyTableDefinition>>(
  header: ProjectionHeader<TDefs, TTables>,
): { on(handlers: ProjectionHandlers<TDefs, TTables>): Projection<TDefs, TTables> } {
  const invalid = (reason: string) => new UnilogError('InvalidProjection', `Projection ${JSON.stringify(header.name)}: ${reason}.`, { name: header.name, reason });
  if (typeof header.name !== 'string' || !namePattern.test(header.name)) throw invalid('the name must start with a letter and hold up to 64 letters, digits, - and _');
  if (!Number.isSafeInteger(header.version) || header.version < 1) throw invalid('the version must be a whole number from 1 up');
  const layout: Record<string, { key: string; indexes: readonly string[] }> = {};
  for (const [table, definition] of Object.entries(header.tables)) {
    if (!namePattern.test(table)) throw invalid(`table name ${JSON.stringify(table)} must start with a letter and hold letters, digits, - and _`);
    const indexes = definition.indexes ?? [];
    for (const field of [definition.key, ...indexes]) {
      if (typeof field !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(field)) throw invalid(`table ${table}: field ${JSON.stringify(field)} must be an identifier`);
    }
    layout[table] = { key: definition.key, indexes };
  }
  const known = new Set(header.events.map((e) => e.type));
  return {
    on(handlers) {
      for (const [type, handler] of Object.entries(handlers)) {
        if (!known.has(type)) throw invalid(`a handler for ${JSON.stringify(type)}, which is not among its events`);
        if (typeof handler !== 'function') throw invalid(`the handler for ${type} is not a function`);
      }
      return Object.freeze({
        kind: 'projection',
        name: header.name,
        version: header.version,
        events: header.events,
        tables: header.tables,
        layout: Object.freeze(layout),
        handlers: Object.freeze({ ...handlers }),
        ...(header.description === undefined ? {} : { description: header.description }),
      });
    },
  };
}
