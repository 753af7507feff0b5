/**
 * The Hello Retail event catalog: every event the demo's services publish, each defined once with its zod schema.
 * Past-tense names, one partition key per entity (product, photographer, cart, user).
 */
import { z } from 'zod';
import { defineEvent } from '../src/index.ts';

const id = z.string().min(1).max(128);
const productId = id;
const photographerId = id;
/** E.164 phone numbers (any country: the original accepted only +1 numbers). */
export const phoneSchema = z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'a phone number in E.164 form, such as +14155550100');

const ProductCreatedV1 = defineEvent({
  type: 'product.created',
  description: 'A merchant added a product to the catalog.',
  schema: z.strictObject({
    id: productId,
    brand: z.string().min(1),
    name: z.string().min(1),
    description: z.string(),
    category: z.string().min(1),
  }),
  key: (product) => product.id,
});

/** A merchant added a product to the catalog (version 2: with its price and merchant). */
export const ProductCreated = defineEvent({
  type: 'product.created',
  version: 2,
  previous: ProductCreatedV1,
  description: 'A merchant added a product to the catalog.',
  schema: z.strictObject({
    id: productId,
    brand: z.string().min(1).max(100),
    name: z.string().min(1).max(200),
    description: z.string().max(2000),
    category: z.string().min(1).max(100),
    priceCents: z.number().int().nonnegative(),
    merchantId: id,
    merchantName: z.string().min(1).max(100),
  }),
  // Version 1 products had no price or merchant.
  upcast: (v1) => ({ ...v1, priceCents: 0, merchantId: 'unknown', merchantName: 'Unknown merchant' }),
  key: (product) => product.id,
});

/** A photographer registered a phone to receive photo requests. */
export const PhotographerRegistered = defineEvent({
  type: 'photographer.registered',
  description: 'A photographer registered a phone to receive photo requests.',
  schema: z.strictObject({ photographerId, name: z.string().min(1).max(100), phone: phoneSchema }),
  key: (p) => p.photographerId,
});

/** The photo workflow needs a photo of a product (once per product). */
export const PhotoRequested = defineEvent({
  type: 'photo.requested',
  description: 'The photo workflow needs a photo of a product.',
  schema: z.strictObject({ productId, productName: z.string(), merchantName: z.string() }),
  key: (r) => r.productId,
});

/** The workflow assigned a product's photo to a photographer, until a deadline. */
export const PhotoAssigned = defineEvent({
  type: 'photo.assigned',
  description: 'A product\'s photo was assigned to a photographer until a deadline.',
  schema: z.strictObject({ productId, photographerId, phone: phoneSchema, attempt: z.number().int().positive(), deadline: z.iso.datetime() }),
  key: (a) => a.productId,
});

/** The deadline of an assignment passed (a durable timer fired). */
export const PhotoDeadlinePassed = defineEvent({
  type: 'photo.deadline-passed',
  description: 'The deadline of a photo assignment passed.',
  schema: z.strictObject({ productId, photographerId, attempt: z.number().int().positive() }),
  key: (d) => d.productId,
});

/** A photographer was taken off an assignment (the deadline passed). */
export const PhotoUnassigned = defineEvent({
  type: 'photo.unassigned',
  description: 'A photographer was taken off a photo assignment.',
  schema: z.strictObject({ productId, photographerId, attempt: z.number().int().positive(), reason: z.enum(['deadline']) }),
  key: (u) => u.productId,
});

/** Every attempt failed: the product stays without a photo. */
export const PhotoUnavailable = defineEvent({
  type: 'photo.unavailable',
  description: 'No photographer delivered a photo within the allowed attempts.',
  schema: z.strictObject({ productId, attempts: z.number().int().nonnegative() }),
  key: (u) => u.productId,
});

