/**
 * Event definitions, the catalog (versions, upcasting, JSON Schema), the envelopes the publisher builds,
 * and the structure of unilog errors.
 */
import { decodeTime } from 'ulid';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  UnilogError,
  createCatalog,
  createMemoryEventLog,
  createPublisher,
  defineEvent,
  errorCodes,
  eventEnvelopeSchema,
  isUnilogError,
  type AnyEventDefinition,
  type ErrorCode,
  type EventEnvelope,
} from '../../src/index.ts';

/** Calls `run` and returns the unilog error of `code` it throws; fails otherwise. */
function thrown<C extends ErrorCode>(run: () => unknown, code: C): UnilogError<C> {
  let error: unknown;
  try {
    run();
  } catch (caught) {
    error = caught;
  }
  if (!isUnilogError(error, code)) throw new Error(`expected a ${code} error, got ${String(error)}`, { cause: error });
  expect(error.code).toBe(code);
  return error;
}

const ulidPattern = /^[0-9A-HJKMNP-TV-Z]{26}$/;

const productSchema = z.object({ id: z.string(), name: z.string() });
const ProductCreated = defineEvent({ type: 'product.created', schema: productSchema, key: (p) => p.id, description: 'A product was added.' });

describe('defineEvent', () => {
  it('returns a frozen definition with version 1 by default', () => {
    expect(ProductCreated.type).toBe('product.created');
    expect(ProductCreated.version).toBe(1);
    expect(ProductCreated.schema).toBe(productSchema);
    expect(ProductCreated.description).toBe('A product was added.');
    expect(ProductCreated.previous).toBeUndefined();
    expect(ProductCreated.upcast).toBeUndefined();
    expect(Object.isFrozen(ProductCreated)).toBe(true);
    expect(ProductCreated.key({ id: 'p1', name: 'Boots' })).toBe('p1');
  });

  it.each(['product.created', 'a', 'Order_v2', 'com.example/orders-placed', 'x1.y2_z3-w4/v5', `a${'b'.repeat(255)}`])('accepts the type name %j', (type) => {
    expect(defineEvent({ type, schema: z.object({}), key: () => 'k' }).type).toBe(type);
  });

  it.each([
    ['empty', ''],
    ['starting with a digit', '1product'],
    ['starting with a separator', '.product'],
    ['ending with a separator', 'product.'],
    ['two separators in a row', 'product..created'],
    ['a space', 'product created'],
    ['a colon', 'product:created'],
    ['an exclamation mark', 'product!'],
    ['non-ASCII letters', 'prodüct'],
    ['over 256 characters', `a${'b'.repeat(256)}`],
  ])('rejects a type name with %s', (_, type) => {
    const error = thrown(() => defineEvent({ type, schema: z.object({}), key: () => 'k' }), 'InvalidEventDefinition');
    expect(error.details.type).toBe(type);
    expect(error.details.reason).toMatch(/type/);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects version %s', (version) => {
    const error = thrown(() => defineEvent({ type: 'a.b', version, schema: z.object({}), key: () => 'k' }), 'InvalidEventDefinition');
    expect(error.details.reason).toMatch(/version/);
  });

  it('rejects version 2 without previous', () => {
    const error = thrown(() => defineEvent({ type: 'product.created', version: 2, schema: productSchema, key: (p) => p.id }), 'InvalidEventDefinition');
    expect(error.details).toEqual({ type: 'product.created', reason: expect.stringMatching(/needs previous/) as unknown });
  });

  it('rejects a previous definition of another type', () => {
    const Other = defineEvent({ type: 'order.placed', schema: z.object({ id: z.string() }), key: (o) => o.id });
    const error = thrown(
      () => defineEvent({ type: 'product.created', previous: Other, upcast: (d) => ({ ...d, name: '' }), schema: productSchema, key: (p) => p.id }),
      'InvalidEventDefinition',
    );
    expect(error.details.reason).toMatch(/order\.placed/);
  });

  it('rejects a version that does not follow previous', () => {
    const error = thrown(
      () => defineEvent({ type: 'product.created', version: 3, previous: ProductCreated, upcast: (d) => d, schema: productSchema, key: (p) => p.id }),
      'InvalidEventDefinition',
    );
    expect(error.details.reason).toMatch(/version 3 must follow version 2/);
  });

  it('rejects previous without upcast', () => {
    const error = thrown(() => defineEvent({ type: 'product.created', previous: ProductCreated, schema: productSchema, key: (p) => p.id }), 'InvalidEventDefinition');
    expect(error.details.reason).toMatch(/needs upcast/);
  });

  it('rejects upcast without previous', () => {
    const error = thrown(() => defineEvent({ type: 'product.created', upcast: () => ({ id: 'p1', name: 'Boots' }), schema: productSchema, key: (p) => p.id }), 'InvalidEventDefinition');
    expect(error.details.reason).toMatch(/upcast needs previous/);
  });

  it('rejects a key that is not a function', () => {
    const error = thrown(() => defineEvent({ type: 'product.created', schema: productSchema, key: 'id' as never }), 'InvalidEventDefinition');
    expect(error.details.reason).toMatch(/key/);
  });

  it('numbers a new version after its previous one', () => {
    const V2 = defineEvent({ type: 'product.created', previous: ProductCreated, upcast: (d) => ({ ...d, price: 0 }), schema: productSchema.extend({ price: z.number() }), key: (p) => p.id });
    expect(V2.version).toBe(2);
    expect(V2.previous).toBe(ProductCreated);
  });
});

