/**
 * Bad input over HTTP: a corpus of bad requests to the event-log service, each answered with its status and stable
 * problem code, while the server stays up and the log's head does not move (checked before and after every case).
 * Then a fast-check fuzz of request bodies with the same invariant, judged by an oracle written from the API's rules.
 */
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/errors.ts';
import { createKey, revokeKey } from '../../src/service/keys.ts';
import { startTestService, type TestKeys } from '../support/service.ts';

// ---------------------------------------------------------------------------------------------------------------
// Requests and replies.

interface Ctx {
  readonly url: string;
  readonly port: number;
  readonly keys: TestKeys;
}

/** Who the request says it is: a test key, no header, or any header value built from the keys. */
type Auth = keyof TestKeys | 'none' | { readonly header: (keys: TestKeys) => string };

type Body =
  | { readonly json: unknown }
  | { readonly text: string }
  | { readonly bytes: Uint8Array }
  /** A chunked body without Content-Length. */
  | { readonly stream: () => ReadableStream<Uint8Array> }
  /** Bytes written as they are on a raw socket: the whole request, for what fetch will not send. */
  | { readonly raw: (ctx: Ctx) => readonly (string | Uint8Array)[] };

interface Req {
  readonly method?: 'POST' | 'GET';
  readonly path?: string;
  /** @default 'writer' */
  readonly auth?: Auth;
  /** `null`: no Content-Type header from us. @default 'application/json' */
  readonly contentType?: string | null;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Body;
}

interface BadCase {
  readonly name: string;
  readonly request: Req;
  readonly status: number;
  /** The problem code; absent where Node itself answers (431) with no problem document. */
  readonly code?: ErrorCode;
  /** The batch indexes the problem's `issues` must name (`[]`: issues without indexes, for a single event). */
  readonly issues?: readonly number[];
}

interface Reply {
  readonly status: number;
  readonly contentType: string | null;
  readonly wwwAuthenticate: string | null;
  readonly text: string;
}

const encoder = new TextEncoder();

function bytesOf(...parts: readonly (string | readonly number[])[]): Uint8Array {
  const buffers = parts.map((part) => (typeof part === 'string' ? Buffer.from(encoder.encode(part)) : Buffer.from(part)));
  return new Uint8Array(Buffer.concat(buffers));
}

function authHeader(auth: Auth, keys: TestKeys): string | undefined {
  if (auth === 'none') return undefined;
  if (typeof auth === 'string') return `Bearer ${keys[auth]}`;
  return auth.header(keys);
}

async function perform(ctx: Ctx, request: Req): Promise<Reply> {
  const body = request.body;
  if (body !== undefined && 'raw' in body) {
    const { data } = await rawExchange(ctx.port, body.raw(ctx), 10_000);
    return parseRawResponse(data);
  }
  const headers: Record<string, string> = { ...request.headers };
  const authorization = authHeader(request.auth ?? 'writer', ctx.keys);
  if (authorization !== undefined) headers.authorization = authorization;
  const contentType = request.contentType === undefined ? 'application/json' : request.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  let payload: string | Uint8Array | ReadableStream<Uint8Array> | undefined;
  if (body === undefined) payload = undefined;
  else if ('json' in body) payload = JSON.stringify(body.json);
  else if ('text' in body) payload = body.text;
  else if ('bytes' in body) payload = body.bytes;
  else payload = body.stream();
  const init: RequestInit & { duplex?: 'half' } = { method: request.method ?? 'POST', headers };
  if (payload !== undefined) {
    init.body = payload;
    if (payload instanceof ReadableStream) init.duplex = 'half';
  }
  const response = await fetch(`${ctx.url}${request.path ?? '/events'}`, init);
  return { status: response.status, contentType: response.headers.get('content-type'), wwwAuthenticate: response.headers.get('www-authenticate'), text: await response.text() };
}

/** The first HTTP/1.1 response in `data` (latin1 text off a socket). */
function parseRawResponse(data: string): Reply {
  const end = data.indexOf('\r\n\r\n');
  const head = end < 0 ? data : data.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  let text = end < 0 ? '' : data.slice(end + 4);
  if (headers.get('transfer-encoding') === 'chunked') {
    let out = '';
    for (let at = 0; ; ) {
      const lineEnd = text.indexOf('\r\n', at);
      const size = lineEnd < 0 ? 0 : parseInt(text.slice(at, lineEnd), 16);
      if (!(size > 0)) break;
      out += text.slice(lineEnd + 2, lineEnd + 2 + size);
      at = lineEnd + 2 + size + 2;
    }
    text = out;
  } else if (headers.has('content-length')) {
    text = text.slice(0, Number(headers.get('content-length')));
  }
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
  return { status: status === undefined ? 0 : Number(status), contentType: headers.get('content-type') ?? null, wwwAuthenticate: headers.get('www-authenticate') ?? null, text: Buffer.from(text, 'latin1').toString('utf8') };
}

/**
 * Writes `parts` on a fresh loopback socket and collects what comes back until the server closes the connection or
 * `boundMs` passes (then `closed` is false). Write errors after the server hung up are expected and ignored.
 */
function rawExchange(port: number, parts: readonly (string | Uint8Array)[], boundMs: number): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ data: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => {
      finish(false);
    }, boundMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      finish(true);
    });
    socket.on('connect', () => {
      for (const part of parts) socket.write(part);
    });
  });
}

interface Health {
  readonly ok: boolean;
  readonly head: string;
}

async function health(url: string): Promise<Health> {
  const response = await fetch(`${url}/health`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as Health;
  expect(body.ok).toBe(true);
  expect(body.head).toMatch(/^(0|[1-9][0-9]*)$/);
  return body;
}

interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly issues?: readonly { readonly index?: number; readonly path: readonly (string | number)[]; readonly message: string }[];
}

