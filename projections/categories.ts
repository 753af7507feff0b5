import { z } from 'zod';
import { defineProjection } from '../src/index.ts';
import { ProductCreated } from '../sample-app/events.ts';

/** Product categories and how many products each has: the customer's first page. */
export const categoriesProjection = defineProjection({
  name: 'categories',
  version: 1,
  events: [ProductCreated],
  tables: {
    categories: { row: z.object({ category: z.string(), products: z.number().int() }), key: 'category', indexes: [] },
    // The products counted, so that a product created twice (a retried publish) counts once.
    counted: { row: z.object({ id: z.string(), category: z.string() }), key: 'id', indexes: [] },
  },
}).on({
  'product.created': async (event, view) => {
    if (await view.counted.get(event.data.id)) return;
    view.counted.put({ id: event.data.id, category: event.data.category });
    const category = await view.categories.get(event.data.category);
    view.categories.put({ category: event.data.category, products: (category?.products ?? 0) + 1 });
  },
});
