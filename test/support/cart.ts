import { z } from 'zod';
import { defineEvent, defineProjection } from '../../src/index.ts';

/** A cart event: a customer adds `quantity` of a product; the view counts them (Hello Retail's non-idempotent cart). */
export const ItemAdded = defineEvent({
  type: 'cart.item-added',
  schema: z.object({ cartId: z.string(), productId: z.string(), quantity: z.number().int().positive() }),
  key: (item) => item.cartId,
});

/** Removes a product line from a cart. */
export const ItemRemoved = defineEvent({
  type: 'cart.item-removed',
  schema: z.object({ cartId: z.string(), productId: z.string() }),
  key: (item) => item.cartId,
});

/** `applied` counts every event applied to the cart and never goes down, so a double or missed apply always shows. */
export const cartRow = z.object({ cartId: z.string(), items: z.number(), lines: z.record(z.string(), z.number()), status: z.string(), applied: z.number() });

/** Counts items per cart: applying an event twice, or skipping one, shows in the counts. */
export const cartProjection = (version = 1, fail?: (cartId: string, productId: string) => boolean) =>
  defineProjection({
    name: 'carts',
    version,
    events: [ItemAdded, ItemRemoved],
    tables: { carts: { row: cartRow, key: 'cartId', indexes: ['status'] } },
  }).on({
    'cart.item-added': async (event, view) => {
      if (fail?.(event.data.cartId, event.data.productId)) throw new Error(`cannot add ${event.data.productId}`);
      const cart = (await view.carts.get(event.data.cartId)) ?? { cartId: event.data.cartId, items: 0, lines: {}, status: 'open', applied: 0 };
      view.carts.put({
        ...cart,
        applied: cart.applied + 1,
        items: cart.items + event.data.quantity,
        lines: { ...cart.lines, [event.data.productId]: (cart.lines[event.data.productId] ?? 0) + event.data.quantity },
        status: cart.items + event.data.quantity > 10 ? 'big' : 'open',
      });
    },
    'cart.item-removed': async (event, view) => {
      const cart = await view.carts.get(event.data.cartId);
      if (!cart) return;
      const { [event.data.productId]: removed = 0, ...lines } = cart.lines;
      view.carts.put({ ...cart, items: cart.items - removed, lines, applied: cart.applied + 1 });
    },
  });

/** The reference: the same fold, by hand, over events in log order. */
export function foldCarts(events: readonly { type: string; data: unknown }[], skip?: (cartId: string, productId: string) => boolean): Map<string, { cartId: string; items: number; lines: Record<string, number>; status: string; applied: number }> {
  const carts = new Map<string, { cartId: string; items: number; lines: Record<string, number>; status: string; applied: number }>();
  for (const event of events) {
    const data = event.data as { cartId: string; productId: string; quantity?: number };
    if (event.type === 'cart.item-added') {
      if (skip?.(data.cartId, data.productId)) continue;
      const cart = carts.get(data.cartId) ?? { cartId: data.cartId, items: 0, lines: {}, status: 'open', applied: 0 };
      const items = cart.items + (data.quantity ?? 0);
      carts.set(data.cartId, { cartId: data.cartId, items, lines: { ...cart.lines, [data.productId]: (cart.lines[data.productId] ?? 0) + (data.quantity ?? 0) }, status: items > 10 ? 'big' : 'open', applied: cart.applied + 1 });
    } else if (event.type === 'cart.item-removed') {
      const cart = carts.get(data.cartId);
      if (!cart) continue;
      const { [data.productId]: removed = 0, ...lines } = cart.lines;
      carts.set(data.cartId, { ...cart, items: cart.items - removed, lines, applied: cart.applied + 1 });
    }
  }
  return carts;
}