/** Asserts that a reply is the problem document of `status` and `code`; returns it. */
function expectProblem(reply: Reply, status: number, code: ErrorCode): ProblemBody {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.contentType).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(reply.text) as ProblemBody;
  expect(problem.status).toBe(status);
  expect(problem.code).toBe(code);
  expect(problem.type).toBe(`https://unilog.dev/problems/${code}`);
  expect(typeof problem.title).toBe('string');
  expect(typeof problem.detail).toBe('string');
  expect(problem.detail.length).toBeGreaterThan(0);
  if (status === 401) expect(reply.wwwAuthenticate).toMatch(/^Bearer /);
  return problem;
}

// ---------------------------------------------------------------------------------------------------------------
// Bodies.

const ADDED = 'cart.item-added';
const REMOVED = 'cart.item-removed';

function added(i: number): { type: string; data: { cartId: string; productId: string; quantity: number } } {
  return { type: ADDED, data: { cartId: `cart-${i}`, productId: `p-${i}`, quantity: 1 + (i % 3) } };
}
function removed(i: number): { type: string; data: { cartId: string; productId: string } } {
  return { type: REMOVED, data: { cartId: `cart-${i}`, productId: `p-${i}` } };
}
/** A batch of `n` valid item-added events with `bad` at `at`. */
function batchWith(n: number, at: number, bad: unknown): unknown[] {
  return Array.from({ length: n }, (_, i) => (i === at ? bad : added(i)));
}
/** A valid event's JSON text with `inside` spliced into its data object (before the closing braces). */
function eventWithData(inside: string): string {
  return `{"type":"${ADDED}","data":{"cartId":"c","productId":"p","quantity":1,${inside}}}`;
}

const validText = JSON.stringify(added(0));
/** A client id sent only in refused requests: it must not count as appended afterwards. */
const refusedId = 'refused-1';
const deep = (n: number, open: string, close: string, inner = '1'): string => `${open.repeat(n)}${inner}${close.repeat(n)}`;
const deepObject = (n: number): string => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
const overBodyLimit = 5 * 1024 * 1024 + 1;
/** A JSON event whose product id makes the whole text `bytes` long (a field of the schema, so it is kept). */
function eventOfBytes(bytes: number): string {
  const prefix = `{"type":"${ADDED}","data":{"cartId":"c","quantity":1,"productId":"`;
  const suffix = '"}}';
  return `${prefix}${'x'.repeat(bytes - prefix.length - suffix.length)}${suffix}`;
}
/** A chunked stream of `total` bytes of one JSON event, sent in 64 KiB chunks. */
function streamOf(text: string): () => ReadableStream<Uint8Array> {
  return () => {
    const bytes = encoder.encode(text);
    let offset = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= bytes.length) {
          controller.close();
          return;
        }
        controller.enqueue(bytes.slice(offset, offset + 65_536));
        offset += 65_536;
      },
    });
  };
}
/** A raw request with one header of `size` bytes. */
function hugeHeader(name: string, size: number): (ctx: Ctx) => string[] {
  return (ctx) => [
    `POST /events HTTP/1.1\r\nHost: 127.0.0.1:${ctx.port}\r\nAuthorization: Bearer ${ctx.keys.writer}\r\nContent-Type: application/json\r\n${name}: ${'a'.repeat(size)}\r\nContent-Length: ${Buffer.byteLength(validText)}\r\n\r\n${validText}`,
  ];
}
/** A raw request with `count` headers of 1 KiB each. */
function manyHeaders(count: number): (ctx: Ctx) => string[] {
  return (ctx) => [
    `POST /events HTTP/1.1\r\nHost: 127.0.0.1:${ctx.port}\r\nAuthorization: Bearer ${ctx.keys.writer}\r\nContent-Type: application/json\r\n${Array.from({ length: count }, (_, i) => `X-Filler-${i}: ${'b'.repeat(1024)}\r\n`).join('')}Content-Length: ${Buffer.byteLength(validText)}\r\n\r\n${validText}`,
  ];
}
/** The writer's key with its secret changed. */
const wrongSecret = (keys: TestKeys): string => `Bearer ${keys.writer.slice(0, -2)}${keys.writer.endsWith('AA') ? 'BB' : 'AA'}`;
/** A well-formed key whose id no key has. */
const unknownId = (keys: TestKeys): string => `Bearer ulk_000000000000.${keys.writer.slice(keys.writer.indexOf('.') + 1)}`;

// ---------------------------------------------------------------------------------------------------------------
// The corpus.

const invalid = (name: string, body: Body, request: Omit<Req, 'body'> = {}): BadCase => ({ name, request: { ...request, body }, status: 400, code: 'InvalidRequest' });
const schema = (name: string, json: unknown, issues: readonly number[]): BadCase => ({ name, request: { body: { json } }, status: 400, code: 'SchemaViolation', issues });
const unknownType = (name: string, json: unknown, issues: readonly number[]): BadCase => ({ name, request: { body: { json } }, status: 400, code: 'UnknownEventType', issues });
const unauthorized = (name: string, auth: Auth, request: Omit<Req, 'auth'> = { body: { json: added(1) } }): BadCase => ({ name, request: { ...request, auth }, status: 401, code: 'Unauthorized' });
const forbidden = (name: string, auth: Auth, json: unknown): BadCase => ({ name, request: { auth, body: { json } }, status: 403, code: 'Forbidden' });
const tooLarge = (name: string, body: Body, code: ErrorCode = 'PayloadTooLarge'): BadCase => ({ name, request: { body }, status: 413, code });
const mediaType = (name: string, contentType: string | null, body: Body = { text: validText }): BadCase => ({ name, request: { contentType, body }, status: 415, code: 'UnsupportedMediaType' });

