// The Hello Retail day in a real browser (Debian's Chromium, driven by playwright-core), for any backend: a merchant
// creates a product, the photographer's simulated phone gets the request, the photo goes through the Twilio webhook,
// the customer sees the processed image and buys, and the scores and the operator page follow.
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HelloRetailDemo } from '../../sample-app/server/demo.ts';

const chromiumPath = '/usr/bin/chromium';
/** The docs' screenshot: rewritten only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves the tree as it was. */
const docsScreenshot = path.resolve(import.meta.dirname, '../../docs/images/hello-retail-product.png');
const photographer = { name: 'Tess Tripod', phone: '+14155550199', id: 'ph-14155550199' };
const product = { name: 'Rain jacket', brand: 'Drizzle', category: 'Outerwear', price: '89.50', description: 'A light, packable rain jacket.' };

/** A small photo to send: a jacket-coloured gradient with a label, as a JPEG. */
async function testPhoto(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#f2c14e"/><stop offset="1" stop-color="#d35f2c"/></linearGradient></defs>
    <rect width="800" height="600" fill="#e9eef2"/>
    <path d="M300 120 L400 90 L500 120 L600 220 L560 260 L520 230 L520 520 L280 520 L280 230 L240 260 L200 220 Z" fill="url(#g)" stroke="#7a3415" stroke-width="6"/>
    <line x1="400" y1="110" x2="400" y2="520" stroke="#7a3415" stroke-width="4"/>
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 80 }).toBuffer();
}

/** Whether this machine has the browser. */
export const hasChromium = existsSync(chromiumPath);

/** A demo to drive: its URL and how to stop it and remove what it made. */
export interface StartedDemo {
  readonly demo: HelloRetailDemo;
  readonly cleanup: () => Promise<void>;
}

/**
 * The Hello Retail day in Chromium against a demo `start` returns: the same steps on every backend.
 * @param screenshot writes the docs' screenshot when UPDATE_SCREENSHOTS=1
 */
