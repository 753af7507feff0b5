import { z } from 'zod';
import { defineProjection } from '../src/index.ts';
import { PhotographerRegistered, ProductCreated, ProductImageAdded, ProductPurchased } from '../sample-app/events.ts';

/**
 * Creator and photographer scores: how many purchases each merchant's products, and each photographer's photos,
 * drew (the Hello Retail workshop's "winner" view).
 */
export const scoresProjection = defineProjection({
  name: 'scores',
  version: 1,
  events: [ProductCreated, PhotographerRegistered, ProductImageAdded, ProductPurchased],
  tables: {
    merchants: { row: z.object({ merchantId: z.string(), merchantName: z.string(), products: z.number().int(), purchases: z.number().int() }), key: 'merchantId', indexes: [] },
    photographers: { row: z.object({ photographerId: z.string(), name: z.string(), photos: z.number().int(), purchases: z.number().int() }), key: 'photographerId', indexes: [] },
    // Who made and who photographed each product, to credit its purchases.
    products: { row: z.object({ productId: z.string(), merchantId: z.string(), photographerId: z.string().nullable() }), key: 'productId', indexes: [] },
  },
}).on({
  'product.created': async (event, view) => {
    if (await view.products.get(event.data.id)) return;
    view.products.put({ productId: event.data.id, merchantId: event.data.merchantId, photographerId: null });
    const merchant = (await view.merchants.get(event.data.merchantId)) ?? { merchantId: event.data.merchantId, merchantName: event.data.merchantName, products: 0, purchases: 0 };
    view.merchants.put({ ...merchant, products: merchant.products + 1 });
  },
  'photographer.registered': async (event, view) => {
    const known = await view.photographers.get(event.data.photographerId);
    view.photographers.put(known ? { ...known, name: event.data.name } : { photographerId: event.data.photographerId, name: event.data.name, photos: 0, purchases: 0 });
  },
  'product.image-added': async (event, view) => {
    const product = await view.products.get(event.data.productId);
    if (!product || product.photographerId !== null) return;
    view.products.put({ ...product, photographerId: event.data.photographerId });
    const photographer = await view.photographers.get(event.data.photographerId);
    if (photographer) view.photographers.put({ ...photographer, photos: photographer.photos + 1 });
  },
  'product.purchased': async (event, view) => {
    const product = await view.products.get(event.data.productId);
    if (!product) return;
    const merchant = await view.merchants.get(product.merchantId);
    if (merchant) view.merchants.put({ ...merchant, purchases: merchant.purchases + 1 });
    if (product.photographerId === null) return;
    const photographer = await view.photographers.get(product.photographerId);
    if (photographer) view.photographers.put({ ...photographer, purchases: photographer.purchases + 1 });
  },
});