const corpus: readonly BadCase[] = [
  // Malformed JSON.
  invalid('malformed JSON: a lone open brace', { text: '{' }),
  invalid('malformed JSON: the closing brace missing', { text: validText.slice(0, -1) }),
  invalid('malformed JSON: a trailing comma', { text: `{"type":"${ADDED}","data":{"cartId":"c","productId":"p","quantity":1},}` }),
  invalid('malformed JSON: single quotes', { text: `{'type':'${ADDED}','data':{}}` }),
  invalid('malformed JSON: unquoted keys', { text: `{type:"${ADDED}",data:{"cartId":"c","productId":"p","quantity":1}}` }),
  invalid('malformed JSON: NaN literal', { text: `{"type":"${ADDED}","data":{"cartId":"c","productId":"p","quantity":NaN}}` }),
  invalid('malformed JSON: two documents', { text: `${validText}${validText}` }),
  invalid('malformed JSON: trailing garbage', { text: `${validText} x` }),
  invalid('malformed JSON: a comment', { text: `// an event\n${validText}` }),
  invalid('malformed JSON: an unterminated string', { text: `{"type":"${ADDED}` }),
  invalid('malformed JSON: plain text', { text: 'hello, log' }),
  invalid('malformed JSON: undefined', { text: 'undefined' }),
  invalid('malformed JSON: a bad escape', { text: `{"type":"${ADDED}","data":{"cartId":"\\x41","productId":"p","quantity":1}}` }),
  // Empty bodies.
  invalid('empty body', { text: '' }),
  invalid('whitespace-only body', { text: ' \n\t\r ' }),
  invalid('a byte-order mark and nothing else', { bytes: bytesOf([0xef, 0xbb, 0xbf]) }),
  invalid('no body at all', { bytes: new Uint8Array(0) }),
  // Deep nesting.
  invalid('10,000-deep arrays in data', { text: `{"type":"${ADDED}","data":${deep(10_000, '[', ']')}}` }),
  invalid('10,000-deep objects in data', { text: `{"type":"${ADDED}","data":${deepObject(10_000)}}` }),
  invalid('10,000 open brackets, never closed', { text: '['.repeat(10_000) }),
  invalid('10,000-deep arrays as the whole body', { text: deep(10_000, '[', ']') }),
  invalid('65 levels: one past the limit', { text: `{"type":"${ADDED}","data":{"cartId":"c","productId":"p","quantity":1,"x":${deep(63, '[', ']')}}}` }),
  invalid('a batch with 10,000-deep data in event 3 of 5', { text: `[${[0, 1, 2].map((i) => JSON.stringify(added(i))).join(',')},{"type":"${ADDED}","data":${deep(10_000, '[', ']')}},${JSON.stringify(added(4))}]` }),
  // Prototype keys.
  invalid('__proto__ key on the event', { text: `{"__proto__":{"admin":true},"type":"${ADDED}","data":{"cartId":"c","productId":"p","quantity":1}}` }),
  invalid('__proto__ key in data', { text: eventWithData('"__proto__":{"polluted":true}') }),
  invalid('constructor key in data', { text: eventWithData('"constructor":{"prototype":{"polluted":true}}') }),
  invalid('prototype key nested in data', { text: eventWithData('"meta":{"deeper":[{"prototype":1}]}') }),
  invalid('__proto__ key in an array element of data', { text: eventWithData('"list":[1,{"__proto__":null}]') }),
  invalid('a batch with a constructor key in event 2 of 3', { text: `[${JSON.stringify(added(0))},${eventWithData('"constructor":1')},${JSON.stringify(added(2))}]` }),
  // Invalid UTF-8, as raw bytes.
  invalid('invalid UTF-8: a 0xFF byte in a string', { bytes: bytesOf(`{"type":"${ADDED}","data":{"cartId":"`, [0xff], '","productId":"p","quantity":1}}') }),
  invalid('invalid UTF-8: a truncated 3-byte sequence', { bytes: bytesOf(`{"type":"${ADDED}","data":{"cartId":"`, [0xe2, 0x82], '","productId":"p","quantity":1}}') }),
  invalid('invalid UTF-8: an overlong slash', { bytes: bytesOf(`{"type":"${ADDED}","data":{"cartId":"`, [0xc0, 0xaf], '","productId":"p","quantity":1}}') }),
  invalid('invalid UTF-8: an encoded surrogate (CESU-8)', { bytes: bytesOf(`{"type":"${ADDED}","data":{"cartId":"`, [0xed, 0xa0, 0x80], '","productId":"p","quantity":1}}') }),
  invalid('invalid UTF-8: Latin-1 é labelled UTF-8', { bytes: bytesOf(`{"type":"${ADDED}","data":{"cartId":"caf`, [0xe9], '","productId":"p","quantity":1}}') }, { contentType: 'application/json; charset=utf-8' }),
  invalid('invalid UTF-8: a stray continuation byte outside strings', { bytes: bytesOf(`{"type":"${ADDED}",`, [0x80], '"data":{}}') }),
  // Lone surrogates, as JSON escapes.
  invalid('lone high surrogate in data', { text: `{"type":"${ADDED}","data":{"cartId":"c","productId":"\\ud800","quantity":1}}` }),
  invalid('lone low surrogate in cartId', { text: `{"type":"${ADDED}","data":{"cartId":"\\udfff","productId":"p","quantity":1}}` }),
  invalid('reversed surrogate pair', { text: `{"type":"${ADDED}","data":{"cartId":"\\udc00\\ud800","productId":"p","quantity":1}}` }),
  invalid('lone surrogate in a key', { text: eventWithData('"\\ud83d":1') }),
  invalid('lone surrogate in the type', { text: `{"type":"cart.\\ud800","data":{}}` }),
  invalid('a batch with a lone surrogate in event 4 of 4', { text: `[${[0, 1, 2].map((i) => JSON.stringify(added(i))).join(',')},{"type":"${ADDED}","data":{"cartId":"c","productId":"p\\udbff","quantity":1}}]` }),
  // Wrong shapes and field types.
  invalid('body null', { json: null }),
  invalid('body a number', { json: 42 }),
  invalid('body a string', { json: ADDED }),
  invalid('body true', { json: true }),
  invalid('type a number', { json: { type: 7, data: added(0).data } }),
  invalid('type missing', { json: { data: added(0).data } }),
  invalid('data missing', { json: { type: ADDED } }),
  invalid('type empty', { json: { type: '', data: added(0).data } }),
  invalid('type over 128 characters', { json: { type: `cart.${'x'.repeat(130)}`, data: added(0).data } }),
  invalid('an unknown envelope field', { json: { ...added(0), source: 'someone-else' } }),
  invalid('key empty', { json: { ...added(0), key: '' } }),
  invalid('key a number', { json: { ...added(0), key: 5 } }),
  invalid('id with spaces', { json: { ...added(0), id: 'an id' } }),
  invalid('id over 128 characters', { json: { ...added(0), id: 'i'.repeat(129) } }),
  invalid('correlationId a number', { json: { ...added(0), correlationId: 12 } }),
  invalid('causationId empty', { json: { ...added(0), causationId: '' } }),
  invalid('empty batch', { json: [] }),
  invalid('a batch with a number as event 2 of 2', { json: [added(0), 5] }),
  invalid('a batch of batches', { json: [[added(0)]] }),
  invalid('a batch with type missing in event 5 of 8', { json: batchWith(8, 4, { data: added(4).data }) }),
  // Schema violations.
  schema('quantity a string', { type: ADDED, data: { cartId: 'c', productId: 'p', quantity: '1' } }, []),
  schema('quantity negative', { type: ADDED, data: { cartId: 'c', productId: 'p', quantity: -1 } }, []),
  schema('quantity fractional', { type: ADDED, data: { cartId: 'c', productId: 'p', quantity: 1.5 } }, []),
  schema('cartId missing', { type: REMOVED, data: { productId: 'p' } }, []),
  schema('data null', { type: ADDED, data: null }, []),
  schema('data an array', { type: REMOVED, data: ['c', 'p'] }, []),
  schema('a batch with bad data in event 7 of 10', batchWith(10, 6, { type: ADDED, data: { cartId: 'c', productId: 'p', quantity: 0 } }), [6]),
  { name: 'quantity 1e400 (Infinity once parsed)', request: { body: { text: `{"type":"${ADDED}","data":{"cartId":"c","productId":"p","quantity":1e400}}` } }, status: 400, code: 'SchemaViolation', issues: [] },
  schema('a batch with a client id on a good event and bad data in event 2 of 2', [{ ...added(0), id: refusedId }, { type: REMOVED, data: { cartId: 'c' } }], [1]),
  schema('a batch with bad data in events 1 and 3 of 3', [{ type: REMOVED, data: {} }, added(1), { type: ADDED, data: { cartId: 1, productId: 'p', quantity: 1 } }], [0, 2]),
  { name: 'cartId empty: no partition key', request: { body: { json: { type: ADDED, data: { cartId: '', productId: 'p', quantity: 1 } } } }, status: 400, code: 'InvalidPartitionKey' },
  { name: 'cartId of 257 characters: partition key too long', request: { body: { json: [added(0), { type: REMOVED, data: { cartId: 'k'.repeat(257), productId: 'p' } }] } }, status: 400, code: 'InvalidPartitionKey' },
  // Unknown types.
  unknownType('an unknown type', { type: 'cart.item-exploded', data: {} }, []),
  unknownType('a type in the wrong case', { type: 'Cart.Item-Added', data: added(0).data }, []),
  unknownType('type "constructor" (a prototype name as a value)', { type: 'constructor', data: {} }, []),
  unknownType('type "__proto__"', { type: '__proto__', data: added(0).data }, []),
  unknownType('type "hasOwnProperty"', { type: 'hasOwnProperty', data: added(0).data }, []),
  unknownType('a batch with an unknown type in event 2 of 3', [added(0), { type: 'cart.checked-out', data: {} }, added(2)], [1]),
  // Keys.
  unauthorized('no Authorization header', 'none'),
  unauthorized('an empty bearer', { header: () => 'Bearer ' }),
  unauthorized('a garbage token', { header: () => 'Bearer not-a-key' }),
  unauthorized('Basic instead of Bearer', { header: (keys) => `Basic ${Buffer.from(`user:${keys.writer}`).toString('base64')}` }),
  unauthorized('the right key without a scheme', { header: (keys) => keys.writer }),
  unauthorized('a wrong secret', { header: wrongSecret }),
  unauthorized('an unknown key id', { header: unknownId }),
  unauthorized('an over-long token', { header: () => `Bearer ulk_${'a'.repeat(300)}` }),
  unauthorized('no key and the wrong content type', 'none', { contentType: 'text/plain', body: { text: validText } }),
  unauthorized('no key on a malformed body', 'none', { body: { text: '{' } }),
  // Keys used for types they may not publish.
  forbidden("the adder key publishing item-removed", 'adder', removed(1)),
  forbidden('the adder key: a batch with 1 item-removed of 4', 'adder', [added(0), added(1), removed(2), added(3)]),
  forbidden('the reader key publishing', 'reader', added(1)),
  forbidden('the admin key publishing', 'admin', [added(1), added(2)]),
  { name: 'the writer key reading events', request: { method: 'GET', path: '/events' }, status: 403, code: 'Forbidden' },
  // Too large.
  tooLarge('a body over 5 MiB with Content-Length', { text: eventOfBytes(overBodyLimit) }),
  tooLarge('a chunked body over 5 MiB', { stream: streamOf(eventOfBytes(overBodyLimit + 100_000)) }),
  tooLarge('a batch of 501 valid events', { json: Array.from({ length: 501 }, (_, i) => added(i)) }),
  tooLarge('a batch of 501 garbage items', { json: Array.from({ length: 501 }, (_, i) => i) }),
  tooLarge('an event over the log limit of 1 MiB', { text: eventOfBytes(1024 * 1024 + 10) }, 'EventTooLarge'),
  tooLarge('a batch with an event over 1 MiB as event 2 of 3', { text: `[${JSON.stringify(added(0))},${eventOfBytes(1024 * 1024 + 10)},${JSON.stringify(added(2))}]` }, 'EventTooLarge'),
  tooLarge('Content-Length over 5 MiB, with a small body', { raw: (c) => [`POST /events HTTP/1.1\r\nHost: 127.0.0.1:${c.port}\r\nAuthorization: Bearer ${c.keys.writer}\r\nContent-Type: application/json\r\nContent-Length: ${overBodyLimit}\r\nConnection: close\r\n\r\n${validText}`] }),
  // Media types.
  mediaType('text/plain', 'text/plain'),
  mediaType('no content type', null, { bytes: encoder.encode(validText) }),
  mediaType('a form', 'application/x-www-form-urlencoded', { text: 'type=cart.item-added' }),
  mediaType('multipart', 'multipart/form-data; boundary=x', { text: '--x\r\n\r\n--x--' }),
  mediaType('JSON in Latin-1', 'application/json; charset=latin1'),
  mediaType('application/xml', 'application/xml', { text: '<event/>' }),
  mediaType('a JSON-like type', 'application/json-patch+json'),
  mediaType('an empty content type', ''),
  // Other routes and queries.
  { name: 'an unknown route', request: { path: '/event', body: { json: added(0) } }, status: 404, code: 'NotFound' },
  { name: 'a read with limit 0', request: { method: 'GET', path: '/events?limit=0', auth: 'reader' }, status: 400, code: 'InvalidRequest' },
  { name: 'a read from a negative position', request: { method: 'GET', path: '/events?from=-1', auth: 'reader' }, status: 400, code: 'InvalidRequest' },
  { name: 'a read with a text limit', request: { method: 'GET', path: '/events?limit=lots', auth: 'reader' }, status: 400, code: 'InvalidRequest' },
  { name: 'a tail with a bad Last-Event-ID', request: { method: 'GET', path: '/events/stream', auth: 'reader', headers: { 'last-event-id': '12abc' } }, status: 400, code: 'InvalidRequest' },
  // HTTP framing Node refuses itself (400, no problem document).
  { name: 'broken chunked framing', request: { body: { raw: (c) => [`POST /events HTTP/1.1\r\nHost: 127.0.0.1:${c.port}\r\nAuthorization: Bearer ${c.keys.writer}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${validText}\r\n0\r\n\r\n`] } }, status: 400 },
  { name: 'both Content-Length and chunked (smuggling)', request: { body: { raw: (c) => [`POST /events HTTP/1.1\r\nHost: 127.0.0.1:${c.port}\r\nAuthorization: Bearer ${c.keys.writer}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n${validText.length.toString(16)}\r\n${validText}\r\n0\r\n\r\n`] } }, status: 400 },
  { name: 'a non-numeric Content-Length', request: { body: { raw: (c) => [`POST /events HTTP/1.1\r\nHost: 127.0.0.1:${c.port}\r\nAuthorization: Bearer ${c.keys.writer}\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n${validText}`] } }, status: 400 },
  // Oversized headers: Node answers 431 itself.
  { name: 'a 20 KiB header', request: { body: { raw: hugeHeader('X-Huge', 20 * 1024) } }, status: 431 },
  { name: '20 headers of 1 KiB', request: { body: { raw: manyHeaders(20) } }, status: 431 },
  { name: 'a 64 KiB header', request: { body: { raw: hugeHeader('X-Padding', 64 * 1024) } }, status: 431 },
];

