// The Hello Retail demo in one process: the log, the six projections' views, the photo workflow, the photo intake
// (Twilio webhook), simulated phones, the event-log API and the web UI, on one HTTP server. The backend (embedded in a
// data folder, or AWS) is chosen at start; nothing else in the demo differs.
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import pino, { type Logger } from 'pino';
import type { AwsClients } from '../../src/aws/index.ts';
import { createCatalog, createCommandHandler, createConsumer, createPublisher, type Consumer, type EventStore } from '../../src/index.ts';
import { assignmentsProjection, cartsProjection, catalogProjection, categoriesProjection, photographersProjection, scoresProjection } from '../../projections/index.ts';
import { cartDecider, type CartEvent } from '../cart/cartDecider.ts';
import { helloRetailEvents } from '../events.ts';
import { createPhotoIntake, createSharpImageProcessor, webhookPath } from '../photos/index.ts';
import { seedDemo, type SeedResult } from '../seed.ts';
import { createSimulatorSmsGateway } from '../sms/simulator/index.ts';
import { createPhotoWorkflow } from '../workflow/photoWorkflow.ts';
import { closerList, openEmbeddedBackend, type DemoBackend } from './backend.ts';
import { settle, type HelloRetailViews } from './context.ts';
import { createPhoneSimulator } from './phoneSimulator.ts';
import { createWebApp } from './webApp.ts';

export { demoKeyFile } from './backend.ts';

/** Options of {@link startHelloRetailDemo}. */
export interface HelloRetailDemoOptions {
  /** The data folder: log, views, stores, timers, blobs, keys (on AWS only the operator's API key). */
  readonly dir: string;
  /**
   * Where the events, views, streams, timers and photos live. `aws` uses the AWS SDK's settings from the environment
   * (the `export` lines of `npm run local:aws` for the local stack); the stream and tables must exist.
   * @default { kind: 'embedded' }
   */
  readonly backend?: { readonly kind: 'embedded' } | { readonly kind: 'aws'; readonly prefix?: string; readonly streamName?: string; readonly clients?: AwsClients };
  /** @default 3000; 0 picks a free port */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** The demo's Twilio number, the `To` of the photographers' messages. @default "+15005550006" */
  readonly twilioNumber?: string;
  /** How long a photographer has to send a photo. @default the workflow's (10 minutes) */
  readonly deadlineMs?: number;
  /** JSON-lines logger for the API and the intake. @default pino at level warn, to stderr */
  readonly logger?: Logger;
}

/** A running demo. */
export interface HelloRetailDemo {
  /** The base URL, such as `http://127.0.0.1:3000`. */
  readonly url: string;
  readonly port: number;
  /** The API key of the event-log API under `/api` (read and admin scopes), kept in the data folder. */
  readonly apiKey: string;
  /** What this start seeded (nothing after the first start). */
  readonly seeded: SeedResult;
  /** Where the data lives, for the start banner. */
  readonly backend: string;
  /** Stops the server, the workflow and the consumers, and closes every store and the log. */
  close(): Promise<void>;
}

/**
 * Starts the Hello Retail demo on a data folder: seeds it on the first start, then serves the web UI, the photo
 * webhook and the event-log API on one port.
 * @example
 * const demo = await startHelloRetailDemo({ dir: '.unilog-demo', port: 3000 });
 * console.log(demo.url);
 * await demo.close();
 */
