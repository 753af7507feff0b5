// The merchant's pages: create products, and watch each product's photo move through the workflow.
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { ProductCreated } from '../events.ts';
import { field, flash, settle, takeFlash, type WebDeps } from './context.ts';
import { page, photoBadge, price, shortTime, type Html } from './layout.ts';

const defaultMerchant = 'Nordwest Outfitters';

/** Registers the merchant's routes. */
export function merchantRoutes(app: Hono, deps: WebDeps): void {
  const { views, log, publishers } = deps;

  const productTable = async (): Promise<Html> => {
    const products = [...(await views.catalog.view.products.scan())].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    // Polled while any photo is on its way, so the status moves without a reload.
    const moving = products.some((p) => p.photoStatus !== 'done' && p.photoStatus !== 'unavailable');
    return html`<div id="merchant-products"${moving ? html` hx-get="/merchant/products" hx-trigger="every 2s" hx-swap="outerHTML"` : ''}>
<table>
  <caption class="visually-hidden">Products and their photo status</caption>
  <thead><tr><th scope="col">Product</th><th scope="col">Category</th><th scope="col">Price</th><th scope="col">Photo</th><th scope="col">Bought</th><th scope="col">Created</th></tr></thead>
  <tbody>${products.map(
    (p) => html`<tr data-product-id="${p.id}">
    <th scope="row"><a href="/products/${encodeURIComponent(p.id)}">${p.name}</a> <span class="muted">${p.brand}</span></th>
    <td>${p.category}</td><td>${price(p.priceCents)}</td><td>${photoBadge(p.photoStatus)}</td><td>${p.purchases}</td><td><time datetime="${p.createdAt}">${shortTime(p.createdAt)}</time></td>
  </tr>`,
  )}</tbody>
</table></div>`;
  };

  app.get('/merchant/products', async (c) => c.html(await productTable()));

  app.get('/merchant', async (c) => {
    const categories = await views.categories.view.categories.scan();
    return c.html(
      page({
        title: 'Merchant',
        section: 'merchant',
        notice: takeFlash(c),
        body: html`<h1>Merchant</h1>
<section aria-labelledby="create-heading" class="panel">
  <h2 id="create-heading">Create a product</h2>
  <form method="post" action="/merchant/products" class="stack">
    <input type="hidden" name="requestId" value="${crypto.randomUUID().slice(0, 13)}">
    <div class="row">
      <p><label for="merchantName">Merchant</label><input id="merchantName" name="merchantName" required maxlength="100" value="${defaultMerchant}"></p>
      <p><label for="name">Product name</label><input id="name" name="name" required maxlength="200"></p>
      <p><label for="brand">Brand</label><input id="brand" name="brand" required maxlength="100"></p>
    </div>
    <div class="row">
      <p><label for="category">Category</label><input id="category" name="category" required maxlength="100" list="category-list" aria-describedby="category-hint"><span id="category-hint" class="hint">Pick one or type a new one.</span></p>
      <datalist id="category-list">${categories.map((cat) => html`<option value="${cat.category}"></option>`)}</datalist>
      <p><label for="price">Price in dollars</label><input id="price" name="price" required inputmode="decimal" pattern="[0-9]+([.][0-9]{1,2})?" aria-describedby="price-hint"><span id="price-hint" class="hint">Such as 49.90</span></p>
    </div>
    <p><label for="description">Description</label><textarea id="description" name="description" rows="3" maxlength="2000"></textarea></p>
    <p><button type="submit" class="primary">Create product</button></p>
  </form>
</section>
<section aria-labelledby="products-heading">
  <h2 id="products-heading">Products</h2>
  <p class="muted">Each new product starts the photo workflow: a photographer is texted, and the status here follows.</p>
  ${await productTable()}
</section>`,
      }),
    );
  });

  app.post('/merchant/products', async (c) => {
    const form = await c.req.parseBody();
    const merchantName = field(form, 'merchantName') || defaultMerchant;
    const priceText = field(form, 'price');
    const requestId = field(form, 'requestId');
    const data = {
      // The form's request id names the product: a double submit creates it once.
      id: `p-${/^[a-z0-9-]{8,40}$/.test(requestId) ? requestId : crypto.randomUUID().slice(0, 13)}`,
      brand: field(form, 'brand'),
      name: field(form, 'name'),
      description: field(form, 'description'),
      category: field(form, 'category'),
      priceCents: /^[0-9]+([.][0-9]{1,2})?$/.test(priceText) ? Math.round(Number(priceText) * 100) : -1,
      merchantId: `m-${slug(merchantName)}`,
      merchantName,
    };
    const parsed = ProductCreated.schema.safeParse(data);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') === 'priceCents' ? 'price' : issue.path.join('.')}: ${issue.message}`).join('; ');
      flash(c, { kind: 'error', text: `The product was not created. ${problems}` });
      return c.redirect('/merchant', 303);
    }
    if (await views.catalog.view.products.get(data.id)) {
      flash(c, { kind: 'ok', text: `${data.name} was already created.` });
      return c.redirect('/merchant', 303);
    }
    await publishers.merchant.publish('product.created', parsed.data);
    const current = await settle(log, [views.catalog, views.categories]);
    flash(c, { kind: 'ok', text: `Created ${data.name} (${price(data.priceCents)}) in ${data.category}: a photo is being requested.${current ? '' : ' The list is catching up.'}` });
    return c.redirect('/merchant', 303);
  });
}

/** A merchant id from a name: lower-case letters and digits joined by dashes. */
function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'merchant';
}