// v1 { name } → v2 { name, price } → v3 { title, price, currency = 'EUR' }
const ItemV1 = defineEvent({ type: 'item.added', schema: z.object({ id: z.string(), name: z.string() }), key: (d) => d.id });
const ItemV2 = defineEvent({
  type: 'item.added',
  previous: ItemV1,
  schema: z.object({ id: z.string(), name: z.string(), price: z.number() }),
  key: (d) => d.id,
  upcast: (d) => ({ ...d, price: 0 }),
});
const ItemV3 = defineEvent({
  type: 'item.added',
  previous: ItemV2,
  schema: z.object({ id: z.string(), title: z.string(), price: z.number(), currency: z.string().default('EUR') }),
  key: (d) => d.id,
  upcast: ({ id, name, price }) => ({ id, title: name, price }),
});
const OrderPlaced = defineEvent({ type: 'order.placed', schema: z.object({ orderId: z.string(), total: z.number().int() }), key: (d) => d.orderId });

describe('createCatalog', () => {
  const catalog = createCatalog([OrderPlaced, ItemV3, ProductCreated]);

  it('lists the known types, sorted', () => {
    expect(catalog.types).toEqual(['item.added', 'order.placed', 'product.created']);
  });

  it('tells whether it knows a type', () => {
    expect(catalog.has('item.added')).toBe(true);
    expect(catalog.has('item.removed')).toBe(false);
    expect(catalog.has('')).toBe(false);
  });

  it('returns the newest definition with latest', () => {
    expect(catalog.latest('item.added')).toBe(ItemV3);
    expect(catalog.latest('order.placed')).toBe(OrderPlaced);
  });

  it('finds older versions through previous', () => {
    expect(catalog.version('item.added', 1)).toBe(ItemV1);
    expect(catalog.version('item.added', 2)).toBe(ItemV2);
    expect(catalog.version('item.added', 3)).toBe(ItemV3);
    expect(catalog.definitions()).toEqual(expect.arrayContaining([ItemV1, ItemV2, ItemV3, OrderPlaced, ProductCreated]));
    expect(catalog.definitions()).toHaveLength(5);
  });

  it('throws UnknownEventType for an unknown type', () => {
    const error = thrown(() => catalog.latest('item.removed' as never), 'UnknownEventType');
    expect(error.details).toEqual({ type: 'item.removed', known: ['item.added', 'order.placed', 'product.created'] });
    expect(thrown(() => catalog.latest('item.removed' as never, 4), 'UnknownEventType').details.index).toBe(4);
    expect(thrown(() => catalog.version('item.removed', 1), 'UnknownEventType').details.type).toBe('item.removed');
  });

  it.each([0, 4, 1.5, -1])('throws UnknownEventVersion for version %s', (version) => {
    const error = thrown(() => catalog.version('item.added', version), 'UnknownEventVersion');
    expect(error.details).toEqual({ type: 'item.added', version, known: [1, 2, 3] });
  });

  it('accepts the same definition object more than once', () => {
    expect(createCatalog([ItemV3, ItemV2, ItemV1, ItemV3]).version('item.added', 1)).toBe(ItemV1);
  });

  it('rejects two different definitions of one version', () => {
    const Copy = defineEvent({ type: 'product.created', schema: productSchema, key: (p) => p.id });
    const error = thrown(() => createCatalog([ProductCreated, Copy]), 'InvalidEventDefinition');
    expect(error.details).toEqual({ type: 'product.created', reason: 'version 1 defined twice' });
  });

  it('rejects a second version 1 reached through a newer version', () => {
    const OtherV1 = defineEvent({ type: 'item.added', schema: ItemV1.schema, key: (d) => d.id });
    const error = thrown(() => createCatalog([ItemV3, OtherV1]), 'InvalidEventDefinition');
    expect(error.details.reason).toBe('version 1 defined twice');
  });

  it('rejects a hand-built definition whose older versions are missing', () => {
    const orphan: AnyEventDefinition = { type: 'orphan.event', version: 2, schema: z.object({}), key: () => 'k' };
    const error = thrown(() => createCatalog([orphan]), 'InvalidEventDefinition');
    expect(error.details).toEqual({ type: 'orphan.event', reason: 'version 1 missing' });
  });

  it('is frozen', () => {
    expect(Object.isFrozen(catalog)).toBe(true);
  });
});

