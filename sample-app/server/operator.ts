// The operator's page: the log as it grows (server-sent events), every consumer with its lag and dead letters,
// and rebuilds with progress.
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { streamSSE } from 'hono/streaming';
import type { Consumer, ConsumerStatus, EventLog, RebuildProgress, StoredEvent, Subscription } from '../../src/index.ts';
import { flash, messageOf, takeFlash, type WebDeps } from './context.ts';
import { page, shortTime, type Html } from './layout.ts';

/** How many past events the live stream starts with. */
const tailEvents = 25;

/** A rebuild in progress or finished, as the progress fragment shows it. */
interface RebuildState {
  progress?: RebuildProgress;
  result?: { readonly events: number; readonly seconds: number };
  error?: string;
}

/** What the operator routes hold open: the live streams, stopped when the server closes. */
export interface OperatorRoutes {
  close(): Promise<void>;
}

/** Registers the operator's routes. */
export function operatorRoutes(app: Hono, deps: WebDeps): OperatorRoutes {
  const { consumers, log } = deps;
  const rebuilds = new Map<string, RebuildState>();
  const streams = new Set<Subscription>();
  // Only projections rebuild: a reactor replayed would repeat its side effects (texts sent twice).
  const projections = new Set<Consumer>(Object.values(deps.views));
  const rebuildable = (consumer: Consumer) => projections.has(consumer);

  const consumerTable = async (): Promise<Html> => {
    const statuses = await Promise.all([...consumers.values()].map((consumer) => consumer.status()));
    return html`<div id="consumers" hx-get="/operator/consumers" hx-trigger="every 2s" hx-swap="outerHTML">
<table>
  <caption class="visually-hidden">Consumers of the log</caption>
  <thead><tr><th scope="col">Consumer</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Next position</th><th scope="col">Lag (events)</th><th scope="col">Lag (time)</th><th scope="col">Dead letters</th></tr></thead>
  <tbody>${statuses.map((s) => consumerRow(s))}</tbody>
</table></div>`;
  };

  app.get('/operator/consumers', async (c) => c.html(await consumerTable()));

  app.get('/operator', async (c) => {
    return c.html(
      page({
        title: 'Operator',
        section: 'operator',
        notice: takeFlash(c),
        body: html`<h1>Operator</h1>
<section aria-labelledby="consumers-heading">
  <h2 id="consumers-heading">Consumers</h2>
  ${await consumerTable()}
</section>
<section aria-labelledby="rebuild-heading" class="panel">
  <h2 id="rebuild-heading">Rebuild a view</h2>
  <p class="muted">A rebuild fills a fresh copy of the view from the start of the log while the current copy serves, then switches.</p>
  <ul class="rebuilds">${[...projections].map(
    (consumer) => html`<li><form method="post" action="/operator/consumers/${consumer.name}/rebuild" hx-post="/operator/consumers/${consumer.name}/rebuild" hx-target="#rebuild-${consumer.name}" hx-swap="innerHTML">
      <button type="submit">Rebuild ${consumer.name}</button></form>
      <div id="rebuild-${consumer.name}" class="progress-slot" aria-live="polite">${rebuildFragment(consumer.name, rebuilds.get(consumer.name))}</div></li>`,
  )}</ul>
</section>
<section aria-labelledby="events-heading">
  <h2 id="events-heading">Live event stream</h2>
  <p class="muted">The newest events of the unified log, as they are appended (server-sent events). <span data-sse-state="events">Connecting…</span></p>
  <table class="events">
    <caption class="visually-hidden">Events, newest first</caption>
    <thead><tr><th scope="col">Position</th><th scope="col">Time</th><th scope="col">Source</th><th scope="col">Type</th><th scope="col">Subject</th><th scope="col">Data</th></tr></thead>
    <tbody data-sse-rows="/operator/events/stream" data-sse-max="100" data-sse-status="events"></tbody>
  </table>
</section>`,
      }),
    );
  });

  app.get('/operator/events/stream', (c) =>
    streamSSE(c, async (stream) => {
      const head = await log.head();
      const order = log.capabilities.positions;
      let from = head;
      if (order.count(order.start, head) === undefined) {
        // A log that cannot count back (Kinesis): read it up to the head, keeping the newest events. Fine for a
        // demo's stream; a big one would want a timestamp iterator.
        const newest = await newestEvents(log, head);
        for (const stored of newest) await stream.writeSSE({ event: 'row', id: stored.position, data: await eventRow(stored) });
      } else {
        from = String(Math.max(0, Number(head) - tailEvents));
      }
      const subscription = log.subscribe({
        from,
        handler: async (stored) => {
          await stream.writeSSE({ event: 'row', id: stored.position, data: await eventRow(stored) });
        },
      });
      streams.add(subscription);
      stream.onAbort(() => void subscription.stop());
      await subscription.done.catch(() => undefined);
      streams.delete(subscription);
    }),
  );

  app.post('/operator/consumers/:name/rebuild', async (c) => {
    const name = c.req.param('name');
    const consumer = consumers.get(name);
    if (!consumer || !rebuildable(consumer)) return c.notFound();
    const running = rebuilds.get(name);
    if (running && running.result === undefined && running.error === undefined) return c.html(rebuildFragment(name, running));
    const state: RebuildState = {};
    rebuilds.set(name, state);
    consumer
      .rebuild({ onProgress: (progress) => (state.progress = progress) })
      .then((result) => (state.result = result))
      .catch((error: unknown) => (state.error = messageOf(error)));
    if (c.req.header('hx-request') === 'true') return c.html(rebuildFragment(name, state));
    flash(c, { kind: 'ok', text: `Rebuilding ${name}: its progress shows below.` });
    return c.redirect('/operator', 303);
  });

  app.get('/operator/rebuilds/:name', (c) => c.html(rebuildFragment(c.req.param('name'), rebuilds.get(c.req.param('name')))));

  app.get('/operator/consumers/:name/dead-letters', async (c) => {
    const consumer = consumers.get(c.req.param('name'));
    if (!consumer) return c.notFound();
    const letters = await consumer.deadLetters.list();
    return c.html(
      page({
        title: `Dead letters of ${consumer.name}`,
        section: 'operator',
        notice: takeFlash(c),
        body: html`<nav aria-label="Breadcrumb" class="crumbs"><a href="/operator">Operator</a> › <span aria-current="page">Dead letters of ${consumer.name}</span></nav>
<h1>Dead letters of ${consumer.name}</h1>
${letters.length === 0
  ? html`<p>None: every event was applied.</p>`
  : html`<table><thead><tr><th scope="col">Position</th><th scope="col">Type</th><th scope="col">Subject</th><th scope="col">Error</th><th scope="col">Attempts</th><th scope="col">Mode</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${letters.map(
    (d) => html`<tr><td>${d.position}</td><td>${d.event.type}</td><td>${d.event.subject}</td><td>${d.error.message}</td><td>${d.attempts}</td><td>${d.mode}</td>
    <td><form method="post" action="/operator/consumers/${consumer.name}/dead-letters/${d.position}/retry" class="inline"><button type="submit">Retry</button></form>
    <form method="post" action="/operator/consumers/${consumer.name}/dead-letters/${d.position}/drop" class="inline"><button type="submit">Drop</button></form></td></tr>`,
  )}</tbody></table>`}`,
      }),
    );
  });

  app.post('/operator/consumers/:name/dead-letters/:position/:action{retry|drop}', async (c) => {
    const consumer = consumers.get(c.req.param('name'));
    if (!consumer) return c.notFound();
    const position = c.req.param('position');
    try {
      if (c.req.param('action') === 'retry') {
        const result = await consumer.deadLetters.retry(position);
        flash(c, result.applied ? { kind: 'ok', text: `Applied the event at ${position}, and ${result.released} parked after it.` } : { kind: 'error', text: `The event at ${position} failed again: ${result.error ?? 'unknown error'}` });
      } else {
        const result = await consumer.deadLetters.drop(position);
        flash(c, { kind: 'ok', text: `Dropped the event at ${position}; released ${result.released} parked after it.` });
      }
    } catch (error) {
      flash(c, { kind: 'error', text: messageOf(error) });
    }
    return c.redirect(`/operator/consumers/${consumer.name}/dead-letters`, 303);
  });

  return {
    async close() {
      await Promise.all([...streams].map((s) => s.stop()));
    },
  };
}


