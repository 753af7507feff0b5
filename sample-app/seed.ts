// The demo's seed data: a few categories, products and photographers, published on the first `npm start`.
// Idempotent by checking the views (caught up to the head first) and by fixed ids: a second start publishes nothing,
// and a product published twice (a crash between publish and view) still counts once in every projection.
import type { Consumer, Publisher } from '../src/index.ts';
import type { catalogProjection, photographersProjection } from '../projections/index.ts';
import type { helloRetailEvents } from './events.ts';

type HelloRetailEvent = (typeof helloRetailEvents)[number];

/** A seed photographer: the demo's simulated phones. */
export const seedPhotographers = [
  { photographerId: 'ph-ada', name: 'Ada Lens', phone: '+14155550101' },
  { photographerId: 'ph-bo', name: 'Bo Shutter', phone: '+14155550102' },
] as const;

const merchant = { merchantId: 'm-nordwest', merchantName: 'Nordwest Outfitters' } as const;

/** The seed products, three categories. */
export const seedProducts = [
  { id: 'seed-trail-boots', brand: 'Nordwest', name: 'Trail boots', description: 'Waterproof leather boots with a grippy sole.', category: 'Footwear', priceCents: 12900, ...merchant },
  { id: 'seed-city-sneakers', brand: 'Pacer', name: 'City sneakers', description: 'Light canvas sneakers for every day.', category: 'Footwear', priceCents: 6900, ...merchant },
  { id: 'seed-down-parka', brand: 'Nordwest', name: 'Down parka', description: 'A warm parka, filled with responsibly sourced down.', category: 'Outerwear', priceCents: 24900, ...merchant },
  { id: 'seed-wool-beanie', brand: 'Knit & Co', name: 'Wool beanie', description: 'Merino wool, one size.', category: 'Accessories', priceCents: 2900, ...merchant },
] as const;

/** What {@link seedDemo} published. */
export interface SeedResult {
  readonly photographers: number;
  readonly products: number;
}

/** What seeding reads and writes. */
export interface SeedOptions {
  readonly publisher: Publisher<HelloRetailEvent>;
  readonly catalog: Consumer<(typeof catalogProjection)['tables']>;
  readonly photographers: Consumer<(typeof photographersProjection)['tables']>;
}

/**
 * Publishes the seed photographers, then the seed products, each only when its view does not have it yet. The
 * consumers must be running and caught up with the log (the caller waits for them), or a restart would seed twice.
 */
export async function seedDemo({ publisher, catalog, photographers }: SeedOptions): Promise<SeedResult> {
  let published = { photographers: 0, products: 0 };
  for (const p of seedPhotographers) {
    if (await photographers.view.photographers.get(p.photographerId)) continue;
    const { position } = await publisher.publish('photographer.registered', p, { id: `seed-photographer-${p.photographerId}` });
    await photographers.waitFor(position);
    published = { ...published, photographers: published.photographers + 1 };
  }
  for (const product of seedProducts) {
    if (await catalog.view.products.get(product.id)) continue;
    const { position } = await publisher.publish('product.created', product, { id: `seed-product-${product.id}` });
    await catalog.waitFor(position);
    published = { ...published, products: published.products + 1 };
  }
  return published;
}