describe('upcasting', () => {
  const catalog = createCatalog([ItemV3, OrderPlaced]);

  async function storedAt(version: 1 | 2 | 3, data: unknown): Promise<EventEnvelope> {
    const def = [ItemV1, ItemV2, ItemV3][version - 1]!;
    const log = createMemoryEventLog();
    // An older producer that only knows this version.
    const publisher = createPublisher({ log, catalog: [def], source: 'old-producer' });
    await publisher.publish('item.added', data as never, { correlationId: 'corr-1' });
    const { events } = await log.read();
    return events[0]!.event;
  }

  it('brings a v1 event to v3 through v2', async () => {
    const v1 = await storedAt(1, { id: 'i1', name: 'Lamp' });
    const before = structuredClone(v1);
    const upcast = catalog.upcast(v1);
    expect(upcast.dataversion).toBe(3);
    expect(upcast.data).toEqual({ id: 'i1', title: 'Lamp', price: 0, currency: 'EUR' });
    // Every other envelope field is kept.
    expect({ ...upcast, data: v1.data, dataversion: v1.dataversion }).toEqual(v1);
    // The input is not changed.
    expect(v1).toEqual(before);
    expect(eventEnvelopeSchema.safeParse(upcast).success).toBe(true);
  });

  it('brings a v2 event to v3', async () => {
    const v2 = await storedAt(2, { id: 'i2', name: 'Desk', price: 99 });
    expect(v2.dataversion).toBe(2);
    const upcast = catalog.upcast(v2);
    expect(upcast.dataversion).toBe(3);
    expect(upcast.data).toEqual({ id: 'i2', title: 'Desk', price: 99, currency: 'EUR' });
  });

  it('returns an event already at the newest version unchanged', async () => {
    const v3 = await storedAt(3, { id: 'i3', title: 'Chair', price: 5, currency: 'USD' });
    expect(catalog.upcast(v3)).toBe(v3);
    const order = { ...v3, type: 'order.placed', dataversion: 1, data: { orderId: 'o1', total: 3 } };
    expect(catalog.upcast(order)).toBe(order);
  });

  it('passes events of unknown types unchanged', async () => {
    const v1 = await storedAt(1, { id: 'i1', name: 'Lamp' });
    const foreign = { ...v1, type: 'something.else', dataversion: 9 };
    expect(catalog.upcast(foreign)).toBe(foreign);
  });

  it('throws UnknownEventVersion for a version newer than the catalog knows', async () => {
    const v1 = await storedAt(1, { id: 'i1', name: 'Lamp' });
    const error = thrown(() => catalog.upcast({ ...v1, dataversion: 4 }), 'UnknownEventVersion');
    expect(error.details).toEqual({ type: 'item.added', version: 4, known: [1, 2, 3] });
  });

  it('throws UpcastFailed when an upcast produces data the newest schema rejects', async () => {
    const BadV2 = defineEvent({
      type: 'item.added',
      previous: ItemV1,
      schema: z.object({ id: z.string(), name: z.string(), price: z.number() }),
      key: (d) => d.id,
      upcast: (d) => ({ ...d, price: 'free' as unknown as number }),
    });
    const v1 = await storedAt(1, { id: 'i1', name: 'Lamp' });
    const error = thrown(() => createCatalog([BadV2]).upcast(v1), 'UpcastFailed');
    expect(error.details).toEqual({ type: 'item.added', fromVersion: 1, id: v1.id });
    expect(error.cause).toBeInstanceOf(z.ZodError);
  });

  it('throws UpcastFailed when an upcast function throws', async () => {
    const boom = new Error('boom');
    const ThrowingV2 = defineEvent({
      type: 'item.added',
      previous: ItemV1,
      schema: ItemV2.schema,
      key: (d) => d.id,
      upcast: () => {
        throw boom;
      },
    });
    const v1 = await storedAt(1, { id: 'i1', name: 'Lamp' });
    const error = thrown(() => createCatalog([ThrowingV2]).upcast(v1), 'UpcastFailed');
    expect(error.cause).toBe(boom);
  });

  it('throws UpcastFailed when stored v1 data does not fit the v1 shape the upcast expects', async () => {
    const v1 = await storedAt(1, { id: 'i1', name: 'Lamp' });
    const error = thrown(() => catalog.upcast({ ...v1, data: { id: 'i1' } }), 'UpcastFailed');
    expect(error.details.fromVersion).toBe(1);
  });
});