/** A photographer's photo arrived (by MMS webhook) for an assignment. */
export const PhotoReceived = defineEvent({
  type: 'photo.received',
  description: 'A photographer\'s photo arrived for an assignment.',
  schema: z.strictObject({ productId, photographerId, messageId: id, contentType: z.string().regex(/^image\//) }),
  key: (r) => r.productId,
});

/** A processed photo was stored and attached to the product. */
export const ProductImageAdded = defineEvent({
  type: 'product.image-added',
  description: 'A processed photo was stored and attached to a product.',
  schema: z.strictObject({ productId, photographerId, image: z.string().min(1), thumbnail: z.string().min(1), width: z.number().int().positive(), height: z.number().int().positive() }),
  key: (i) => i.productId,
});

/** The photo workflow took a registered photographer into its pool (again when the name or phone changed). */
export const PhotographerEnlisted = defineEvent({
  type: 'photo.photographer-enlisted',
  description: 'The photo workflow took a registered photographer into its pool.',
  schema: z.strictObject({ photographerId, name: z.string().min(1).max(100), phone: phoneSchema }),
  key: (p) => p.photographerId,
});

/** The photo workflow's pool counted an open assignment against a photographer (the conditional claim). */
export const PhotographerClaimed = defineEvent({
  type: 'photo.photographer-claimed',
  description: 'A photographer was claimed for one attempt at a product\'s photo.',
  schema: z.strictObject({ productId, photographerId, attempt: z.number().int().positive() }),
  key: (c) => c.photographerId,
});

/** The photo workflow's pool freed a photographer of an assignment (photo taken, deadline passed, or the claim came too late). */
export const PhotographerReleased = defineEvent({
  type: 'photo.photographer-released',
  description: 'A photographer was freed of one attempt at a product\'s photo.',
  schema: z.strictObject({ productId, photographerId, attempt: z.number().int().positive(), reason: z.enum(['photo', 'deadline', 'withdrawn']) }),
  key: (r) => r.photographerId,
});

/** No photographer could take a product's photo: it waits for the next registration (no polling). */
export const PhotoQueued = defineEvent({
  type: 'photo.queued',
  description: 'A product waits for a photographer to register.',
  schema: z.strictObject({ productId, attempt: z.number().int().positive() }),
  key: (q) => q.productId,
});

/** The assigned photographer's photo arrived: the assignment is done and the deadline cancelled. */
export const PhotoAssignmentCompleted = defineEvent({
  type: 'photo.assignment-completed',
  description: 'The assigned photographer delivered the photo of a product.',
  schema: z.strictObject({ productId, photographerId, attempt: z.number().int().positive() }),
  key: (c) => c.productId,
});

/** A customer bought a product. */
export const ProductPurchased = defineEvent({
  type: 'product.purchased',
  description: 'A customer bought a product.',
  schema: z.strictObject({ productId, customerId: id }),
  key: (purchase) => purchase.productId,
});

/** A customer put a product in their cart. */
export const CartItemAdded = defineEvent({
  type: 'cart.item-added',
  description: 'A customer put a product in their cart.',
  schema: z.strictObject({ cartId: id, customerId: id, productId, quantity: z.number().int().positive().max(99) }),
  key: (item) => item.cartId,
});

/** A customer took a product out of their cart. */
export const CartItemRemoved = defineEvent({
  type: 'cart.item-removed',
  description: 'A customer took a product out of their cart.',
  schema: z.strictObject({ cartId: id, customerId: id, productId }),
  key: (item) => item.cartId,
});

/** A user logged in to the web UI in a role. */
export const UserLoggedIn = defineEvent({
  type: 'user.logged-in',
  description: 'A user logged in to the web UI.',
  schema: z.strictObject({ userId: id, name: z.string().min(1).max(100), role: z.enum(['customer', 'merchant', 'photographer', 'operator']) }),
  key: (login) => login.userId,
});

/** Every event of the demo. */
export const helloRetailEvents = [
  ProductCreated,
  PhotographerRegistered,
  PhotoRequested,
  PhotoAssigned,
  PhotoDeadlinePassed,
  PhotoUnassigned,
  PhotoUnavailable,
  PhotoReceived,
  ProductImageAdded,
  PhotographerEnlisted,
  PhotographerClaimed,
  PhotographerReleased,
  PhotoQueued,
  PhotoAssignmentCompleted,
  ProductPurchased,
  CartItemAdded,
  CartItemRemoved,
  UserLoggedIn,
] as const;
