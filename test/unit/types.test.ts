/**
 * Type-level tests: checked by `tsc --noEmit` (npm run typecheck); the runtime bodies only keep vitest happy.
 * Every `@ts-expect-error` below must stay an error: tsc fails if one of them compiles.
 */
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  createCatalog,
  createMemoryEventLog,
  createPublisher,
  defineEvent,
  isUnilogError,
  type EventCatalog,
  type EventData,
  type EventDefinition,
  type EventEnvelope,
  type EventInput,
  type EventOf,
  type PublishItem,
  type PublishResult,
  type UnilogError,
} from '../../src/index.ts';

const ProductCreated = defineEvent({
  type: 'product.created',
  schema: z.object({ id: z.string(), name: z.string(), price: z.number().default(0) }),
  key: (product) => product.id,
});

const OrderPlacedV1 = defineEvent({
  type: 'order.placed',
  schema: z.object({ orderId: z.string(), total: z.number() }),
  key: (order) => order.orderId,
});

const OrderPlaced = defineEvent({
  type: 'order.placed',
  previous: OrderPlacedV1,
  schema: z.object({ orderId: z.string(), totalCents: z.number().int(), placedAt: z.string().transform((s) => s.length) }),
  key: (order) => order.orderId,
  upcast: (old) => {
    // The upcast receives the previous version's output type.
    expectTypeOf(old).toEqualTypeOf<{ orderId: string; total: number }>();
    return { orderId: old.orderId, totalCents: Math.round(old.total * 100), placedAt: '' };
  },
});

const catalog = createCatalog([ProductCreated, OrderPlaced]);

function makePublisher() {
  return createPublisher({ log: createMemoryEventLog(), catalog: [ProductCreated, OrderPlaced], source: 'types' });
}

