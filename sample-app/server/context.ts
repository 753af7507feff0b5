import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Consumer, EventLog, Publisher } from '../../src/index.ts';
import type { assignmentsProjection, cartsProjection, catalogProjection, categoriesProjection, photographersProjection, scoresProjection } from '../../projections/index.ts';
import type { CartCommandHandler } from '../cart/cartDecider.ts';
import type { helloRetailEvents } from '../events.ts';
import type { SimulatorSmsGateway } from '../sms/simulator/index.ts';
import type { PhoneSimulator } from './phoneSimulator.ts';

/** Any event of the demo's catalog. */
export type HelloRetailEvent = (typeof helloRetailEvents)[number];

/** The six projections as running consumers, typed by their tables: the pages read these views. */
export interface HelloRetailViews {
  readonly categories: Consumer<(typeof categoriesProjection)['tables']>;
  readonly catalog: Consumer<(typeof catalogProjection)['tables']>;
  readonly photographers: Consumer<(typeof photographersProjection)['tables']>;
  readonly assignments: Consumer<(typeof assignmentsProjection)['tables']>;
  readonly carts: Consumer<(typeof cartsProjection)['tables']>;
  readonly scores: Consumer<(typeof scoresProjection)['tables']>;
}

/** The web services' publishers, each with its own producer identity (the CloudEvents `source`). */
export interface WebPublishers {
  readonly merchant: Publisher<HelloRetailEvent>;
  readonly shop: Publisher<HelloRetailEvent>;
  readonly photographer: Publisher<HelloRetailEvent>;
}

/** What the web UI reads, writes and operates. */
export interface WebDeps {
  readonly log: EventLog;
  readonly views: HelloRetailViews;
  /** Every consumer the demo runs (the projections and the workflow's reactors), for the operator page. */
  readonly consumers: ReadonlyMap<string, Consumer>;
  readonly publishers: WebPublishers;
  /** The shop's cart commands: the cart decider's command handler, on the shop's event store (`cart-<customerId>` streams). */
  readonly cart: CartCommandHandler;
  /** The simulated phones' inboxes. */
  readonly sms: SimulatorSmsGateway;
  /** Sends a photographer's photo as an MMS through the Twilio webhook. */
  readonly phone: PhoneSimulator;
}

/** How long a page waits for its view to catch up with a write before it shows what it has. */
export const readYourWritesMs = 5000;

/**
 * Waits until every consumer has processed the log up to its current head (read-your-writes): the next page then
 * shows the write and everything the write caused so far. A timeout is not an error: the page says it is catching up.
 */
export async function settle(log: EventLog, consumers: readonly Consumer[]): Promise<boolean> {
  const head = await log.head();
  const results = await Promise.allSettled(consumers.map((consumer) => consumer.catchUp(head, { timeoutMs: readYourWritesMs })));
  return results.every((r) => r.status === 'fulfilled');
}

/** A one-shot message for the next page: the result of the action that redirected there. */
export interface Notice {
  readonly kind: 'ok' | 'error';
  readonly text: string;
}

const flashCookie = 'hr_flash';

/** Keeps `notice` for the next page the browser loads. */
export function flash(c: Context, notice: Notice): void {
  setCookie(c, flashCookie, encodeURIComponent(JSON.stringify(notice)), { path: '/', httpOnly: true, sameSite: 'Lax', maxAge: 60 });
}

/** Takes the notice the previous action left, if any. */
export function takeFlash(c: Context): Notice | undefined {
  const value = getCookie(c, flashCookie);
  if (value === undefined) return undefined;
  deleteCookie(c, flashCookie, { path: '/' });
  try {
    const parsed = JSON.parse(decodeURIComponent(value)) as Partial<Notice>;
    if ((parsed.kind === 'ok' || parsed.kind === 'error') && typeof parsed.text === 'string') return { kind: parsed.kind, text: parsed.text.slice(0, 500) };
  } catch {
    // A damaged cookie only loses one message.
  }
  return undefined;
}

const customerCookie = 'hr_customer';

/** The customer of this browser: an id kept in a cookie (the demo has no sign-in); the cart id is the customer id. */
export function customerOf(c: Context): string {
  const known = getCookie(c, customerCookie);
  if (known !== undefined && /^c-[a-z0-9]{6,32}$/.test(known)) return known;
  const id = `c-${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
  setCookie(c, customerCookie, id, { path: '/', httpOnly: true, sameSite: 'Lax', maxAge: 60 * 60 * 24 * 365 });
  return id;
}

/** A form field as a trimmed string ('' when missing or a file). */
export function field(form: Record<string, unknown>, name: string): string {
  const value = form[name];
  return typeof value === 'string' ? value.trim() : '';
}

/** The message of an error, for a notice. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
