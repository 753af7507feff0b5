import { z } from 'zod';
import { defineProjection } from '../src/index.ts';
import { CartItemAdded, CartItemRemoved, ProductPurchased } from '../sample-app/events.ts';

export const cartRow = z.object({ cartId: z.string(), customerId: z.string(), lines: z.record(z.string(), z.number().int()), items: z.number().int() });
export type CartRow = z.output<typeof cartRow>;

/**
 * Carts. Hello Retail's cart builder was not idempotent (a redelivered record counted twice); here the runtime's
 * checkpoint commits with the rows, so each event counts once.
 */
export const cartsProjection = defineProjection({
  name: 'carts',
  version: 1,
  events: [CartItemAdded, CartItemRemoved, ProductPurchased],
  tables: { carts: { row: cartRow, key: 'cartId', indexes: ['customerId'] } },
}).on({
  'cart.item-added': async (event, view) => {
    const cart = (await view.carts.get(event.data.cartId)) ?? { cartId: event.data.cartId, customerId: event.data.customerId, lines: {}, items: 0 };
    view.carts.put({ ...cart, lines: { ...cart.lines, [event.data.productId]: (cart.lines[event.data.productId] ?? 0) + event.data.quantity }, items: cart.items + event.data.quantity });
  },
  'cart.item-removed': async (event, view) => {
    const cart = await view.carts.get(event.data.cartId);
    const quantity = cart?.lines[event.data.productId];
    if (!cart || quantity === undefined) return;
    const lines = Object.fromEntries(Object.entries(cart.lines).filter(([productId]) => productId !== event.data.productId));
    view.carts.put({ ...cart, lines, items: cart.items - quantity });
  },
  // A bought product leaves the buyer's cart (the demo's cart id is the customer id).
  'product.purchased': async (event, view) => {
    const cart = await view.carts.get(event.data.customerId);
    const quantity = cart?.lines[event.data.productId];
    if (!cart || quantity === undefined) return;
    const lines = Object.fromEntries(Object.entries(cart.lines).filter(([productId]) => productId !== event.data.productId));
    view.carts.put({ ...cart, lines, items: cart.items - quantity });
  },
});
