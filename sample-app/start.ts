// `npm start`: until the Hello Retail demo and its web UI land, this publishes a few catalog events to the
// embedded log in ./.unilog (or UNILOG_DIR) and prints the log, so a newcomer sees the log work end to end.
import path from 'node:path';
import { createPublisher, openFileEventLog } from '../src/index.ts';
import { ProductCreated, ProductPurchased } from './events.ts';

const dir = path.join(process.env['UNILOG_DIR'] ?? '.unilog', 'log');
const log = await openFileEventLog({ dir });
try {
  const merchant = createPublisher({ log, catalog: [ProductCreated], source: 'merchant-service' });
  const shop = createPublisher({ log, catalog: [ProductPurchased], source: 'shop-service' });
  const suffix = Date.now().toString(36);
  await merchant.publishBatch([
    { type: 'product.created', data: { id: `boots-${suffix}`, brand: 'Nordwest', name: 'Trail boots', description: 'Waterproof leather', category: 'shoes', priceCents: 12900, merchantId: 'm-1', merchantName: 'Nordwest Outfitters' } },
    { type: 'product.created', data: { id: `parka-${suffix}`, brand: 'Nordwest', name: 'Parka', description: 'Down filled', category: 'coats', priceCents: 24900, merchantId: 'm-1', merchantName: 'Nordwest Outfitters' } },
  ]);
  await shop.publish('product.purchased', { productId: `boots-${suffix}`, customerId: 'customer-1' });

  const head = Number(await log.head());
  const from = String(Math.max(0, head - 10));
  console.log(`The unified log in ${dir} holds ${head} event(s); the last ${head - Number(from)}:`);
  for (const { position, event } of (await log.read({ from })).events) {
    console.log(`${position.padStart(6)}  ${event.time}  ${event.source.padEnd(16)} ${event.type.padEnd(18)} ${JSON.stringify(event.data)}`);
  }
  console.log('\nTry: npx unilog read --config sample-app/unilog.config.ts | tail -3');
} finally {
  await log.close();
}