describe('types', () => {
  it('keeps the literal type name of a definition', () => {
    expectTypeOf(ProductCreated.type).toEqualTypeOf<'product.created'>();
    expectTypeOf(OrderPlaced.type).toEqualTypeOf<'order.placed'>();
    expectTypeOf(ProductCreated).toExtend<EventDefinition<'product.created'>>();
  });

  it('infers EventData (schema output) and EventInput (schema input)', () => {
    expectTypeOf<EventData<typeof ProductCreated>>().toEqualTypeOf<{ id: string; name: string; price: number }>();
    expectTypeOf<EventInput<typeof ProductCreated>>().toEqualTypeOf<{ id: string; name: string; price?: number | undefined }>();
    expectTypeOf<EventData<typeof OrderPlaced>>().toEqualTypeOf<{ orderId: string; totalCents: number; placedAt: number }>();
    expectTypeOf<EventInput<typeof OrderPlaced>>().toEqualTypeOf<{ orderId: string; totalCents: number; placedAt: string }>();
    expectTypeOf<EventData<typeof OrderPlacedV1>>().toEqualTypeOf<{ orderId: string; total: number }>();
  });

  it('types the key function with the schema output', () => {
    defineEvent({
      type: 'typed.key',
      schema: z.object({ n: z.number().default(1) }),
      key: (data) => {
        expectTypeOf(data).toEqualTypeOf<{ n: number }>();
        return String(data.n);
      },
    });
    defineEvent({
      type: 'typed.key',
      schema: z.object({ n: z.number() }),
      // @ts-expect-error -- the key must be a string
      key: (data) => data.n,
    });
  });

  it('checks upcast against the previous and the new schema', () => {
    defineEvent({
      type: 'order.placed',
      previous: OrderPlacedV1,
      schema: z.object({ orderId: z.string(), totalCents: z.number() }),
      key: (order) => order.orderId,
      // @ts-expect-error -- the upcast must return the new version's input (totalCents is missing)
      upcast: (old) => ({ orderId: old.orderId }),
    });
  });

  it('narrows catalog.latest to the definition of the given type', () => {
    expectTypeOf(catalog.types).toEqualTypeOf<readonly ('product.created' | 'order.placed')[]>();
    expectTypeOf(catalog.latest('product.created')).toEqualTypeOf<typeof ProductCreated>();
    expectTypeOf(catalog.latest('order.placed')).toEqualTypeOf<typeof OrderPlaced>();
    expectTypeOf(catalog.latest('order.placed').type).toEqualTypeOf<'order.placed'>();
    expectTypeOf<EventData<ReturnType<typeof catalog.latest<'product.created'>>>>().toEqualTypeOf<{ id: string; name: string; price: number }>();
    expectTypeOf<EventOf<typeof ProductCreated | typeof OrderPlaced, 'order.placed'>>().toEqualTypeOf<typeof OrderPlaced>();
    expectTypeOf(catalog).toEqualTypeOf<EventCatalog<typeof ProductCreated | typeof OrderPlaced>>();
    const typeOnly = (): void => {
      // @ts-expect-error -- the catalog does not know this type
      catalog.latest('product.deleted');
    };
    expectTypeOf(typeOnly).toBeFunction();
  });

  it('narrows a string with catalog.has', () => {
    const type = 'product.created' as string;
    if (catalog.has(type)) expectTypeOf(type).toEqualTypeOf<'product.created' | 'order.placed'>();
  });

  it('types publish data from the zod schema', () => {
    const publisher = makePublisher();
    expectTypeOf<Parameters<typeof publisher.publish<'product.created'>>[1]>().toEqualTypeOf<{ id: string; name: string; price?: number | undefined }>();
    expectTypeOf<Parameters<typeof publisher.publish<'order.placed'>>[1]>().toEqualTypeOf<{ orderId: string; totalCents: number; placedAt: string }>();
    expectTypeOf<ReturnType<typeof publisher.publish>>().toEqualTypeOf<Promise<PublishResult>>();
    // Type-only: these calls are never made.
    const typeOnly = (): void => {
      void publisher.publish('product.created', { id: 'p1', name: 'Boots' });
      void publisher.publish('product.created', { id: 'p1', name: 'Boots', price: 3 });
      // @ts-expect-error -- id must be a string
      void publisher.publish('product.created', { id: 1 });
      // @ts-expect-error -- name is required
      void publisher.publish('product.created', { id: 'p1' });
      // @ts-expect-error -- unknown field
      void publisher.publish('product.created', { id: 'p1', name: 'Boots', colour: 'red' });
      // @ts-expect-error -- data of another type
      void publisher.publish('order.placed', { id: 'p1', name: 'Boots' });
      // @ts-expect-error -- placedAt is the schema input (a string), not its output (a number)
      void publisher.publish('order.placed', { orderId: 'o1', totalCents: 1, placedAt: 5 });
      // @ts-expect-error -- unknown type name
      void publisher.publish('product.deleted', { id: 'p1' });
      // @ts-expect-error -- unknown publish option
      void publisher.publish('product.created', { id: 'p1', name: 'Boots' }, { partition: 'x' });
    };
    expectTypeOf(typeOnly).toBeFunction();
  });

  it('types batch items per event type', () => {
    const publisher = makePublisher();
    type Item = PublishItem<typeof ProductCreated | typeof OrderPlaced>;
    expectTypeOf<Extract<Item, { type: 'product.created' }>['data']>().toEqualTypeOf<{ id: string; name: string; price?: number | undefined }>();
    const typeOnly = (): void => {
      void publisher.publishBatch([
        { type: 'product.created', data: { id: 'p1', name: 'Boots' } },
        { type: 'order.placed', data: { orderId: 'o1', totalCents: 100, placedAt: 'now' }, correlationId: 'c1' },
      ]);
      // @ts-expect-error -- the data does not match its item's type
      void publisher.publishBatch([{ type: 'order.placed', data: { id: 'p1', name: 'Boots' } }]);
      // @ts-expect-error -- unknown type name in a batch
      void publisher.publishBatch([{ type: 'nope', data: {} }]);
    };
    expectTypeOf(typeOnly).toBeFunction();
    expectTypeOf<ReturnType<typeof publisher.publishBatch>>().toEqualTypeOf<Promise<PublishResult[]>>();
  });

  it('narrows errors by code', () => {
    const error: unknown = new Error('x');
    if (isUnilogError(error, 'EventTooLarge')) {
      expectTypeOf(error).toEqualTypeOf<UnilogError<'EventTooLarge'>>();
      expectTypeOf(error.details.bytes).toEqualTypeOf<number>();
      expectTypeOf(error.code).toEqualTypeOf<'EventTooLarge'>();
    }
    if (isUnilogError(error, 'SchemaViolation')) {
      expectTypeOf(error.details.issues[0]!.path).toEqualTypeOf<readonly (string | number)[]>();
    }
    // @ts-expect-error -- not an error code
    isUnilogError(error, 'NotACode');
  });

  it('types envelopes', () => {
    expectTypeOf<EventEnvelope['specversion']>().toEqualTypeOf<'1.0'>();
    expectTypeOf<EventEnvelope['data']>().toEqualTypeOf<unknown>();
    expectTypeOf<EventEnvelope['correlationid']>().toEqualTypeOf<string | undefined>();
  });
});