export function describeHelloRetailInBrowser(title: string, start: () => Promise<StartedDemo>, options: { readonly skip?: boolean; readonly screenshot?: boolean } = {}): void {
  describe.skipIf(!hasChromium || options.skip === true)(title, () => {
    let demo: HelloRetailDemo | undefined;
    let browser: Browser | undefined;
    let page: Page;
    let cleanup: (() => Promise<void>) | undefined;
    let url = '';

    beforeAll(async () => {
      const started = await start();
      demo = started.demo;
      cleanup = started.cleanup;
      url = demo.url;
      browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking'] });
      page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
      page.setDefaultTimeout(15_000);
    }, 180_000);
    afterAll(async () => {
      await browser?.close();
      await demo?.close();
      await cleanup?.();
    }, 60_000);

    const notice = () => page.locator('#notice .notice');

    it('registers a photographer, who has no assignment yet', async () => {
      await page.goto(`${url}/photographers`);
      await page.getByLabel('Name').fill(photographer.name);
      await page.getByLabel('Phone').fill(photographer.phone);
      await page.getByRole('button', { name: 'Register' }).click();
      await expect.poll(() => notice().textContent()).toContain(`Welcome, ${photographer.name}`);
      expect(page.url()).toBe(`${url}/photographers/${photographer.id}`);
      expect(await page.locator('#assignment').textContent()).toContain('No open assignment');
    });

    it('lets a merchant create a product, which the list shows with its photo status', async () => {
      await page.getByRole('link', { name: 'Merchant' }).click();
      await page.getByLabel('Product name').fill(product.name);
      await page.getByLabel('Brand').fill(product.brand);
      await page.getByLabel('Category').fill(product.category);
      await page.getByLabel('Price in dollars').fill(product.price);
      await page.getByLabel('Description').fill(product.description);
      await page.getByRole('button', { name: 'Create product' }).click();
      await expect.poll(() => notice().textContent()).toContain(`Created ${product.name} ($89.50) in ${product.category}`);
      // Read-your-writes: the product is in the list on the page the redirect shows.
      await expect.poll(() => page.locator('#merchant-products').textContent()).toContain(product.name);
    });

    it("texts the request to the photographer's simulated phone", async () => {
      await page.goto(`${url}/photographers/${photographer.id}`);
      // The least-loaded photographer gets it: the seed photographers each hold seed products already.
      await expect.poll(() => page.locator('#inbox').textContent(), { timeout: 10_000 }).toContain(product.name);
      await expect.poll(() => page.locator('[data-testid="assignment"]').first().textContent(), { timeout: 10_000 }).toContain(product.name);
    });

    it('takes the photo through the Twilio webhook and attaches it to the product', async () => {
      await page.getByLabel(/^Photo/).setInputFiles({ name: 'jacket.jpg', mimeType: 'image/jpeg', buffer: await testPhoto() });
      await page.getByRole('button', { name: 'Send as MMS' }).click();
      await expect.poll(() => notice().textContent(), { timeout: 20_000 }).toContain(`Your photo of ${product.name} is on its product page`);
      await expect.poll(() => page.locator('#inbox').textContent()).toContain('Thanks so much!');
    });

    it('shows the customer the processed image, and buys', async () => {
      await page.getByRole('link', { name: 'Shop' }).click();
      await page.getByRole('link', { name: product.category }).click();
      await page.getByRole('link', { name: product.name }).click();
      const image = page.getByRole('img', { name: `Photo of ${product.name}` });
      // Decoded by the browser: the served bytes are an image (a string expression, as the tests compile without the DOM library).
      await expect.poll(() => page.evaluate<number>('(() => { const img = document.querySelector("img.photo.main"); return img && img.complete ? img.naturalWidth : 0; })()')).toBeGreaterThan(0);
      // Processed: re-encoded by the intake (served from the blob store), not the upload itself.
      expect(await image.getAttribute('src')).toMatch(/^\/images\/products\/p-[^/]+\/MM[0-9a-f]{32}\/main\.jpg$/);
      expect(await page.getByTestId('price').textContent()).toBe('$89.50');
      const shot = await page.screenshot({ clip: { x: 0, y: 0, width: 1100, height: 500 } });
      expect(shot.length).toBeGreaterThan(1000);
      if (options.screenshot === true && process.env['UPDATE_SCREENSHOTS'] === '1') await writeFile(docsScreenshot, shot);

      await page.getByRole('button', { name: 'Buy now' }).click();
      await expect.poll(() => notice().textContent()).toContain(`you bought ${product.name}`);
      expect(await page.getByTestId('purchases').textContent()).toBe('1 bought');
    });

    it('updates the scores', async () => {
      await page.getByRole('link', { name: 'Scores' }).click();
      const row = page.locator(`tr[data-photographer="${photographer.id}"] td`);
      expect(await row.allTextContents()).toEqual(['1', '1']);
    });

    it('shows the operator the live log, the consumers, and a rebuild with its result', async () => {
      await page.getByRole('link', { name: 'Operator' }).click();
      // The live stream starts with the newest events: the purchase is among them.
      await expect.poll(() => page.locator('tbody[data-sse-rows]').textContent()).toContain('product.purchased');
      const consumers = await page.locator('#consumers tbody th').allTextContents();
      expect(consumers).toEqual(['categories', 'catalog', 'photographers', 'assignments', 'carts', 'scores', 'photo-workflow']);
      await page.getByRole('button', { name: 'Rebuild catalog' }).click();
      await expect.poll(() => page.locator('#rebuild-catalog').textContent()).toMatch(/Rebuilt catalog from \d+ events/);

      // A new event arrives on the open page without a reload.
      await page.evaluate(() => void fetch('/cart/items', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'productId=seed-wool-beanie&quantity=2' }));
      await expect.poll(() => page.locator('tbody[data-sse-rows] tr').first().textContent()).toContain('cart.item-added');
    });
  });
}
