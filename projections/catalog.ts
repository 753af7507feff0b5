import { z } from 'zod';
import { defineProjection, type TableTransaction } from '../src/index.ts';
import { PhotoAssigned, PhotoReceived, PhotoRequested, PhotoUnassigned, PhotoUnavailable, ProductCreated, ProductImageAdded, ProductPurchased } from '../sample-app/events.ts';

/** Where a product's photo is: the merchant sees it next to the product. */
export const photoStatuses = ['waiting', 'requested', 'assigned', 'received', 'done', 'unavailable'] as const;

export const productRow = z.object({
  id: z.string(),
  brand: z.string(),
  name: z.string(),
  description: z.string(),
  category: z.string(),
  priceCents: z.number().int(),
  merchantId: z.string(),
  merchantName: z.string(),
  createdAt: z.string(),
  photoStatus: z.enum(photoStatuses),
  image: z.string().nullable(),
  thumbnail: z.string().nullable(),
  photographerId: z.string().nullable(),
  purchases: z.number().int(),
});
export type ProductRow = z.output<typeof productRow>;

/** The product catalog by category (and by merchant), with each product's image and photo status. */
export const catalogProjection = defineProjection({
  name: 'catalog',
  version: 1,
  events: [ProductCreated, PhotoRequested, PhotoAssigned, PhotoUnassigned, PhotoUnavailable, PhotoReceived, ProductImageAdded, ProductPurchased],
  tables: { products: { row: productRow, key: 'id', indexes: ['category', 'merchantId'] } },
}).on({
  'product.created': async (event, view) => {
    if (await view.products.get(event.data.id)) return;
    view.products.put({ ...event.data, createdAt: event.time, photoStatus: 'waiting', image: null, thumbnail: null, photographerId: null, purchases: 0 });
  },
  'photo.requested': (event, view) => setStatus(view, event.data.productId, 'requested'),
  'photo.assigned': (event, view) => setStatus(view, event.data.productId, 'assigned'),
  'photo.unassigned': (event, view) => setStatus(view, event.data.productId, 'requested'),
  'photo.unavailable': (event, view) => setStatus(view, event.data.productId, 'unavailable'),
  'photo.received': (event, view) => setStatus(view, event.data.productId, 'received'),
  'product.image-added': async (event, view) => {
    const product = await view.products.get(event.data.productId);
    if (product) view.products.put({ ...product, photoStatus: 'done', image: event.data.image, thumbnail: event.data.thumbnail, photographerId: event.data.photographerId });
  },
  'product.purchased': async (event, view) => {
    const product = await view.products.get(event.data.productId);
    if (product) view.products.put({ ...product, purchases: product.purchases + 1 });
  },
});

/** Moves a product's photo status, except once its photo is done (a late workflow event must not undo it). */
async function setStatus(view: { readonly products: TableTransaction<ProductRow> }, productId: string, status: ProductRow['photoStatus']): Promise<void> {
  const product = await view.products.get(productId);
  if (product && product.photoStatus !== 'done') view.products.put({ ...product, photoStatus: status });
}
