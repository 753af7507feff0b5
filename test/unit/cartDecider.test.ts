import { describe, expect, it } from 'vitest';
import { createCommandHandler, createCatalog, createMemoryEventLog, createMemoryEventStore, deciderSpec, type EventStore } from '../../src/index.ts';
import { CartRefusal, cartDecider, cartStream, type CartEvent } from '../../sample-app/cart/cartDecider.ts';
import { helloRetailEvents } from '../../sample-app/events.ts';

const customerId = 'c-ann';
const added = (productId: string, quantity: number) => ({ type: 'cart.item-added' as const, data: { cartId: customerId, customerId, productId, quantity } });
const removed = (productId: string) => ({ type: 'cart.item-removed' as const, data: { cartId: customerId, customerId, productId } });
const purchased = (productId: string) => ({ type: 'product.purchased' as const, data: { productId, customerId } });

describe('the cart decider', () => {
  const given = deciderSpec(cartDecider);

  it('adds a product, and more of a product already in the cart', () => {
    given([]).when({ kind: 'add', customerId, productId: 'p1', quantity: 2 }).then([added('p1', 2)]);
    given([added('p1', 2)]).when({ kind: 'add', customerId, productId: 'p1', quantity: 97 }).then([added('p1', 97)]);
  });

  it('refuses a quantity outside 1 to 99, and a line that would hold more than 99', () => {
    for (const quantity of [0, -1, 100, 1.5, Number.NaN]) given([]).when({ kind: 'add', customerId, productId: 'p1', quantity }).thenThrows(CartRefusal);
    given([added('p1', 50), added('p1', 49)]).when({ kind: 'add', customerId, productId: 'p1', quantity: 1 }).thenThrows(CartRefusal);
    given([added('p1', 98)]).when({ kind: 'add', customerId, productId: 'p1', quantity: 2 }).thenThrows((error) => error instanceof CartRefusal && error.message.includes('1 more'));
    // A removed or bought line starts again from 0.
    given([added('p1', 99), removed('p1')]).when({ kind: 'add', customerId, productId: 'p1', quantity: 99 }).then([added('p1', 99)]);
    given([added('p1', 99), purchased('p1')]).when({ kind: 'add', customerId, productId: 'p1', quantity: 99 }).then([added('p1', 99)]);
  });

  it('removes a product in the cart, and refuses one that is not', () => {
    given([added('p1', 2)]).when({ kind: 'remove', customerId, productId: 'p1' }).then([removed('p1')]);
    given([]).when({ kind: 'remove', customerId, productId: 'p1' }).thenThrows(CartRefusal);
    given([added('p1', 2), removed('p1')]).when({ kind: 'remove', customerId, productId: 'p1' }).thenThrows(CartRefusal);
    given([added('p1', 2), purchased('p1')]).when({ kind: 'remove', customerId, productId: 'p1' }).thenThrows(CartRefusal);
    given([added('p1', 2)]).when({ kind: 'remove', customerId, productId: 'toString' }).thenThrows(CartRefusal);
  });

  it('checks out one product.purchased per item, and refuses an empty cart', () => {
    given([added('p1', 2), added('p2', 1)]).when({ kind: 'checkout', customerId }).then([purchased('p1'), purchased('p1'), purchased('p2')]);
    given([]).when({ kind: 'checkout', customerId }).thenThrows(CartRefusal);
    given([added('p1', 2), removed('p1')]).when({ kind: 'checkout', customerId }).thenThrows(CartRefusal);
    // What was bought has left the cart: a second checkout has nothing to buy.
    given([added('p1', 2), purchased('p1'), purchased('p1')]).when({ kind: 'checkout', customerId }).thenThrows(CartRefusal);
  });

  it('buys one product now, in the cart or not; a bought line leaves the cart', () => {
    given([]).when({ kind: 'buy', customerId, productId: 'p1' }).then([purchased('p1')]);
    given([added('p1', 3), added('p2', 1)]).when({ kind: 'buy', customerId, productId: 'p1' }).then([purchased('p1')]);
    given([added('p1', 3), added('p2', 1), purchased('p1')]).when({ kind: 'checkout', customerId }).then([purchased('p2')]);
  });

  it('runs on a stream of the unified log through createCommandHandler', async () => {
    const log = createMemoryEventLog();
    const store = await createMemoryEventStore({ log, catalog: createCatalog(helloRetailEvents), source: 'shop-web' });
    const cart = createCommandHandler(store as unknown as EventStore<CartEvent>, cartDecider);
    await cart(cartStream(customerId), { kind: 'add', customerId, productId: 'p1', quantity: 2 });
    const checkout = await cart(cartStream(customerId), { kind: 'checkout', customerId });
    expect(checkout).toMatchObject({ version: 3, state: { lines: {} } });
    await expect(cart(cartStream(customerId), { kind: 'checkout', customerId })).rejects.toBeInstanceOf(CartRefusal);
    const { events } = await log.read({ from: '0', limit: 10 });
    expect(events.map((e) => [e.event.type, e.event.streamid, e.event.source])).toEqual([
      ['cart.item-added', 'cart-c-ann', 'shop-web'],
      ['product.purchased', 'cart-c-ann', 'shop-web'],
      ['product.purchased', 'cart-c-ann', 'shop-web'],
    ]);
    await store.close();
  });
});