export async function startHelloRetailDemo(options: HelloRetailDemoOptions): Promise<HelloRetailDemo> {
  const dir = path.resolve(options.dir);
  const logger = options.logger ?? pino({ name: 'hello-retail', level: 'warn' }, pino.destination(2));
  const host = options.host ?? '127.0.0.1';
  const closers = closerList(logger);
  try {
    const backend: DemoBackend =
      options.backend?.kind === 'aws'
        ? await (await import('./awsBackend.ts')).openAwsBackend({ dir, ...options.backend }, logger)
        : await openEmbeddedBackend(dir, logger);
    closers.push(() => backend.close());
    const { log, storage, timers, blobs } = backend;
    const catalog = createCatalog(helloRetailEvents);
    const consumerOptions = { log, storage, catalog };
    const views: HelloRetailViews = {
      categories: createConsumer(categoriesProjection, consumerOptions),
      catalog: createConsumer(catalogProjection, consumerOptions),
      photographers: createConsumer(photographersProjection, consumerOptions),
      assignments: createConsumer(assignmentsProjection, consumerOptions),
      carts: createConsumer(cartsProjection, consumerOptions),
      scores: createConsumer(scoresProjection, consumerOptions),
    };

    // Three stores on the one log, each with its producer identity; their streams are disjoint.
    const workflowStore = await backend.openStore('workflow', 'photo-workflow');
    const intakeStore = await backend.openStore('intake', 'photo-intake');
    const shopStore = await backend.openStore('shop', 'shop-web');
    const sms = createSimulatorSmsGateway();
    closers.push(() => sms.close());
    const workflow = createPhotoWorkflow({ log, store: workflowStore, storage, timers, sms, ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }) });

    const consumers = new Map<string, Consumer>(Object.values(views).map((consumer: Consumer) => [consumer.name, consumer]));
    consumers.set(workflow.consumer.name, workflow.consumer);
    for (const consumer of Object.values(views) as Consumer[]) {
      await consumer.start();
      closers.push(() => consumer.stop());
    }
    await workflow.start();
    closers.push(() => workflow.stop());

    // Caught up first, so that the seed reads what earlier starts wrote and publishes nothing twice.
    await settle(log, Object.values(views));
    const seedPublisher = createPublisher({ log, catalog, source: 'demo-seed' });
    const seeded = await seedDemo({ publisher: seedPublisher, catalog: views.catalog, photographers: views.photographers });

    const { service, apiKey } = await backend.openService(consumers, logger);

    // The server listens before the apps exist: the webhook's signed URL and the media URLs need the real port.
    const ready: { fetch?: (request: Request) => Response | Promise<Response> } = {};
    const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: (request) => ready.fetch?.(request) ?? new Response('Starting…', { status: 503, headers: { 'retry-after': '1' } }), port: options.port ?? 3000, hostname: host }, () => {
        resolve(s);
      });
      s.once('error', reject);
    });
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    );
    const port = (server.address() as AddressInfo).port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    // The demo calls itself (the simulated Twilio, the media download) on the loopback address, whatever it binds.
    const self = host === '0.0.0.0' || host === '::' ? `http://127.0.0.1:${port}` : url;

    const authToken = process.env['TWILIO_AUTH_TOKEN'] ?? crypto.randomUUID().replaceAll('-', '');
    const phone = createPhoneSimulator({
      authToken,
      twilioNumber: options.twilioNumber ?? '+15005550006',
      webhookUrl: () => `${self}${webhookPath}`,
      mediaBaseUrl: () => `${self}/sim/media`,
      sms,
    });
    const intake = createPhotoIntake({
      store: intakeStore,
      blobs,
      processor: createSharpImageProcessor(),
      authToken,
      publicUrl: self,
      openAssignmentOf: (number) => workflow.openAssignmentOf(number),
      logger,
    });
    const web = createWebApp({
      log,
      views,
      consumers,
      publishers: {
        merchant: createPublisher({ log, catalog, source: 'merchant-web' }),
        shop: createPublisher({ log, catalog, source: 'shop-web' }),
        photographer: createPublisher({ log, catalog, source: 'photographer-web' }),
      },
      cart: createCommandHandler(shopStore as unknown as EventStore<CartEvent>, cartDecider),
      sms,
      phone,
    });
    // Closed before the server: live event streams end, so that the server's connections can close.
    closers.push(() => web.close());

    const root = new Hono();
    root.route('/api', service.app);
    root.route('/', intake);
    root.route('/', web.app);
    ready.fetch = (request) => root.fetch(request);

    let closing: Promise<void> | undefined;
    return { url, port, apiKey, seeded, backend: backend.describe, close: () => (closing ??= closers.closeAll()) };
  } catch (error) {
    await closers.closeAll();
    throw error;
  }
}
