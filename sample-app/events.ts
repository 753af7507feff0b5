import { z } from 'zod';
import { defineEvent } from '../src/index.ts';

/** A merchant added a product to the catalog. */
export const ProductCreated = defineEvent({
  type: 'product.created',
  description: 'A merchant added a product to the catalog.',
  schema: z.strictObject({
    id: z.string().min(1),
    brand: z.string().min(1),
    name: z.string().min(1),
    description: z.string(),
    category: z.string().min(1),
  }),
  key: (product) => product.id,
});

/** A customer bought a product. */
export const ProductPurchased = defineEvent({
  type: 'product.purchased',
  description: 'A customer bought a product.',
  schema: z.strictObject({ productId: z.string().min(1), customerId: z.string().min(1) }),
  key: (purchase) => purchase.productId,
});
