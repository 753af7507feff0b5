import { UnilogError } from '../errors.ts';
import type { AnyEventDefinition } from '../events/defineEvent.ts';
import type { Position } from '../log/eventLog.ts';
import type { ProjectionEvent } from '../views/defineProjection.ts';

/** What a reactor handler is given besides the event. */
export interface ReactorContext {
  /** The event's id: pass it to the API you call, so that a repeated call (after a crash) is recognised. */
  readonly idempotencyKey: string;
  readonly position: Position;
}

/** A reactor handler: performs a side effect for one event; may run more than once for the same event. */
export type ReactorHandler<TDefs extends AnyEventDefinition, T extends string> = (event: ProjectionEvent<TDefs, T>, context: ReactorContext) => void | Promise<void>;

/** Reactor handlers by event type. */
export type ReactorHandlers<TDefs extends AnyEventDefinition> = { readonly [T in TDefs['type']]?: ReactorHandler<TDefs, T> };

/** A reactor: a consumer with side effects, at least once, never replayed by a rebuild. */
export interface Reactor<TDefs extends AnyEventDefinition = AnyEventDefinition> {
  readonly kind: 'reactor';
  readonly name: string;
  readonly events: readonly TDefs[];
  /** Where a new reactor starts: at the head (only events published from now on) or at the start of the log. */
  readonly startFrom: 'head' | 'start';
  readonly handlers: ReactorHandlers<TDefs>;
}

/** A reactor of any events. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers take the reactor's own event types
export type AnyReactor = Reactor<any>;

/**
 * Declares a reactor: side effects (send a message, call an API) for events, at least once, with the event id as
 * idempotency key. A new reactor starts at the head of the log unless `startFrom: 'start'`.
 * @example
 * const notifier = defineReactor({ name: 'sms-notifier', events: [PhotoRequested] }).on({
 *   'photo.requested': (event, { idempotencyKey }) => sms.send(event.data.phone, 'Please snap a pic', idempotencyKey),
 * });
 */
export function defineReactor<const TDefs extends AnyEventDefinition>(header: { readonly name: string; readonly events: readonly TDefs[]; readonly startFrom?: 'head' | 'start' }): {
  on(handlers: ReactorHandlers<TDefs>): Reactor<TDefs>;
} {
  if (typeof header.name !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(header.name)) {
    throw new UnilogError('InvalidProjection', `Reactor ${JSON.stringify(header.name)}: the name must start with a letter and hold up to 64 letters, digits, - and _.`, { name: header.name, reason: 'bad name' });
  }
  const known = new Set(header.events.map((e) => e.type));
  return {
    on(handlers) {
      for (const type of Object.keys(handlers)) {
        if (!known.has(type)) throw new UnilogError('InvalidProjection', `Reactor ${header.name}: a handler for ${JSON.stringify(type)}, which is not among its events.`, { name: header.name, reason: 'unknown event type' });
      }
      return Object.freeze({ kind: 'reactor', name: header.name, events: header.events, startFrom: header.startFrom ?? 'head', handlers: Object.freeze({ ...handlers }) });
    },
  };
}
