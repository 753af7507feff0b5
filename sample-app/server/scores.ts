// The scores page: purchases each merchant's products and each photographer's photos drew.
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { takeFlash, type WebDeps } from './context.ts';
import { page } from './layout.ts';

/** Registers the scores route. */
export function scoresRoutes(app: Hono, deps: WebDeps): void {
  app.get('/scores', async (c) => {
    const byPurchases = <T extends { readonly purchases: number }>(rows: readonly T[]) => [...rows].sort((a, b) => b.purchases - a.purchases);
    const merchants = byPurchases(await deps.views.scores.view.merchants.scan());
    const photographers = byPurchases(await deps.views.scores.view.photographers.scan());
    return c.html(
      page({
        title: 'Scores',
        section: 'scores',
        notice: takeFlash(c),
        body: html`<h1>Scores</h1>
<div class="columns">
<section aria-labelledby="photographers-heading">
  <h2 id="photographers-heading">Photographers</h2>
  <table><thead><tr><th scope="col">Photographer</th><th scope="col">Photos</th><th scope="col">Purchases</th></tr></thead>
  <tbody>${photographers.map((p) => html`<tr data-photographer="${p.photographerId}"><th scope="row"><a href="/photographers/${encodeURIComponent(p.photographerId)}">${p.name}</a></th><td>${p.photos}</td><td>${p.purchases}</td></tr>`)}</tbody></table>
</section>
<section aria-labelledby="merchants-heading">
  <h2 id="merchants-heading">Merchants</h2>
  <table><thead><tr><th scope="col">Merchant</th><th scope="col">Products</th><th scope="col">Purchases</th></tr></thead>
  <tbody>${merchants.map((m) => html`<tr data-merchant="${m.merchantId}"><th scope="row">${m.merchantName}</th><td>${m.products}</td><td>${m.purchases}</td></tr>`)}</tbody></table>
</section>
</div>`,
      }),
    );
  });
}
