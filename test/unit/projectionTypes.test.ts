import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createConsumer, createMemoryEventLog, createMemoryViewStorage, defineProjection, defineReactor, type TableReader } from '../../src/index.ts';
import { ItemAdded, ItemRemoved } from '../support/cart.ts';

const tables = { carts: { row: z.object({ cartId: z.string(), items: z.number() }), key: 'cartId', indexes: ['items'] } } as const;

describe('projection types', () => {
  it('types handler events from the catalog and rows from the table schemas', () => {
    const projection = defineProjection({ name: 'typed', version: 1, events: [ItemAdded, ItemRemoved], tables }).on({
      'cart.item-added': async (event, view) => {
        expectTypeOf(event.type).toEqualTypeOf<'cart.item-added'>();
        expectTypeOf(event.data).toEqualTypeOf<{ cartId: string; productId: string; quantity: number }>();
        const cart = await view.carts.get(event.data.cartId);
        expectTypeOf(cart).toEqualTypeOf<Readonly<{ cartId: string; items: number }> | undefined>();
        if (cart) {
          // @ts-expect-error: rows read from a view are frozen; build a new one
          cart.items = 2;
        }
        view.carts.put({ cartId: event.data.cartId, items: (cart?.items ?? 0) + event.data.quantity });
        // @ts-expect-error: rows follow the table's schema
        view.carts.put({ cartId: event.data.cartId, items: 'many' });
        // @ts-expect-error: there is no such table
        expectTypeOf(view.orders).toBeObject();
      },
    });
    const consumer = createConsumer(projection, { log: createMemoryEventLog(), storage: createMemoryViewStorage() });
    expectTypeOf(consumer.view.carts).toEqualTypeOf<TableReader<{ cartId: string; items: number }>>();
  });

  it('refuses a handler for a type the events do not include, at compile time and at run time', () => {
    expect(() =>
      defineProjection({ name: 'strict', version: 1, events: [ItemAdded], tables }).on({
        'cart.item-added': () => undefined,
        // @ts-expect-error: cart.item-removed is not among this projection's events
        'cart.item-removed': () => undefined,
      }),
    ).toThrow(/not among its events/);
    expect(() =>
      defineReactor({ name: 'strict-reactor', events: [ItemAdded] }).on({
        // @ts-expect-error: unknown event type for a reactor too
        'product.created': () => undefined,
      }),
    ).toThrow(/not among its events/);
  });

  it('refuses a key or index that is not a field of the row', () => {
    defineProjection({
      name: 'bad-key',
      version: 1,
      events: [ItemAdded],
      // @ts-expect-error: id is not a field of the row
      tables: { carts: { row: z.object({ cartId: z.string() }), key: 'id' } },
    });
  });
});