// ---------------------------------------------------------------------------------------------------------------

describe('the service refuses bad requests and leaves the log as it was', () => {
  let ctx: Ctx;
  let dir: string;
  let close: () => Promise<void>;
  const seeded = [added(100), removed(100), added(101)];

  beforeAll(async () => {
    const started = await startTestService();
    ctx = { url: started.service.url, port: started.service.port, keys: started.keys };
    dir = started.dir;
    close = started.close;
    const response = await fetch(`${ctx.url}/events`, { method: 'POST', headers: { authorization: `Bearer ${ctx.keys.writer}`, 'content-type': 'application/json' }, body: JSON.stringify(seeded) });
    expect(response.status).toBe(201);
    expect((await health(ctx.url)).head).toBe('3');
  });
  afterAll(async () => {
    await close();
  });

  it('has a corpus of at least 60 distinct bad requests', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60);
    expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
  });

  it.each(corpus)('$name → $status $code', async (bad) => {
    const before = await health(ctx.url);
    const reply = await perform(ctx, bad.request);
    if (bad.code === undefined) {
      expect(reply.status, reply.text.slice(0, 200)).toBe(bad.status);
    } else {
      const problem = expectProblem(reply, bad.status, bad.code);
      if (bad.issues !== undefined) {
        expect(problem.issues, 'the problem lists its issues').toBeDefined();
        const issues = problem.issues ?? [];
        expect(issues.length).toBeGreaterThan(0);
        if (bad.issues.length === 0) expect(issues.every((issue) => issue.index === undefined)).toBe(true);
        else expect([...new Set(issues.map((issue) => issue.index ?? -1))].sort((x, y) => x - y)).toEqual([...bad.issues]);
      }
    }
    const after = await health(ctx.url);
    expect(after.head).toBe(before.head);
    expect(after.head).toBe('3');
  });

  it('refuses a key from the moment it is revoked, without a restart', async () => {
    const { id, key } = createKey(dir, { producer: 'cart-service', types: [ADDED], read: false, admin: false });
    const request: Req = { auth: { header: () => `Bearer ${key}` }, body: { json: added(7) } };
    const first = await perform(ctx, request);
    expect(first.status, first.text).toBe(201);
    const head = (await health(ctx.url)).head;
    expect(head).toBe('4');

    revokeKey(dir, id);
    for (const body of [{ json: added(8) }, { json: [added(9), added(10)] }, { text: '{' }] satisfies Body[]) {
      expectProblem(await perform(ctx, { ...request, body }), 401, 'Unauthorized');
      expect((await health(ctx.url)).head).toBe(head);
    }
    // The other keys still work.
    const other = await perform(ctx, { body: { json: added(11) } });
    expect(other.status, other.text).toBe(201);
    expect((await health(ctx.url)).head).toBe('5');
  });

  // The service does not decode compressed bodies: a gzip body, or one labelled gzip that is plain JSON, is refused.
  it('a Content-Encoding the service does not decode is refused with 415', async () => {
    const before = await health(ctx.url);
    const reply = await fetch(`${ctx.url}/events`, { method: 'POST', headers: { authorization: `Bearer ${ctx.keys.writer}`, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: new Uint8Array(gzipSync(validText)) });
    expect((await health(ctx.url)).head).toBe(before.head);
    expectProblem({ status: reply.status, contentType: reply.headers.get('content-type'), wwwAuthenticate: null, text: await reply.text() }, 415, 'UnsupportedMediaType');
      const mislabelled = await fetch(`${ctx.url}/events`, { method: 'POST', headers: { authorization: `Bearer ${ctx.keys.writer}`, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: validText });
    expect(mislabelled.status).toBe(415);
    expect((await health(ctx.url)).head).toBe(before.head);
  });

  it('still appends good events, and the log holds only the good ones', async () => {
    const response = await perform(ctx, { body: { json: [added(12), removed(12)] } });
    expect(response.status, response.text).toBe(201);
    // The client id of a refused batch was never recorded: it is new now.
    const again = await perform(ctx, { body: { json: { ...added(13), id: refusedId } } });
    expect(again.status, again.text).toBe(201);
    expect((JSON.parse(again.text) as { events: { duplicate: boolean }[] }).events[0]?.duplicate).toBe(false);
    const page = await fetch(`${ctx.url}/events?limit=1000`, { headers: { authorization: `Bearer ${ctx.keys.reader}` } });
    expect(page.status).toBe(200);
    const { events } = (await page.json()) as { events: { position: string; event: { type: string; data: unknown } }[] };
    expect(events.map((e) => ({ type: e.event.type, data: e.event.data }))).toEqual([...seeded, added(7), added(11), added(12), removed(12), added(13)]);
    expect(events.map((e) => e.position)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect((await health(ctx.url)).head).toBe('8');
  });

  it('bad requests in flight together with good ones: each gets its answer, and only the good events are appended', async () => {
    const before = (await health(ctx.url)).head;
    const good: Req[] = Array.from({ length: 12 }, (_, i) => ({ body: { json: i % 2 === 0 ? added(300 + i) : [added(300 + i), removed(300 + i)] } }));
    const bad = corpus.filter((c) => c.code !== undefined && !(c.request.body !== undefined && 'raw' in c.request.body));
    // Good requests spread among the bad ones, all sent at once.
    const order: { readonly request: Req; readonly expected?: BadCase }[] = [];
    bad.forEach((c, i) => {
      order.push({ request: c.request, expected: c });
      const next = good[i / 6];
      if (next !== undefined) order.push({ request: next });
    });
    for (const request of good.slice(Math.ceil(bad.length / 6))) order.push({ request });
    expect(order.length).toBe(good.length + bad.length);
    const replies = await Promise.all(order.map(async (entry) => ({ entry, reply: await perform(ctx, entry.request) })));
    for (const { entry, reply } of replies) {
      if (entry.expected === undefined) expect(reply.status, reply.text).toBe(201);
      else expectProblem(reply, entry.expected.status, entry.expected.code!);
    }
    const after = (await health(ctx.url)).head;
    expect(Number(after) - Number(before)).toBe(18);
    const page = await fetch(`${ctx.url}/events?from=${before}&limit=1000`, { headers: { authorization: `Bearer ${ctx.keys.reader}` } });
    const { events } = (await page.json()) as { events: { event: { type: string; data: unknown } }[] };
    const sorted = (list: readonly unknown[]): string[] => list.map((e) => JSON.stringify(e)).sort();
    expect(sorted(events.map((e) => ({ type: e.event.type, data: e.event.data })))).toEqual(sorted(good.flatMap((r) => (r.body !== undefined && 'json' in r.body ? [r.body.json].flat() : []))));
  });

  it('fuzz: random bodies get 2xx only when valid, and anything else leaves the head where it was', async () => {
    await fc.assert(
      fc.asyncProperty(fuzzBody, fc.constantFrom<'writer' | 'adder'>('writer', 'writer', 'writer', 'adder'), async (body, who) => {
        const before = BigInt((await health(ctx.url)).head);
        const expected = expectedOutcome(body, who);
        const response = await fetch(`${ctx.url}/events`, { method: 'POST', headers: { authorization: `Bearer ${ctx.keys[who]}`, 'content-type': 'application/json' }, body });
        const text = await response.text();
        const after = BigInt((await health(ctx.url)).head);
        if (expected.kind === 'valid') {
          expect([200, 201], text).toContain(response.status);
          const { events } = JSON.parse(text) as { events: { position: string; duplicate: boolean }[] };
          expect(events).toHaveLength(expected.events.length);
          const fresh = events.filter((e) => !e.duplicate);
          expect(response.status).toBe(fresh.length === 0 ? 200 : 201);
          expect(after - before).toBe(BigInt(fresh.length));
          // Each new event is stored as sent, at the position it was given.
          for (const [i, e] of events.entries()) {
            if (e.duplicate) continue;
            const page = await fetch(`${ctx.url}/events?from=${e.position}&limit=1`, { headers: { authorization: `Bearer ${ctx.keys.reader}` } });
            const stored = ((await page.json()) as { events: { position: string; event: { type: string; subject: string; source: string; data: unknown } }[] }).events[0];
            expect(stored?.position).toBe(e.position);
            expect(stored?.event.source).toBe('cart-service');
            expect({ type: stored?.event.type, subject: stored?.event.subject, data: stored?.event.data }).toEqual(expected.events[i]);
          }
        } else {
          expect(response.status, text).toBe(expected.status);
          expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
          const problem = JSON.parse(text) as ProblemBody;
          expect(expected.codes, text).toContain(problem.code);
          expect(after).toBe(before);
        }
      }),
      { numRuns: 150 },
    );
    await health(ctx.url);
  });
});

describe('a client that never finishes its request', () => {
  let ctx: Ctx;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const started = await startTestService({ requestTimeoutMs: 1500 });
    ctx = { url: started.service.url, port: started.service.port, keys: started.keys };
    close = started.close;
    const seeded = await perform(ctx, { body: { json: added(1) } });
    expect(seeded.status).toBe(201);
  });
  afterAll(async () => {
    await close();
  });

  const slow: readonly { name: string; parts: (ctx: Ctx) => string[] }[] = [
    {
      name: 'sends part of a declared body',
      parts: (c) => [`POST /events HTTP/1.1\r\nHost: 127.0.0.1:${c.port}\r\nAuthorization: Bearer ${c.keys.writer}\r\nContent-Type: application/json\r\nContent-Length: ${validText.length + 50}\r\n\r\n`, validText],
    },
    {
      name: 'sends a chunked body without its last chunk',
      parts: (c) => [`POST /events HTTP/1.1\r\nHost: 127.0.0.1:${c.port}\r\nAuthorization: Bearer ${c.keys.writer}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`, `${validText.length.toString(16)}\r\n${validText}\r\n`],
    },
    {
      name: 'never finishes its headers',
      parts: (c) => [`POST /events HTTP/1.1\r\nHost: 127.0.0.1:${c.port}\r\nAuthorization: Bearer ${c.keys.writer}\r\nContent-Type: appl`],
    },
  ];

  it('a client that hangs up halfway through its body leaves the server up and the log as it was', async () => {
    const before = await health(ctx.url);
    await new Promise<void>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: ctx.port }, () => {
        socket.write(`POST /events HTTP/1.1\r\nHost: 127.0.0.1:${ctx.port}\r\nAuthorization: Bearer ${ctx.keys.writer}\r\nContent-Type: application/json\r\nContent-Length: ${validText.length + 10}\r\n\r\n${validText}`, () => {
          socket.destroy();
        });
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        resolve();
      });
    });
    expect((await health(ctx.url)).head).toBe(before.head);
    const good = await perform(ctx, { body: { json: added(3) } });
    expect(good.status, good.text).toBe(201);
    expect(BigInt((await health(ctx.url)).head)).toBe(BigInt(before.head) + 1n);
  });

  it.each(slow)('$name: is cut off (408 or closed) and the server stays up', async ({ parts }) => {
    const before = await health(ctx.url);
    const exchange = rawExchange(ctx.port, parts(ctx), 10_000);
    // The server answers others while the slow client hangs.
    expect((await health(ctx.url)).head).toBe(before.head);
    const { data, closed } = await exchange;
    expect(closed, 'the server closed the connection within the bound').toBe(true);
    if (data !== '') expect(data).toMatch(/^HTTP\/1\.1 408 /);
    const after = await health(ctx.url);
    expect(after.head).toBe(before.head);
    const good = await perform(ctx, { body: { json: added(2) } });
    expect(good.status, good.text).toBe(201);
    expect(BigInt((await health(ctx.url)).head)).toBe(BigInt(before.head) + 1n);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The fuzz: bodies and an oracle written from the API's rules (not from the service's code paths).

/** An event as the log must hold it: the schema keeps only its own fields; the subject is the key or the cart. */
interface StoredShape {
  readonly type: string;
  readonly subject: string;
  readonly data: Record<string, unknown>;
}
type Outcome = { readonly kind: 'valid'; readonly events: readonly StoredShape[] } | { readonly kind: 'refused'; readonly status: number; readonly codes: readonly string[] };

const maxDepth = 64;
const forbiddenKeys = new Set(['__proto__', 'constructor', 'prototype']);
const itemFields = new Set(['type', 'data', 'key', 'id', 'correlationId', 'causationId']);
const idPattern = /^[A-Za-z0-9._:-]{1,128}$/;

const refused = (status: number, ...codes: string[]): Outcome => ({ kind: 'refused', status, codes });

function depthOf(value: unknown): number {
  // Iterative, so that the oracle itself copes with any depth.
  let max = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [v, d] = pending.pop() as [unknown, number];
    if (typeof v === 'object' && v !== null) {
      max = Math.max(max, d + 1);
      for (const child of Object.values(v)) pending.push([child, d + 1]);
    }
  }
  return max;
}

