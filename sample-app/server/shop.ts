// The customer's pages: categories, products with their photos, the cart and buying.
import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { ProductRow } from '../../projections/index.ts';
import { CartRefusal, cartStream, type CartCommand } from '../cart/cartDecider.ts';
import { customerOf, field, flash, messageOf, settle, takeFlash, type WebDeps } from './context.ts';
import { page, photoBadge, price, productImage, type Html } from './layout.ts';

/** Registers the shop's routes. */
export function shopRoutes(app: Hono, deps: WebDeps): void {
  const { views, log, cart } = deps;

  /**
   * Sends a command to the customer's cart (`cart-<customerId>`): the events it caused, or `undefined` after leaving
   * a notice, when the cart refused it (say, removing a product that is not in it) or the append failed.
   */
  const command = async (c: Context, cartCommand: CartCommand, failed: string) => {
    try {
      return (await cart(cartStream(cartCommand.customerId), cartCommand)).events;
    } catch (error) {
      flash(c, { kind: 'error', text: error instanceof CartRefusal ? error.message : `${failed}: ${messageOf(error)}` });
      return undefined;
    }
  };

  app.get('/', async (c) => {
    customerOf(c);
    const categories = await views.categories.view.categories.scan();
    const products = [...(await views.catalog.view.products.scan())].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, 8);
    return c.html(
      page({
        title: 'Shop',
        section: 'customer',
        notice: takeFlash(c),
        body: html`<h1>Shop</h1>
<section aria-labelledby="categories-heading">
  <h2 id="categories-heading">Categories</h2>
  ${categories.length === 0 ? html`<p>No products yet: a merchant can <a href="/merchant">create one</a>.</p>` : ''}
  <ul class="cards">${categories.map((cat) => html`<li class="card"><a href="/categories/${encodeURIComponent(cat.category)}">${cat.category}</a> <span class="muted">${cat.products} ${cat.products === 1 ? 'product' : 'products'}</span></li>`)}</ul>
</section>
<section aria-labelledby="new-heading">
  <h2 id="new-heading">New arrivals</h2>
  ${productGrid(products)}
</section>
<p><a href="/cart">Your cart</a></p>`,
      }),
    );
  });

  app.get('/categories/:category', async (c) => {
    const category = c.req.param('category');
    const products = await views.catalog.view.products.query('category', category);
    return c.html(
      page({
        title: category,
        section: 'customer',
        notice: takeFlash(c),
        body: html`<nav aria-label="Breadcrumb" class="crumbs"><a href="/">Shop</a> › <span aria-current="page">${category}</span></nav>
<h1>${category}</h1>
${products.length === 0 ? html`<p>No products in this category.</p>` : productGrid(products)}`,
      }),
      products.length === 0 ? 404 : 200,
    );
  });

  app.get('/products/:id', async (c) => {
    customerOf(c);
    const product = await views.catalog.view.products.get(c.req.param('id'));
    if (!product) return c.html(page({ title: 'Not found', section: 'customer', body: html`<h1>No such product</h1><p><a href="/">Back to the shop</a></p>` }), 404);
    const id = encodeURIComponent(product.id);
    return c.html(
      page({
        title: product.name,
        section: 'customer',
        notice: takeFlash(c),
        body: html`<nav aria-label="Breadcrumb" class="crumbs"><a href="/">Shop</a> › <a href="/categories/${encodeURIComponent(product.category)}">${product.category}</a> › <span aria-current="page">${product.name}</span></nav>
<article class="product" aria-labelledby="product-name">
  ${productImage(product, 'main')}
  <div class="details">
    <h1 id="product-name">${product.name}</h1>
    <p class="muted">${product.brand} · sold by ${product.merchantName}</p>
    <p class="price" data-testid="price">${price(product.priceCents)}</p>
    <p>${product.description}</p>
    <p>${product.photoStatus === 'done' ? '' : photoBadge(product.photoStatus)} <span class="muted" data-testid="purchases">${product.purchases} bought</span></p>
    <form method="post" action="/cart/items" class="inline">
      <input type="hidden" name="productId" value="${product.id}">
      <label for="quantity">Quantity</label>
      <input id="quantity" name="quantity" type="number" min="1" max="99" value="1" required>
      <button type="submit">Add to cart</button>
    </form>
    <form method="post" action="/products/${id}/buy" class="inline">
      <button type="submit" class="primary">Buy now</button>
    </form>
  </div>
</article>`,
      }),
    );
  });

  app.post('/products/:id/buy', async (c) => {
    const customerId = customerOf(c);
    const product = await views.catalog.view.products.get(c.req.param('id'));
    const back = `/products/${encodeURIComponent(c.req.param('id'))}`;
    if (!product) return c.notFound();
    if (!(await command(c, { kind: 'buy', customerId, productId: product.id }, 'The purchase failed'))) return c.redirect(back, 303);
    const current = await settle(log, [views.catalog, views.carts, views.scores]);
    flash(c, { kind: 'ok', text: `Thank you: you bought ${product.name} for ${price(product.priceCents)}.${current ? '' : ' (The shop is catching up; counts update in a moment.)'}` });
    return c.redirect(back, 303);
  });

  app.get('/cart', async (c) => {
    const customerId = customerOf(c);
    const cart = await views.carts.view.carts.get(customerId);
    const lines = await Promise.all(Object.entries(cart?.lines ?? {}).map(async ([productId, quantity]) => ({ productId, quantity, product: await views.catalog.view.products.get(productId) })));
    const total = lines.reduce((sum, line) => sum + line.quantity * (line.product?.priceCents ?? 0), 0);
    return c.html(
      page({
        title: 'Your cart',
        section: 'customer',
        notice: takeFlash(c),
        body: html`<h1>Your cart</h1>
${lines.length === 0
  ? html`<p>Your cart is empty. <a href="/">Browse the shop</a>.</p>`
  : html`<table>
  <caption class="visually-hidden">Products in your cart</caption>
  <thead><tr><th scope="col">Product</th><th scope="col">Quantity</th><th scope="col">Price</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${lines.map(
    (line) => html`<tr>
    <th scope="row"><a href="/products/${encodeURIComponent(line.productId)}">${line.product?.name ?? line.productId}</a></th>
    <td>${line.quantity}</td><td>${price(line.quantity * (line.product?.priceCents ?? 0))}</td>
    <td><form method="post" action="/cart/items/${encodeURIComponent(line.productId)}/remove"><button type="submit" aria-label="Remove ${line.product?.name ?? line.productId}">Remove</button></form></td>
  </tr>`,
  )}</tbody>
  <tfoot><tr><th scope="row">Total</th><td></td><td>${price(total)}</td><td></td></tr></tfoot>
</table>
<form method="post" action="/cart/checkout"><button type="submit" class="primary">Buy everything</button></form>`}`,
      }),
    );
  });

  app.post('/cart/items', async (c) => {
    const customerId = customerOf(c);
    const form = await c.req.parseBody();
    const productId = field(form, 'productId');
    const quantity = Number(field(form, 'quantity') || '1');
    const product = await views.catalog.view.products.get(productId);
    if (!product || !Number.isInteger(quantity) || quantity < 1 || quantity > 99) {
      flash(c, { kind: 'error', text: 'Choose a product and a quantity from 1 to 99.' });
      return c.redirect(product ? `/products/${encodeURIComponent(productId)}` : '/', 303);
    }
    if (!(await command(c, { kind: 'add', customerId, productId, quantity }, 'Adding to your cart failed'))) return c.redirect(`/products/${encodeURIComponent(productId)}`, 303);
    await settle(log, [views.carts]);
    flash(c, { kind: 'ok', text: `Added ${quantity} × ${product.name} to your cart.` });
    return c.redirect('/cart', 303);
  });

  app.post('/cart/items/:productId/remove', async (c) => {
    const customerId = customerOf(c);
    const productId = c.req.param('productId');
    if (!(await command(c, { kind: 'remove', customerId, productId }, 'Removing from your cart failed'))) return c.redirect('/cart', 303);
    await settle(log, [views.carts]);
    flash(c, { kind: 'ok', text: 'Removed from your cart.' });
    return c.redirect('/cart', 303);
  });

  app.post('/cart/checkout', async (c) => {
    const customerId = customerOf(c);
    // Decided on the cart's stream, not its view; one append: the purchases of a checkout are appended together or not at all.
    const items = await command(c, { kind: 'checkout', customerId }, 'The purchase failed');
    if (!items) return c.redirect('/cart', 303);
    await settle(log, [views.carts, views.catalog, views.scores]);
    flash(c, { kind: 'ok', text: `Thank you: you bought ${items.length} ${items.length === 1 ? 'item' : 'items'}.` });
    return c.redirect('/cart', 303);
  });
}

/** Products as a grid of cards with thumbnail, name and price. */
function productGrid(products: readonly ProductRow[]): Html {
  if (products.length === 0) return html`<p>No products yet.</p>`;
  return html`<ul class="grid">${products.map(
    (p) => html`<li class="tile"><a href="/products/${encodeURIComponent(p.id)}">${productImage(p, 'thumbnail')}<span class="name">${p.name}</span></a><span class="price">${price(p.priceCents)}</span></li>`,
  )}</ul>`;
}
