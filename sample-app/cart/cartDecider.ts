// A customer's cart, as a decider over one stream per customer (`cart-<customerId>`): which products it holds and how
// many of each. Its events are stream events of the unified log, so the `carts` projection folds them as before; the
// decider folds them too, so that a command is decided on the cart's own state (appended at the version it was
// decided on), not on a view that may lag.
import { defineDecider, type CommandResult } from '../../src/index.ts';
import { CartItemAdded, CartItemRemoved, ProductPurchased } from '../events.ts';

/** The events of a cart's stream. */
export const cartEvents = [CartItemAdded, CartItemRemoved, ProductPurchased] as const;
/** An event definition of a cart's stream. */
export type CartEvent = (typeof cartEvents)[number];

/** The most of one product a cart holds. */
export const maxLineQuantity = 99;

/** The state of a cart: the quantity of each product in it (a product with no line is not in the cart). */
export interface CartState {
  readonly lines: Readonly<Record<string, number>>;
}

/** A command to a cart. The cart id is the customer id (the demo has no sign-in). */
export type CartCommand =
  /** Puts `quantity` (1 to 99) of a product in the cart; refused if its line would hold more than 99. */
  | { readonly kind: 'add'; readonly customerId: string; readonly productId: string; readonly quantity: number }
  /** Takes a product out of the cart; refused if it is not in the cart. */
  | { readonly kind: 'remove'; readonly customerId: string; readonly productId: string }
  /** Buys everything in the cart: one `product.purchased` per item; refused if the cart is empty. */
  | { readonly kind: 'checkout'; readonly customerId: string }
  /** Buys one of a product now ("Buy now"); if the product is in the cart, its line leaves the cart. */
  | { readonly kind: 'buy'; readonly customerId: string; readonly productId: string };

/** A command the cart refuses: the customer is told why, nothing is appended. */
export class CartRefusal extends Error {
  override readonly name = 'CartRefusal';
}

/** The stream of a customer's cart. */
export function cartStream(customerId: string): string {
  return `cart-${customerId}`;
}

/** What the shop needs: a command handler of the cart decider (`createCommandHandler(store, cartDecider)`). */
export type CartCommandHandler = (streamId: string, command: CartCommand) => Promise<CommandResult<CartEvent, CartState>>;

/** The quantity of `productId` in the cart (0 when it is not in it; never a property of `Object.prototype`). */
function held(state: CartState, productId: string): number {
  return Object.hasOwn(state.lines, productId) ? (state.lines[productId] ?? 0) : 0;
}

/** The state without the line of `productId`. */
function withoutLine(state: CartState, productId: string): CartState {
  if (!Object.hasOwn(state.lines, productId)) return state;
  return { lines: Object.fromEntries(Object.entries(state.lines).filter(([id]) => id !== productId)) };
}

/** The decider of a customer's cart. */
export const cartDecider = defineDecider({
  name: 'cart',
  version: 1,
  events: cartEvents,
  initialState: (): CartState => ({ lines: {} }),
  decide: (command: CartCommand, state: CartState) => {
    const { customerId } = command;
    switch (command.kind) {
      case 'add': {
        const { productId, quantity } = command;
        if (!Number.isInteger(quantity) || quantity < 1 || quantity > maxLineQuantity) throw new CartRefusal(`Choose a quantity from 1 to ${maxLineQuantity}.`);
        const inCart = held(state, productId);
        if (inCart + quantity > maxLineQuantity) {
          throw new CartRefusal(`Your cart holds ${inCart} of this product: at most ${maxLineQuantity} fit, so you can add ${maxLineQuantity - inCart} more.`);
        }
        return [{ type: 'cart.item-added' as const, data: { cartId: customerId, customerId, productId, quantity } }];
      }
      case 'remove': {
        const { productId } = command;
        if (!Object.hasOwn(state.lines, productId)) throw new CartRefusal('That product is not in your cart.');
        return [{ type: 'cart.item-removed' as const, data: { cartId: customerId, customerId, productId } }];
      }
      case 'checkout': {
        const lines = Object.entries(state.lines);
        if (lines.length === 0) throw new CartRefusal('Your cart is empty: add a product first.');
        // `product.purchased` has no quantity: one event per item, as the purchase counts and scores expect.
        return lines.flatMap(([productId, quantity]) => Array.from({ length: quantity }, () => ({ type: 'product.purchased' as const, data: { productId, customerId } })));
      }
      case 'buy':
        return [{ type: 'product.purchased' as const, data: { productId: command.productId, customerId } }];
    }
  },
  // As the `carts` projection folds them: a bought product's line leaves the cart.
  evolve: (state, event): CartState => {
    switch (event.type) {
      case 'cart.item-added': {
        const { productId, quantity } = event.data;
        return { lines: { ...state.lines, [productId]: held(state, productId) + quantity } };
      }
      case 'cart.item-removed':
      case 'product.purchased':
        return withoutLine(state, event.data.productId);
    }
  },
});
