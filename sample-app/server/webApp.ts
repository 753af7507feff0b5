// The web UI as one Hono app: pages for the four roles, their static assets and the simulated phones' media.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Hono } from 'hono';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { html } from 'hono/html';
import { secureHeaders } from 'hono/secure-headers';
import type { WebDeps } from './context.ts';
import { page } from './layout.ts';
import { merchantRoutes } from './merchant.ts';
import { operatorRoutes } from './operator.ts';
import { photographerRoutes } from './photographer.ts';
import { scoresRoutes } from './scores.ts';
import { shopRoutes } from './shop.ts';

/** The web UI and what it holds open (live event streams). */
export interface WebApp {
  readonly app: Hono;
  close(): Promise<void>;
}

const webFolder = path.resolve(import.meta.dirname, '../web');

/** Static files, read once: a handful of small files, no build step. */
function loadAssets(): Map<string, { readonly body: string; readonly type: string }> {
  const htmx = createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js');
  return new Map([
    ['htmx.min.js', { body: readFileSync(htmx, 'utf8'), type: 'text/javascript; charset=utf-8' }],
    ['app.js', { body: readFileSync(path.join(webFolder, 'app.js'), 'utf8'), type: 'text/javascript; charset=utf-8' }],
    ['app.css', { body: readFileSync(path.join(webFolder, 'app.css'), 'utf8'), type: 'text/css; charset=utf-8' }],
  ]);
}

/**
 * Builds the web UI over the demo's views, publishers and simulated phones.
 * @example
 * const web = createWebApp({ log, views, consumers, publishers, sms, phone });
 * root.route('/', web.app);
 */
export function createWebApp(deps: WebDeps): WebApp {
  const assets = loadAssets();
  const app = new Hono();
  app.use(
    '*',
    secureHeaders({
      // The demo is plain HTTP on a local port: no HSTS.
      strictTransportSecurity: false,
      // Scripts and styles come from this origin only; htmx's inline indicator style is switched off in the page head.
      contentSecurityPolicy: { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'], scriptSrc: ["'self'"], styleSrc: ["'self'"], connectSrc: ["'self'"], formAction: ["'self'"], frameAncestors: ["'none'"], baseUri: ["'none'"] },
    }),
  );
  // Form posts must come from these pages (Origin or Sec-Fetch-Site): another site cannot buy in the demo's name.
  app.use('*', csrf());

  app.get('/assets/:file', (c) => {
    const asset = assets.get(c.req.param('file'));
    if (!asset) return c.notFound();
    return c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'public, max-age=300' });
  });

  // The simulated phones' media, which the photo intake downloads like Twilio's media URLs.
  app.get('/sim/media/:id', (c) => {
    const media = deps.phone.media(c.req.param('id'));
    if (!media) return c.text('No such media.', 404);
    return c.body(media.body as Uint8Array<ArrayBuffer>, 200, { 'content-type': media.contentType, 'content-length': String(media.body.byteLength), 'x-content-type-options': 'nosniff' });
  });

  shopRoutes(app, deps);
  merchantRoutes(app, deps);
  photographerRoutes(app, deps);
  scoresRoutes(app, deps);
  const operator = operatorRoutes(app, deps);

  app.notFound((c) => c.html(page({ title: 'Not found', section: 'customer', body: html`<h1>Page not found</h1><p><a href="/">Back to the shop</a></p>` }), 404));
  app.onError((error, c) => {
    // Refusals the middleware throws (a cross-site form post, a too-large body) keep their status.
    if (error instanceof HTTPException) return error.getResponse();
    console.error(error);
    return c.html(page({ title: 'Error', section: 'customer', notice: { kind: 'error', text: `Something went wrong: ${error.message}` }, body: html`<h1>Something went wrong</h1><p><a href="/">Back to the shop</a></p>` }), 500);
  });
  return { app, close: () => operator.close() };
}
