/**
 * The inbound photo path of Hello Retail: a Twilio-compatible MMS webhook and the route that serves stored images.
 *
 * Usage (the server mounts the sub-app at its root, so that the paths below are the public ones):
 * ```ts
 * import { createPhotoIntake, createSharpImageProcessor } from './photos/index.ts';
 * import { openLocalBlobStore } from '../src/index.ts';
 *
 * const intake = createPhotoIntake({
 *   store,                        // EventStore over a catalog holding photo.received and product.image-added
 *   blobs: await openLocalBlobStore({ dir: '.unilog/blobs' }),
 *   processor: createSharpImageProcessor(),
 *   authToken: process.env.TWILIO_AUTH_TOKEN,   // the simulator signs with the same token
 *   publicUrl: 'https://abc.ngrok.app',         // what Twilio calls; the signed URL is this + path + query
 *   openAssignmentOf,             // (phone: string) => Promise<{ productId, photographerId } | undefined>
 * });
 * app.route('/', intake);         // POST /webhooks/twilio/sms, GET /images/<key>
 * // product.image-added carries blob keys: the UI shows `imagePath(event.data.image)`.
 * ```
 * @see docs/hello-retail-photos.md
 * @module
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { UnilogError } from '../../src/index.ts';
import { isBlobKey, type BlobStore } from '../../src/blobs/blobStore.ts';
import { problemResponse } from '../../src/service/app.ts';
import { phoneSchema } from '../events.ts';
import { fetchMediaOverHttp, mediaType, type FetchMedia } from './fetchMedia.ts';
import type { ImageProcessor } from './imageProcessor.ts';
import { messageSidPattern } from './photoKeys.ts';
import { receivePhoto, type IntakeLogger, type OpenAssignment, type PhotoIntakeStore, type PhotoMessage, type ReceiveOutcome, type RejectionReason } from './receivePhoto.ts';
import { verifyTwilioSignature } from './twilioSignature.ts';
import { twimlContentType, twimlMessage } from './twiml.ts';

/** The webhook's path: configure Twilio's "A message comes in" URL as `publicUrl` + this. */
export const webhookPath = '/webhooks/twilio/sms';
/** The path prefix stored images are served under. */
export const imagesPath = '/images';

/** The URL path that serves a blob key (such as `product.image-added`'s `image` and `thumbnail`). */
export function imagePath(key: string): string {
  return `${imagesPath}/${key}`;
}

/** Options of {@link createPhotoIntake}. */
export interface PhotoIntakeOptions {
  /** Where `photo.received` and `product.image-added` are appended, once per message. */
  readonly store: PhotoIntakeStore;
  /** Where the main image and thumbnail are stored (`openLocalBlobStore` by default in the demo). */
  readonly blobs: BlobStore;
  /** Auto-rotates, strips metadata and renders the images (`createSharpImageProcessor`). */
  readonly processor: ImageProcessor;
  /** The Twilio auth token that signs webhooks (`X-Twilio-Signature`). */
  readonly authToken: string;
  /** The public URL of the server's root as Twilio calls it, such as `https://abc.ngrok.app` (no query). */
  readonly publicUrl: string;
  /** The open assignment of a phone (E.164), from the photo workflow. */
  readonly openAssignmentOf: (phone: string) => Promise<OpenAssignment | undefined>;
  /** Downloads the media. @default fetchMediaOverHttp */
  readonly fetchMedia?: FetchMedia;
  /** Larger images are refused. @default 10485760 (10 MiB) */
  readonly maxImageBytes?: number;
  /** The whole download must finish in this time. @default 10000 */
  readonly downloadTimeoutMs?: number;
  /** Where failed downloads are reported. @default none */
  readonly logger?: IntakeLogger;
}

/** The largest webhook form: Twilio's are a few KiB (a 1600-character body and some fields). */
const maxFormBytes = 64 * 1024;

/** The texts Twilio sends back to the photographer. */
const replies: Record<RejectionReason | 'duplicate', string> = {
  'no-media': 'Oops! We were expecting a product image. Please reply with one photo.',
  'too-many-media': 'Please send exactly one photo per message.',
  'not-an-image': 'Oops! That attachment is not an image. Please send a photo.',
  'no-assignment': "Oops! We couldn't find an open photo assignment for your number.",
  'too-large': 'That photo is too large. Please send a smaller one.',
  unreadable: "We couldn't read that image. Please send it again as a JPEG or PNG.",
  'download-failed': "We couldn't download your photo. Please send it again.",
  duplicate: 'We already received this photo. Thank you!',
};

/**
 * The photo intake as a Hono app: `POST /webhooks/twilio/sms` takes a photographer's MMS, checks Twilio's
 * signature (403 and nothing stored when it is wrong), processes and stores the photo and publishes
 * `photo.received` and `product.image-added` exactly once per message; `GET /images/<key>` serves stored images.
 * Problems the photographer can fix get a 200 with a TwiML text and store nothing.
 * @example
 * app.route('/', createPhotoIntake({ store, blobs, processor, authToken, publicUrl, openAssignmentOf }));
 */