/** Whether every key is allowed and every string and key is well-formed Unicode. */
function cleanValue(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v === 'string' && !v.isWellFormed()) return false;
    if (typeof v === 'object' && v !== null) {
      for (const [key, child] of Object.entries(v)) {
        if (!Array.isArray(v) && (forbiddenKeys.has(key) || !key.isWellFormed())) return false;
        pending.push(child);
      }
    }
  }
  return true;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringOf = (v: unknown, min: number, max: number): boolean => typeof v === 'string' && v.length >= min && v.length <= max;

function itemShapeOk(item: unknown): item is Record<string, unknown> & { type: string } {
  if (!isRecord(item)) return false;
  if (Object.keys(item).some((k) => !itemFields.has(k))) return false;
  if (!stringOf(item.type, 1, 128) || !('data' in item)) return false;
  if ('key' in item && !stringOf(item.key, 1, 256)) return false;
  if ('id' in item && !(typeof item.id === 'string' && idPattern.test(item.id))) return false;
  if ('correlationId' in item && !stringOf(item.correlationId, 1, 256)) return false;
  if ('causationId' in item && !stringOf(item.causationId, 1, 256)) return false;
  return true;
}

function dataOk(type: string, data: unknown): boolean {
  if (!isRecord(data) || typeof data.cartId !== 'string' || typeof data.productId !== 'string') return false;
  if (type === REMOVED) return true;
  return typeof data.quantity === 'number' && Number.isSafeInteger(data.quantity) && data.quantity > 0;
}