describe('JSON Schema export', () => {
  const catalog = createCatalog([ItemV3, OrderPlaced]);

  it('exports the newest version by default', () => {
    const schema = catalog.jsonSchema('item.added');
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties as object).sort()).toEqual(['currency', 'id', 'price', 'title']);
    // Input schema: a field with a default is not required of producers.
    expect(schema.required).toEqual(['id', 'title', 'price']);
  });

  it('exports a previous version', () => {
    const v1 = catalog.jsonSchema('item.added', 1);
    expect(v1.type).toBe('object');
    expect(v1.properties).toEqual({ id: { type: 'string' }, name: { type: 'string' } });
    expect(Object.keys(catalog.jsonSchema('item.added', 2).properties as object).sort()).toEqual(['id', 'name', 'price']);
  });

  it('describes integer fields', () => {
    expect(catalog.jsonSchema('order.placed').properties).toMatchObject({ total: { type: 'integer' } });
  });

  it('throws for unknown types and versions', () => {
    thrown(() => catalog.jsonSchema('nope'), 'UnknownEventType');
    thrown(() => catalog.jsonSchema('item.added', 4), 'UnknownEventVersion');
  });
});

describe('envelopes built by the publisher', () => {
  // Far in the future: ids are monotonic per process, so a clock behind earlier ids would not show in decodeTime.
  const fixedTime = Date.UTC(2200, 0, 1, 12, 0, 0, 123);
  const Signup = defineEvent({
    type: 'user.signed-up',
    // The payload has a field named source: it must not become the envelope's source.
    schema: z.object({ userId: z.string(), source: z.string(), plan: z.string().default('free') }),
    key: (d) => `user-${d.userId}`,
  });

  function setup() {
    const log = createMemoryEventLog();
    const publisher = createPublisher({ log, catalog: [Signup, ItemV3], source: 'signup-service', clock: () => fixedTime });
    return { log, publisher };
  }

  it('fills every CloudEvents field', async () => {
    const { log, publisher } = setup();
    const { position, event } = await publisher.publish('user.signed-up', { userId: 'u1', source: 'landing-page' });
    expect(position).toBe('0');
    expect(event.specversion).toBe('1.0');
    expect(event.id).toMatch(ulidPattern);
    expect(decodeTime(event.id)).toBe(fixedTime);
    expect(event.source).toBe('signup-service');
    expect(event.type).toBe('user.signed-up');
    expect(event.subject).toBe('user-u1');
    expect(event.time).toBe('2200-01-01T12:00:00.123Z');
    expect(event.datacontenttype).toBe('application/json');
    expect(event.dataversion).toBe(1);
    // data is the schema's output: defaults applied, the payload's own source kept in data.
    expect(event.data).toEqual({ userId: 'u1', source: 'landing-page', plan: 'free' });
    expect('correlationid' in event).toBe(false);
    expect('causationid' in event).toBe(false);
    expect(eventEnvelopeSchema.safeParse(event).success).toBe(true);
    const stored = await log.read();
    expect(JSON.stringify(stored.events)).toBe(JSON.stringify([{ position, event }]));
    expect(eventEnvelopeSchema.safeParse(stored.events[0]!.event).success).toBe(true);
  });

  it('stamps the dataversion of the newest definition', async () => {
    const { publisher } = setup();
    const { event } = await publisher.publish('item.added', { id: 'i1', title: 'Lamp', price: 3 });
    expect(event.dataversion).toBe(3);
    expect(event.subject).toBe('i1');
  });

  it('takes source only from the publisher options', async () => {
    const { publisher } = setup();
    const { event } = await publisher.publish('user.signed-up', { userId: 'u1', source: 'evil' }, { source: 'evil' } as never);
    expect(event.source).toBe('signup-service');
  });

  it('keeps ids monotonic across publishers in one process', async () => {
    const { publisher } = setup();
    const { publisher: other } = setup();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await (i % 2 ? publisher : other).publish('user.signed-up', { userId: `u${i}`, source: 's' })).event.id);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!, `${ids[i]!} > ${ids[i - 1]!}`).toBe(true);
  });

  it('uses the key option over the key function', async () => {
    const { publisher } = setup();
    const { event } = await publisher.publish('user.signed-up', { userId: 'u1', source: 's' }, { key: 'tenant-7' });
    expect(event.subject).toBe('tenant-7');
  });

  it('generates strictly increasing ULIDs within one millisecond', async () => {
    const { publisher } = setup();
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push((await publisher.publish('user.signed-up', { userId: `u${i}`, source: 's' })).event.id);
    const batch = await publisher.publishBatch(Array.from({ length: 50 }, (_, i) => ({ type: 'user.signed-up' as const, data: { userId: `b${i}`, source: 's' } })));
    ids.push(...batch.map((r) => r.event.id));
    expect(new Set(ids).size).toBe(100);
    for (const id of ids) {
      expect(id).toMatch(ulidPattern);
      expect(decodeTime(id)).toBe(fixedTime);
    }
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!, `${ids[i]!} > ${ids[i - 1]!}`).toBe(true);
  });

  it('honours a client id', async () => {
    const { publisher } = setup();
    const id = 'order-42:created.v1_x';
    const { event } = await publisher.publish('user.signed-up', { userId: 'u1', source: 's' }, { id });
    expect(event.id).toBe(id);
    expect(eventEnvelopeSchema.safeParse(event).success).toBe(true);
    const longest = 'a'.repeat(128);
    expect((await publisher.publish('user.signed-up', { userId: 'u1', source: 's' }, { id: longest })).event.id).toBe(longest);
  });

  it('sets correlation and causation from options', async () => {
    const { publisher } = setup();
    const { event } = await publisher.publish('user.signed-up', { userId: 'u1', source: 's' }, { correlationId: 'req-1', causationId: 'cmd-9' });
    expect(event.correlationid).toBe('req-1');
    expect(event.causationid).toBe('cmd-9');
  });

  it('sets causation to causedBy and carries its correlation on', async () => {
    const { publisher } = setup();
    const first = (await publisher.publish('user.signed-up', { userId: 'u1', source: 's' }, { correlationId: 'req-1' })).event;
    const second = (await publisher.publish('user.signed-up', { userId: 'u2', source: 's' }, { causedBy: first })).event;
    expect(second.causationid).toBe(first.id);
    expect(second.correlationid).toBe('req-1');
    const third = (await publisher.publish('user.signed-up', { userId: 'u3', source: 's' }, { causedBy: second })).event;
    expect(third.causationid).toBe(second.id);
    expect(third.correlationid).toBe('req-1');
  });

  it('uses the id of a causedBy event without correlation as the correlation', async () => {
    const { publisher } = setup();
    const root = (await publisher.publish('user.signed-up', { userId: 'u1', source: 's' })).event;
    const child = (await publisher.publish('user.signed-up', { userId: 'u2', source: 's' }, { causedBy: root })).event;
    expect(child.causationid).toBe(root.id);
    expect(child.correlationid).toBe(root.id);
  });

  it('lets explicit ids override causedBy', async () => {
    const { publisher } = setup();
    const root = (await publisher.publish('user.signed-up', { userId: 'u1', source: 's' }, { correlationId: 'req-1' })).event;
    const child = (await publisher.publish('user.signed-up', { userId: 'u2', source: 's' }, { causedBy: root, correlationId: 'req-2', causationId: 'cmd-3' })).event;
    expect(child.correlationid).toBe('req-2');
    expect(child.causationid).toBe('cmd-3');
  });

  it('prepares envelopes without appending them', async () => {
    const { log, publisher } = setup();
    const [event] = publisher.prepare([{ type: 'user.signed-up', data: { userId: 'u1', source: 's' } }]);
    expect(eventEnvelopeSchema.safeParse(event).success).toBe(true);
    expect(await log.head()).toBe('0');
  });
});