export function createPhotoIntake(options: PhotoIntakeOptions): Hono {
  const { store, blobs, processor, authToken, openAssignmentOf, logger } = options;
  if (typeof authToken !== 'string' || authToken.length === 0) {
    throw new UnilogError('InvalidArgument', 'createPhotoIntake needs the Twilio auth token that signs the webhooks (authToken).', { argument: 'authToken', reason: 'empty' });
  }
  const publicRoot = checkPublicUrl(options.publicUrl);
  const deps = {
    store,
    blobs,
    processor,
    openAssignmentOf,
    logger,
    fetchMedia: options.fetchMedia ?? fetchMediaOverHttp,
    maxImageBytes: options.maxImageBytes ?? 10 * 1024 * 1024,
    downloadTimeoutMs: options.downloadTimeoutMs ?? 10_000,
  };

  const app = new Hono();
  const formLimit = bodyLimit({
    maxSize: maxFormBytes,
    onError: (c) => problemResponse(c, new UnilogError('PayloadTooLarge', `A webhook form is at most ${maxFormBytes} bytes.`, { limit: maxFormBytes, what: 'webhook form' })),
  });

  app.post(webhookPath, formLimit, async (c) => {
    const isForm = mediaType(c.req.header('content-type')) === 'application/x-www-form-urlencoded';
    const params = isForm ? [...new URLSearchParams(await c.req.text())] : [];
    const { pathname, search } = new URL(c.req.url);
    // The signature first: an unsigned caller learns nothing, not even which of its fields are wrong.
    if (!verifyTwilioSignature(authToken, `${publicRoot}${pathname}${search}`, params, c.req.header('x-twilio-signature'))) {
      return problemResponse(c, new UnilogError('Forbidden', 'The X-Twilio-Signature header is missing or does not match: check the auth token and that publicUrl is the URL Twilio calls.', { producer: 'twilio', reason: 'bad signature' }));
    }
    if (!isForm) return problemResponse(c, new UnilogError('UnsupportedMediaType', 'Send the webhook as application/x-www-form-urlencoded, as Twilio does.', { contentType: mediaType(c.req.header('content-type')) }));
    const message = parseMessage(params);
    if (message instanceof UnilogError) return problemResponse(c, message);
    return twiml(c, await receivePhoto(deps, message));
  });

  app.get(`${imagesPath}/:key{.+}`, async (c) => {
    const key = c.req.param('key');
    const blob = isBlobKey(key) ? await blobs.get(key) : undefined;
    // Only images: the store may hold other blobs, and serving them from this origin would trust them.
    if (!blob?.contentType.startsWith('image/')) return problemResponse(c, new UnilogError('NotFound', `No image ${key}.`, { path: c.req.path }));
    return c.body(blob.body, 200, {
      'content-type': blob.contentType,
      'content-length': String(blob.body.byteLength),
      // Keys name one message's photo and a retry rewrites the same bytes: the content never changes.
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
    });
  });

  return app;
}

function twiml(c: Context, outcome: ReceiveOutcome): Response {
  const text = outcome.kind === 'received' ? `Thanks so much! Your photo of product ${outcome.productId} is in.` : replies[outcome.kind === 'duplicate' ? 'duplicate' : outcome.reason];
  return c.body(twimlMessage(text), 200, { 'content-type': twimlContentType });
}

/** The signed form as a message; a malformed one (which Twilio never sends) is an `InvalidRequest`. */
function parseMessage(params: readonly (readonly [string, string])[]): PhotoMessage | UnilogError<'InvalidRequest'> {
  const fields = new Map<string, string>();
  for (const [name, value] of params) {
    if (fields.has(name)) return invalid(`The field ${name} appears twice.`);
    fields.set(name, value);
  }
  const from = fields.get('From') ?? '';
  const messageSid = fields.get('MessageSid') ?? '';
  const numMedia = fields.get('NumMedia') ?? '0';
  if (!phoneSchema.safeParse(from).success) return invalid('From must be a phone number in E.164 form, such as +14155550100.');
  if (!messageSidPattern.test(messageSid)) return invalid('MessageSid must be 2 to 64 letters and digits.');
  if (!/^(?:0|[1-9][0-9]?)$/.test(numMedia)) return invalid('NumMedia must be a whole number from 0 to 99.');
  const mediaUrl = fields.get('MediaUrl0');
  if (mediaUrl !== undefined && !/^https?:\/\//i.test(mediaUrl)) return invalid('MediaUrl0 must be an http or https URL.');
  return { from, messageSid, numMedia: Number(numMedia), mediaUrl, mediaContentType: fields.get('MediaContentType0') };
}

function invalid(reason: string): UnilogError<'InvalidRequest'> {
  return new UnilogError('InvalidRequest', `${reason} Nothing was stored.`, { reason });
}

function checkPublicUrl(publicUrl: unknown): string {
  const parsed = typeof publicUrl === 'string' && URL.canParse(publicUrl) ? new URL(publicUrl) : undefined;
  if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.search !== '' || parsed.hash !== '') {
    throw new UnilogError('InvalidArgument', `publicUrl must be the http(s) URL Twilio calls the server at, without query, such as "https://abc.ngrok.app", not ${JSON.stringify(publicUrl)}.`, { argument: 'publicUrl', reason: 'invalid URL' });
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}