/** What the service must answer to `body` (the text fetch sends: lone surrogates become U+FFFD on the wire). */
function expectedOutcome(body: string, who: 'writer' | 'adder'): Outcome {
  const text = new TextDecoder().decode(encoder.encode(body));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refused(400, 'InvalidRequest');
  }
  if (depthOf(value) > maxDepth || !cleanValue(value)) return refused(400, 'InvalidRequest');
  if (Array.isArray(value) && value.length > 500) return refused(413, 'PayloadTooLarge');
  const items: unknown[] = Array.isArray(value) ? value : [value];
  if (items.length === 0 || !items.every(itemShapeOk)) return refused(400, 'InvalidRequest');
  const shaped = items as (Record<string, unknown> & { type: string })[];
  if (shaped.some((item) => item.type !== ADDED && item.type !== REMOVED)) return refused(400, 'UnknownEventType');
  if (who === 'adder' && shaped.some((item) => item.type !== ADDED)) return refused(403, 'Forbidden');
  let violated = false;
  for (const item of shaped) {
    if (!dataOk(item.type, item.data)) {
      violated = true;
      continue;
    }
    const key = item.key ?? (item.data as { cartId: string }).cartId;
    // A bad partition key is reported at once; schema problems of earlier events are reported together at the end.
    if (!stringOf(key, 1, 256)) return refused(400, 'InvalidPartitionKey', 'SchemaViolation');
  }
  if (violated) return refused(400, 'SchemaViolation');
  return {
    kind: 'valid',
    events: shaped.map((item) => {
      const data = item.data as { cartId: string; productId: string; quantity?: number };
      return { type: item.type, subject: (item.key as string | undefined) ?? data.cartId, data: item.type === ADDED ? { cartId: data.cartId, productId: data.productId, quantity: data.quantity } : { cartId: data.cartId, productId: data.productId } };
    }),
  };
}

