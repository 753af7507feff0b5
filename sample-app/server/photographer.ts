// The photographer's pages: register a phone, read the simulated phone's inbox, send the photo of the open
// assignment (as an MMS through the Twilio webhook) and see the score.
import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { html } from 'hono/html';
import { byRegistration } from '../../projections/photographers.ts';
import { phoneSchema } from '../events.ts';
import { field, flash, messageOf, settle, takeFlash, type WebDeps } from './context.ts';
import { page, shortTime, type Html } from './layout.ts';

/** The largest photo the upload form takes (the intake's own limit is 10 MiB too). */
const maxPhotoBytes = 10 * 1024 * 1024;

/** A photographer's id from the phone: registering the same phone again updates that photographer. */
export function photographerIdOf(phone: string): string {
  return `ph-${phone.replace(/\D/g, '')}`;
}

/** Registers the photographer's routes. */
export function photographerRoutes(app: Hono, deps: WebDeps): void {
  const { views, log, publishers, sms, phone } = deps;

  app.get('/photographers', async (c) => {
    const photographers = [...(await views.photographers.view.photographers.scan())].sort(byRegistration);
    return c.html(
      page({
        title: 'Photographers',
        section: 'photographer',
        notice: takeFlash(c),
        body: html`<h1>Photographers</h1>
<section aria-labelledby="register-heading" class="panel">
  <h2 id="register-heading">Register</h2>
  <p class="muted">Photo requests are texted to this phone; here the phone is simulated, and its inbox is on your page.</p>
  <form method="post" action="/photographers" class="row">
    <p><label for="pname">Name</label><input id="pname" name="name" required maxlength="100" autocomplete="name"></p>
    <p><label for="phone">Phone</label><input id="phone" name="phone" required type="tel" autocomplete="tel" placeholder="+14155550123" pattern="[+][1-9][0-9]{6,14}" aria-describedby="phone-hint"><span id="phone-hint" class="hint">International form: + and country code, digits only</span></p>
    <p class="end"><button type="submit" class="primary">Register</button></p>
  </form>
</section>
<section aria-labelledby="list-heading">
  <h2 id="list-heading">Registered photographers</h2>
  ${photographers.length === 0
    ? html`<p>None yet.</p>`
    : html`<ul class="cards">${photographers.map((p) => html`<li class="card"><a href="/photographers/${encodeURIComponent(p.photographerId)}">${p.name}</a> <span class="muted">${p.phone} · ${p.openAssignments} open · ${p.completed} done</span></li>`)}</ul>`}
</section>`,
      }),
    );
  });

  app.post('/photographers', async (c) => {
    const form = await c.req.parseBody();
    const name = field(form, 'name');
    const phoneNumber = field(form, 'phone').replace(/[\s().-]/g, '');
    const parsed = phoneSchema.safeParse(phoneNumber);
    if (name.length === 0 || name.length > 100 || !parsed.success) {
      flash(c, { kind: 'error', text: `Not registered: ${name.length === 0 ? 'enter your name' : 'enter the phone in international form, such as +14155550123'}.` });
      return c.redirect('/photographers', 303);
    }
    const photographerId = photographerIdOf(parsed.data);
    await publishers.photographer.publish('photographer.registered', { photographerId, name, phone: parsed.data });
    await settle(log, [views.photographers, views.scores]);
    flash(c, { kind: 'ok', text: `Welcome, ${name}: photo requests will arrive in your inbox below.` });
    return c.redirect(`/photographers/${encodeURIComponent(photographerId)}`, 303);
  });

  const inbox = (phoneNumber: string, photographerId: string): Html => {
    const messages = [...sms.inbox(phoneNumber)].reverse();
    return html`<div id="inbox" hx-get="/photographers/${encodeURIComponent(photographerId)}/inbox" hx-trigger="every 2s" hx-swap="outerHTML">
  ${messages.length === 0
    ? html`<p class="muted">No messages yet.</p>`
    : html`<ol class="messages" aria-label="Messages, newest first">${messages.map((m) => html`<li class="message" data-testid="sms"><time datetime="${m.at}">${shortTime(m.at)}</time><pre>${m.body}</pre></li>`)}</ol>`}
</div>`;
  };

  const openAssignments = async (photographerId: string) =>
    [...(await views.assignments.view.assignments.query('photographerId', photographerId))].filter((a) => a.status === 'assigned').sort((a, b) => a.updatedAt.localeCompare(b.updatedAt));

  const assignment = async (photographerId: string): Promise<Html> => {
    const open = await openAssignments(photographerId);
    return html`<div id="assignment" hx-get="/photographers/${encodeURIComponent(photographerId)}/assignment" hx-trigger="every 2s" hx-swap="outerHTML">
  ${open.length === 0
    ? html`<p>No open assignment. New products are assigned to the photographer with the fewest open ones.</p>`
    : html`<ul>${open.map((a) => html`<li data-testid="assignment"><a href="/products/${encodeURIComponent(a.productId)}">${a.productName}</a>, due <time datetime="${a.deadline ?? ''}">${shortTime(a.deadline ?? '')}</time></li>`)}</ul>
      ${open.length > 1 ? html`<p class="hint">A photo goes to the oldest open assignment first.</p>` : ''}`}
</div>`;
  };

  app.get('/photographers/:id/inbox', async (c) => {
    const photographer = await views.photographers.view.photographers.get(c.req.param('id'));
    if (!photographer) return c.notFound();
    return c.html(inbox(photographer.phone, photographer.photographerId));
  });

  app.get('/photographers/:id/assignment', async (c) => c.html(await assignment(c.req.param('id'))));

  app.get('/photographers/:id', async (c) => {
    const photographer = await views.photographers.view.photographers.get(c.req.param('id'));
    if (!photographer) return c.html(page({ title: 'Not found', section: 'photographer', body: html`<h1>No such photographer</h1><p><a href="/photographers">Register</a></p>` }), 404);
    const score = await views.scores.view.photographers.get(photographer.photographerId);
    const id = encodeURIComponent(photographer.photographerId);
    return c.html(
      page({
        title: photographer.name,
        section: 'photographer',
        notice: takeFlash(c),
        body: html`<h1>${photographer.name}</h1>
<p class="muted">Phone ${photographer.phone} · ${photographer.openAssignments} open · ${photographer.completed} completed · score: <span data-testid="photographer-score">${score?.photos ?? 0} photos, ${score?.purchases ?? 0} purchases</span></p>
<div class="columns">
  <section aria-labelledby="assignment-heading" class="panel">
    <h2 id="assignment-heading">Open assignment</h2>
    ${await assignment(photographer.photographerId)}
    <h3>Send the photo</h3>
    <form method="post" action="/photographers/${id}/photos" enctype="multipart/form-data" class="stack">
      <p><label for="photo">Photo (JPEG, PNG or WebP, up to 10 MB)</label><input id="photo" name="photo" type="file" accept="image/*" required></p>
      <p><button type="submit" class="primary">Send as MMS</button></p>
    </form>
    <p class="hint">Sent like a real MMS: stored at a media URL, then posted to the Twilio webhook with a signature.</p>
  </section>
  <section aria-labelledby="inbox-heading" class="panel">
    <h2 id="inbox-heading">Inbox (simulated phone)</h2>
    ${inbox(photographer.phone, photographer.photographerId)}
  </section>
</div>`,
      }),
    );
  });

  app.post(
    '/photographers/:id/photos',
    bodyLimit({ maxSize: maxPhotoBytes + 64 * 1024, onError: (c) => c.text('The photo is larger than 10 MB.', 413) }),
    async (c) => {
      const photographer = await views.photographers.view.photographers.get(c.req.param('id'));
      if (!photographer) return c.notFound();
      const back = `/photographers/${encodeURIComponent(photographer.photographerId)}`;
      const form = await c.req.parseBody();
      const file = form['photo'];
      if (!(file instanceof File) || file.size === 0) {
        flash(c, { kind: 'error', text: 'Choose a photo to send.' });
        return c.redirect(back, 303);
      }
      try {
        const open = await openAssignments(photographer.photographerId);
        const result = await phone.sendPhoto({ from: photographer.phone, image: new Uint8Array(await file.arrayBuffer()), contentType: file.type || 'application/octet-stream' });
        await settle(log, [views.catalog, views.assignments, views.photographers, views.scores]);
        // Success is what the views say, not the wording of the reply: the photo is attached to the product.
        const products = await Promise.all(open.map((a) => views.catalog.view.products.get(a.productId)));
        const product = products.find((p) => p?.photoStatus === 'done' && p.photographerId === photographer.photographerId);
        const reply = result.status === 200 ? `The reply text: "${result.reply ?? '(none)'}"` : `The webhook answered HTTP ${result.status}.`;
        flash(c, product ? { kind: 'ok', text: `Your photo of ${product.name} is on its product page. ${reply}` } : { kind: 'error', text: `The photo was not attached. ${reply}` });
      } catch (error) {
        flash(c, { kind: 'error', text: `The photo was not sent: ${messageOf(error)}` });
      }
      return c.redirect(back, 303);
    },
  );
}
