import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/** A fragment of server-rendered HTML (interpolations are escaped by `html`). */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** The four roles of the demo, in the order the navigation shows them. */
export const roles = [
  { path: '/', label: 'Shop', role: 'customer' },
  { path: '/merchant', label: 'Merchant', role: 'merchant' },
  { path: '/photographers', label: 'Photographer', role: 'photographer' },
  { path: '/operator', label: 'Operator', role: 'operator' },
  { path: '/scores', label: 'Scores', role: 'scores' },
] as const;

/** What a page says it is. */
export interface PageOptions {
  readonly title: string;
  /** The navigation entry to mark as current. */
  readonly section: (typeof roles)[number]['role'];
  /** A result to announce at the top of the page (the outcome of the action that led here). */
  readonly notice?: { readonly kind: 'ok' | 'error'; readonly text: string } | undefined;
  /** Scripts beyond htmx and app.js are never needed: pages opt into behaviour with data attributes. */
  readonly body: Html;
}

/** The page shell: skip link, header with the role navigation, one main landmark, an announced notice. */
export function page(options: PageOptions): Html {
  const notice = options.notice;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false}'>
<title>${options.title} · Hello Retail</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/htmx.min.js" defer></script>
<script src="/assets/app.js" defer></script>
</head>
<body hx-boost="true">
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/">Hello Retail</a>
  <nav aria-label="Roles">
    <ul>${roles.map((r) => html`<li><a href="${r.path}"${r.role === options.section ? raw(' aria-current="page"') : ''}>${r.label}</a></li>`)}</ul>
  </nav>
</header>
<main id="main" tabindex="-1">
  <div id="notice" role="status" aria-live="polite">${notice ? html`<p class="notice ${notice.kind}">${notice.text}</p>` : ''}</div>
  ${options.body}
</main>
<footer class="foot"><p>A demo of unilog: every action above is an event in one append-only log; the operator page shows them as they arrive.</p></footer>
</body>
</html>`;
}

/** A price in cents as dollars. */
export function price(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}

const statusText: Record<string, string> = {
  waiting: 'Waiting for the workflow',
  requested: 'Photo requested',
  assigned: 'Assigned to a photographer',
  received: 'Photo received, processing',
  done: 'Photo done',
  unavailable: 'No photo available',
};

/** A product's photo status as a badge with words (never colour alone). */
export function photoBadge(status: string): Html {
  return html`<span class="badge status-${status}">${statusText[status] ?? status}</span>`;
}

/** The URL of an image the catalog names: a path or URL as the photo intake stored it. */
export function imageUrl(image: string): string {
  return /^(https?:)?\//.test(image) ? image : `/images/${image.split('/').map(encodeURIComponent).join('/')}`;
}

/** A product image, or a neutral placeholder that says why there is none. */
export function productImage(product: { readonly name: string; readonly image: string | null; readonly thumbnail: string | null; readonly photoStatus: string }, size: 'main' | 'thumbnail'): Html {
  const source = size === 'main' ? product.image : (product.thumbnail ?? product.image);
  // A thumbnail sits in a link named by the product, so it is decorative there.
  if (source !== null) return size === 'main' ? html`<img class="photo main" src="${imageUrl(source)}" alt="Photo of ${product.name}">` : html`<img class="photo thumbnail" src="${imageUrl(source)}" alt="" loading="lazy">`;
  const text = product.photoStatus === 'unavailable' ? 'No photo' : 'Photo coming soon';
  return size === 'main' ? html`<div class="photo placeholder main" role="img" aria-label="No photo of ${product.name} yet">${text}</div>` : html`<div class="photo placeholder thumbnail" aria-hidden="true">${text}</div>`;
}

/** A time as a short, readable UTC string. */
export function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