/** Sets a field as an own property, also `__proto__`. */
function withField(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(target)) Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
  if (value === undefined) Reflect.deleteProperty(copy, key);
  else Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

const cartIdArb = fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('', 'x'.repeat(257), 'c'));
/** Any Unicode too (control characters, astral planes and, rarely, lone surrogates, which must be refused). */
const productIdArb = fc.oneof(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8, unit: 'grapheme' }), fc.string({ maxLength: 8, unit: 'binary' }));
const validItemArb = fc.oneof(
  fc.record(
    {
      type: fc.constant(ADDED),
      data: fc.record({ cartId: cartIdArb, productId: productIdArb, quantity: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(0, -1, 2.5, 2 ** 53)) }),
      key: fc.string({ minLength: 1, maxLength: 12 }),
      // Few ids, so that repeats (answered as duplicates, 200) happen.
      id: fc.stringMatching(/^[ab]{1,2}$/),
      correlationId: fc.string({ minLength: 1, maxLength: 10 }),
    },
    { requiredKeys: ['type', 'data'] },
  ),
  fc.record({ type: fc.constant(REMOVED), data: fc.record({ cartId: cartIdArb, productId: productIdArb }), key: fc.string({ minLength: 1, maxLength: 12 }) }, { requiredKeys: ['type', 'data'] }),
);
const fieldArb = fc.constantFrom('type', 'data', 'key', 'id', 'correlationId', 'causationId', '__proto__', 'constructor', 'prototype', 'extra', 'source');
const dataFieldArb = fc.constantFrom('cartId', 'productId', 'quantity', '__proto__', 'constructor', 'toString', 'extra');
const replacementArb = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant(undefined),
  fc.constantFrom('\ud800', 'a\udfffb', REMOVED, 'cart.unknown', '', 'x'.repeat(300)),
  fc.integer({ min: 60, max: 70 }).map((n) => JSON.parse(deep(n, '[', ']')) as unknown),
);
/** A valid-ish item with one field of the event or of its data replaced, added or removed. */
const mutatedItemArb = fc.tuple(validItemArb, fc.boolean(), fieldArb, dataFieldArb, replacementArb).map(([item, inData, field, dataField, value]) => {
  const record = item as Record<string, unknown>;
  if (!inData) return withField(record, field, value);
  return withField(record, 'data', withField(isRecord(record.data) ? record.data : {}, dataField, value));
});
const itemArb = fc.oneof({ weight: 3, arbitrary: validItemArb }, { weight: 1, arbitrary: mutatedItemArb });
const structuredArb = fc.oneof(validItemArb, mutatedItemArb, fc.array(validItemArb, { minLength: 1, maxLength: 6 }), fc.array(itemArb, { minLength: 0, maxLength: 6 })).map((value) => JSON.stringify(value));
/** A valid text with one character inserted, deleted or the text cut short. */
const textMutationArb = fc
  .tuple(fc.oneof(validItemArb, fc.array(validItemArb, { minLength: 1, maxLength: 3 })), fc.nat(), fc.constantFrom('insert', 'delete', 'truncate'), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }))
  .map(([value, at, op, char]) => {
    const text = JSON.stringify(value);
    const i = at % (text.length + 1);
    if (op === 'insert') return `${text.slice(0, i)}${char}${text.slice(i)}`;
    if (op === 'delete') return `${text.slice(0, i)}${text.slice(i + 1)}`;
    return text.slice(0, i);
  });
const fuzzBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: structuredArb },
  { weight: 2, arbitrary: textMutationArb },
  { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }).map((v) => (JSON.stringify(v) as string | undefined) ?? '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 40, unit: 'binary' }) },
);