describe('eventEnvelopeSchema', () => {
  const valid: EventEnvelope = {
    specversion: '1.0',
    id: '01HZY0000000000000000000AB',
    source: 'svc',
    type: 'a.b',
    time: '2024-01-01T00:00:00.000Z',
    subject: 'k',
    datacontenttype: 'application/json',
    dataversion: 1,
    data: { any: 'thing' },
  };

  it('accepts a valid envelope', () => {
    expect(eventEnvelopeSchema.parse(valid)).toEqual(valid);
  });

  it.each([
    ['specversion', { specversion: '0.3' }],
    ['id', { id: 'has space' }],
    ['source', { source: '' }],
    ['type', { type: 'bad type' }],
    ['time', { time: 'yesterday' }],
    ['subject', { subject: '' }],
    ['datacontenttype', { datacontenttype: 'text/plain' }],
    ['dataversion', { dataversion: 0 }],
    ['correlationid', { correlationid: '' }],
  ])('rejects a bad %s', (field, patch) => {
    const result = eventEnvelopeSchema.safeParse({ ...valid, ...patch });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual([field]);
  });
});

describe('errors', () => {
  const allCodes = [
    'SchemaViolation',
    'UnknownEventType',
    'UnknownEventVersion',
    'EventTooLarge',
    'EventNotSerializable',
    'InvalidPartitionKey',
    'InvalidEventDefinition',
    'UpcastFailed',
    'InvalidPosition',
    'LogCorrupted',
    'LogLocked',
    'LogNotFound',
    'LogClosed',
    'LogWriteFailed',
    'AppendIncomplete',
    'ConfigNotFound',
    'ConfigInvalid',
    'InvalidArgument',
    'InvalidProjection',
    'HandlerRejected',
    'DeadLetterNotFound',
    'WaitTimedOut',
    'ConsumerStopped',
    'ConsumerNotFound',
    'InvalidRequest',
    'Unauthorized',
    'Forbidden',
    'NotFound',
    'PayloadTooLarge',
    'UnsupportedMediaType',
    'Overloaded',
    'RequestTimeout',
    'KeyNotFound',
    'NoApiKeys',
    'ServiceUnavailable',
    'CheckpointConflict',
    'ConcurrencyConflict',
    'InvalidStreamId',
  ];

  it('lists every code once in errorCodes', () => {
    expect([...errorCodes].sort()).toEqual([...allCodes].sort());
    expect(new Set(errorCodes).size).toBe(errorCodes.length);
    expect(Object.isFrozen(errorCodes)).toBe(true);
    expectTypeOf(errorCodes).toEqualTypeOf<readonly ErrorCode[]>();
  });

  it('is an Error with a name, code, details and cause', () => {
    const cause = new Error('disk');
    const error = new UnilogError('LogWriteFailed', 'Writing failed.', { dir: '/tmp/x' }, { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('UnilogError');
    expect(error.code).toBe('LogWriteFailed');
    expect(error.message).toBe('Writing failed.');
    expect(error.details).toEqual({ dir: '/tmp/x' });
    expect(error.cause).toBe(cause);
    expect(String(error)).toBe('UnilogError: Writing failed.');
  });

  it('serializes to { code, message, details } with toJSON', () => {
    const error = new UnilogError('EventTooLarge', 'Too big.', { bytes: 2, limit: 1, index: 0, type: 'a.b' });
    expect(error.toJSON()).toEqual({ code: 'EventTooLarge', message: 'Too big.', details: { bytes: 2, limit: 1, index: 0, type: 'a.b' } });
    expect(Object.keys(error.toJSON())).toEqual(['code', 'message', 'details']);
    expect(JSON.parse(JSON.stringify(error))).toEqual(error.toJSON());
    expectTypeOf(error.toJSON().details).toEqualTypeOf<{ readonly bytes: number; readonly limit: number; readonly index?: number; readonly type?: string }>();
  });

  it('recognises its own errors, with and without a code', () => {
    const error = new UnilogError('LogClosed', 'Closed.', {});
    expect(isUnilogError(error)).toBe(true);
    expect(isUnilogError(error, 'LogClosed')).toBe(true);
    expect(isUnilogError(error, 'LogNotFound')).toBe(false);
  });

  it('recognises a structural clone carrying the Symbol.for("unilog.error") marker', () => {
    // As made by another copy of the package: a different class, the same marker.
    const clone: unknown = { [Symbol.for('unilog.error')]: true, code: 'LogLocked', message: 'Locked.', details: { dir: '/x', pid: 1 } };
    expect(isUnilogError(clone)).toBe(true);
    expect(isUnilogError(clone, 'LogLocked')).toBe(true);
    expect(isUnilogError(clone, 'LogClosed')).toBe(false);
    if (isUnilogError(clone, 'LogLocked')) expectTypeOf(clone.details).toEqualTypeOf<{ readonly dir: string; readonly pid: number }>();
    // Spreading an error keeps the own marker property.
    // eslint-disable-next-line @typescript-eslint/no-misused-spread -- losing the prototype is the point: the guard is structural
    expect(isUnilogError({ ...new UnilogError('LogClosed', 'Closed.', {}) }, 'LogClosed')).toBe(true);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'SchemaViolation'],
    ['a plain Error', new Error('x')],
    ['an object with a code but no marker', { code: 'LogClosed' }],
    ['a JSON round trip (the symbol is lost)', JSON.parse(JSON.stringify(new UnilogError('LogClosed', 'Closed.', {}))) as unknown],
    ['a marker that is not true', { [Symbol.for('unilog.error')]: 'yes', code: 'LogClosed' }],
    ['a marker without a string code', { [Symbol.for('unilog.error')]: true, code: 7 }],
    ['a local symbol of the same description', { [Symbol('unilog.error')]: true, code: 'LogClosed' }],
  ])('does not recognise %s', (_, value) => {
    expect(isUnilogError(value)).toBe(false);
  });
});