function consumerRow(s: ConsumerStatus): Html {
  return html`<tr data-consumer="${s.name}">
  <th scope="row">${s.name}</th><td>${s.kind}</td><td><span class="badge state-${s.state}">${s.state}</span>${s.error === undefined ? '' : html` <span class="error-text">${s.error}</span>`}</td>
  <td>${s.position}</td><td>${s.lagEvents}</td><td>${s.lagMs === 0 ? '–' : `${(s.lagMs / 1000).toFixed(1)} s`}</td>
  <td>${s.deadLetters === 0 ? '0' : html`<a href="/operator/consumers/${s.name}/dead-letters">${s.deadLetters}</a>`}</td>
</tr>`;
}

function rebuildFragment(name: string, state: RebuildState | undefined): Html {
  if (!state) return html``;
  if (state.error !== undefined) return html`<p class="error-text">The rebuild of ${name} failed: ${state.error}</p>`;
  if (state.result) return html`<p data-testid="rebuild-done">Rebuilt ${name} from ${state.result.events} events in ${state.result.seconds.toFixed(2)} s.</p>`;
  const done = state.progress?.done ?? 0;
  // A log that cannot count its events (Kinesis) reports no total: the bar is indeterminate.
  const counted = state.progress?.total ?? 0;
  if (counted === 0) {
    return html`<div hx-get="/operator/rebuilds/${name}" hx-trigger="every 300ms" hx-swap="outerHTML">
  <label for="progress-${name}">Rebuilding ${name}: ${done} events so far</label>
  <progress id="progress-${name}">${done} events</progress>
</div>`;
  }
  const total = Math.max(counted, done);
  return html`<div hx-get="/operator/rebuilds/${name}" hx-trigger="every 300ms" hx-swap="outerHTML">
  <label for="progress-${name}">Rebuilding ${name}: ${done} of ${total} events</label>
  <progress id="progress-${name}" max="${Math.max(total, 1)}" value="${done}">${done} of ${total}</progress>
</div>`;
}

async function eventRow(stored: StoredEvent): Promise<string> {
  const { event } = stored;
  const data = JSON.stringify(event.data);
  return String(
    await html`<tr><td>${stored.position}</td><td><time datetime="${event.time}">${shortTime(event.time).slice(11)}</time></td><td>${event.source}</td><td>${event.type}</td><td>${event.subject}</td><td><code>${data.length > 160 ? `${data.slice(0, 160)}…` : data}</code></td></tr>`,
  );
}

/** The newest `tailEvents` events before `head`, oldest first, read from the start of the log. */
async function newestEvents(log: EventLog, head: string): Promise<StoredEvent[]> {
  const order = log.capabilities.positions;
  let newest: StoredEvent[] = [];
  let at = order.start;
  while (!order.reached(at, head)) {
    const page = await log.read({ from: at, limit: 1000 });
    if (page.events.length === 0) break;
    // Only events before the head: the subscription from the head delivers the rest.
    const before = page.events.filter((stored) => order.reached(head, order.after(order.start, stored.position)));
    newest = [...newest, ...before].slice(-tailEvents);
    at = page.next;
  }
  return newest;
}
