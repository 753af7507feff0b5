import { createHmac } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UnilogError, createMemoryEventLog, createMemoryEventStore, isUnilogError, openLocalBlobStore, type BlobStore, type EventLog, type EventStore } from '../../src/index.ts';
import { helloRetailEvents } from '../../sample-app/events.ts';
import { computeTwilioSignature, createPhotoIntake, createSharpImageProcessor, fetchMediaOverHttp, imagePath, type ImageProcessor, type OpenAssignment, type PhotoIntakeStore } from '../../sample-app/photos/index.ts';
import { tempDir } from '../support/tempDir.ts';

const authToken = 'test-auth-token';
const publicUrl = 'https://photos.example.test';
const photographerPhone = '+14155550100';
const assignment: OpenAssignment = { productId: 'boots-1', photographerId: 'ph-1' };
const mib = 1024 * 1024;

/** A JPEG-looking payload: the fake processor accepts bytes that start with the JPEG marker. */
const fakeJpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('fake jpeg body')]);

/** Renders deterministically without native code: main and thumbnail are the input behind a marker. */
const fakeProcessor: ImageProcessor = {
  process(input) {
    if (input[0] !== 0xff || input[1] !== 0xd8) return Promise.reject(new UnilogError('UnsupportedMediaType', 'not a JPEG', { contentType: 'unknown' }));
    const render = (marker: string, width: number) => ({ body: Buffer.concat([Buffer.from(marker), input]), contentType: 'image/jpeg', width, height: width / 2 });
    return Promise.resolve({ main: render('main:', 1200), thumbnail: render('thumb:', 300) });
  },
};

/** Signs like Twilio, written apart from the module under test so that the two can disagree. */
function sign(url: string, params: Record<string, string>, token = authToken): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => `${acc}${key}${params[key] ?? ''}`, url);
  return createHmac('sha1', token).update(data).digest('base64');
}

/** A local media server standing in for Twilio's media URLs (and the demo's simulator). */
interface MediaServer {
  readonly url: string;
  readonly hits: Map<string, number>;
  close(): Promise<void>;
}

async function startMediaServer(): Promise<MediaServer> {
  const hits = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    hits.set(request.url ?? '', (hits.get(request.url ?? '') ?? 0) + 1);
    const route = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    response.on('error', () => undefined);
    request.socket.on('error', () => undefined);
    if (route === '/photo.jpg') response.writeHead(200, { 'content-type': 'image/jpeg' }).end(fakeJpeg);
    else if (route === '/notes.txt') response.writeHead(200, { 'content-type': 'text/plain' }).end('not an image');
    else if (route === '/garbage.jpg') response.writeHead(200, { 'content-type': 'image/jpeg' }).end('this is no jpeg');
    else if (route === '/declared-huge.jpg') {
      response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(11 * mib) });
      response.write(fakeJpeg);
    } else if (route === '/streamed-huge.jpg') {
      // No length: the client must count while it reads.
      response.writeHead(200, { 'content-type': 'image/jpeg' });
      const chunk = Buffer.alloc(256 * 1024, 1);
      chunk.set(fakeJpeg);
      let sent = 0;
      const pump = () => {
        while (sent < 11 * mib) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        response.end();
      };
      pump();
    } else if (route === '/stalls.jpg') {
      response.writeHead(200, { 'content-type': 'image/jpeg' });
      response.write(fakeJpeg);
    } else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

let media: MediaServer;
beforeAll(async () => {
  media = await startMediaServer();
});
afterAll(async () => {
  await media.close();
});

interface Setup {
  readonly app: ReturnType<typeof createPhotoIntake>;
  readonly log: EventLog;
  readonly store: EventStore<(typeof helloRetailEvents)[number]>;
  readonly blobs: BlobStore;
  readonly blobDir: string;
}

let setup: Setup;
let cleanup: () => Promise<void>;

async function createSetup(overrides: Partial<Parameters<typeof createPhotoIntake>[0]> = {}): Promise<Setup> {
  const { dir, remove } = await tempDir('unilog-photos-');
  const log = createMemoryEventLog();
  const store = await createMemoryEventStore({ log, catalog: helloRetailEvents, source: 'photo-intake' });
  const blobDir = path.join(dir, 'blobs');
  const blobs = await openLocalBlobStore({ dir: blobDir });
  const app = createPhotoIntake({
    store,
    blobs,
    processor: fakeProcessor,
    authToken,
    publicUrl,
    openAssignmentOf: (phone) => Promise.resolve(phone === photographerPhone ? assignment : undefined),
    downloadTimeoutMs: 2_000,
    ...overrides,
  });
  cleanup = async () => {
    await blobs.close();
    await store.close();
    await log.close();
    await remove();
  };
  return { app, log, store, blobs, blobDir };
}

beforeEach(async () => {
  setup = await createSetup();
});
afterEach(async () => {
  await cleanup();
});

/** The form Twilio posts for an MMS with one image. */
function mmsForm(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const form: Record<string, string | undefined> = {
    AccountSid: 'AC00000000000000000000000000000000',
    From: photographerPhone,
    To: '+14155550199',
    Body: 'here you go',
    MessageSid: 'MM0123456789abcdef0123456789abcdef',
    NumMedia: '1',
    MediaUrl0: `${media.url}/photo.jpg`,
    MediaContentType0: 'image/jpeg',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(form).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** Posts a form to the webhook, signed for `publicUrl` unless a signature is given (`null`: no header). */
function postWebhook(form: Record<string, string>, signature?: string | null, app = setup.app): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const value = signature === undefined ? sign(`${publicUrl}/webhooks/twilio/sms`, form) : signature;
  if (value !== null) headers['x-twilio-signature'] = value;
  return Promise.resolve(app.request('/webhooks/twilio/sms', { method: 'POST', headers, body: new URLSearchParams(form).toString() }));
}

/** The text of a TwiML answer, after checking that it is one. */
async function twimlText(response: Response): Promise<string> {
  expect(response.status, 'a TwiML answer is a 200').toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/xml/);
  const body = await response.text();
  const match = /^<\?xml[^>]*\?><Response><Message>([^<]*)<\/Message><\/Response>$/.exec(body);
  expect(match, `TwiML with one message: ${body}`).not.toBeNull();
  return match![1]!.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))).replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[name]!);
}

async function loggedEvents() {
  return (await setup.log.read({ limit: 100 })).events.map(({ event }) => event);
}

async function blobFiles(): Promise<string[]> {
  const entries = await readdir(setup.blobDir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

async function expectNothingStored(): Promise<void> {
  expect(await loggedEvents(), 'no event was published').toEqual([]);
  expect(await blobFiles(), 'no blob was stored').toEqual([]);
}

describe('Twilio signature', () => {
  // Twilio's published example (its libraries' tests use it): an independent check of the algorithm.
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  it("matches Twilio's published vectors", () => {
    const params: [string, string][] = [['CallSid', 'CA1234567890ABCDE'], ['Caller', '+14158675309'], ['Digits', '1234'], ['From', '+14158675309'], ['To', '+18005551212']];
    expect(computeTwilioSignature('12345', url, params)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    expect(computeTwilioSignature('12345', url, [...params].reverse()), 'parameter order does not matter').toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    const repeated: [string, string][] = [['Sid', 'CA123'], ['SidAccount', 'AC123'], ['Digits', '5678'], ['Digits', '1234'], ['Digits', '1234']];
    expect(computeTwilioSignature('12345', url, repeated)).toBe('IK+Dwps556ElfBT0I3Rgjkr1wJU=');
  });
});

describe('fetchMediaOverHttp', () => {
  const limits = { maxBytes: 10 * mib, timeoutMs: 2_000 };
  const failsWith = (code: string) => (e: unknown) => isUnilogError(e) && e.code === code;

  it('downloads an image with its media type', async () => {
    const fetched = await fetchMediaOverHttp(`${media.url}/photo.jpg`, limits);
    expect(Buffer.from(fetched.body).equals(fakeJpeg)).toBe(true);
    expect(fetched.contentType).toBe('image/jpeg');
  });

  it('refuses oversize media by declared length and while streaming, not after reading it all', async () => {
    await expect(fetchMediaOverHttp(`${media.url}/declared-huge.jpg`, limits)).rejects.toSatisfy(failsWith('PayloadTooLarge'));
    await expect(fetchMediaOverHttp(`${media.url}/streamed-huge.jpg`, limits)).rejects.toSatisfy(failsWith('PayloadTooLarge'));
  });

  it('refuses media that is not an image, a stalled download and an error status', async () => {
    await expect(fetchMediaOverHttp(`${media.url}/notes.txt`, limits)).rejects.toSatisfy(failsWith('UnsupportedMediaType'));
    await expect(fetchMediaOverHttp(`${media.url}/stalls.jpg`, { ...limits, timeoutMs: 200 })).rejects.toSatisfy(failsWith('RequestTimeout'));
    await expect(fetchMediaOverHttp(`${media.url}/missing.jpg`, limits)).rejects.toSatisfy(failsWith('ServiceUnavailable'));
  });
});

describe('photo webhook', () => {
  it('a valid signed MMS is stored, answered with TwiML and published once', async () => {
    const text = await twimlText(await postWebhook(mmsForm()));
    expect(text).toContain('Thanks');

    const events = await loggedEvents();
    expect(events.map((e) => e.type)).toEqual(['photo.received', 'product.image-added']);
    const [received, added] = events;
    expect(received!.data).toEqual({ productId: 'boots-1', photographerId: 'ph-1', messageId: 'MM0123456789abcdef0123456789abcdef', contentType: 'image/jpeg' });
    expect(added!.streamid).toBe('photo-message-MM0123456789abcdef0123456789abcdef');
    const data = added!.data as { image: string; thumbnail: string; width: number; height: number; productId: string };
    expect(data).toMatchObject({ productId: 'boots-1', photographerId: 'ph-1', width: 1200, height: 600 });

    const main = await setup.blobs.get(data.image);
    const thumbnail = await setup.blobs.get(data.thumbnail);
    expect(Buffer.from(main!.body).toString('latin1')).toBe(`main:${fakeJpeg.toString('latin1')}`);
    expect(Buffer.from(thumbnail!.body).toString('latin1')).toBe(`thumb:${fakeJpeg.toString('latin1')}`);
    expect(main!.contentType).toBe('image/jpeg');
    expect(await blobFiles()).toHaveLength(2);

    const served = await setup.app.request(imagePath(data.thumbnail));
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('image/jpeg');
    expect(served.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await served.arrayBuffer()).equals(Buffer.from(thumbnail!.body))).toBe(true);
  });

  it('the same webhook twice publishes once, and the second is not downloaded again', async () => {
    const form = mmsForm({ MessageSid: 'MMtwice', MediaUrl0: `${media.url}/photo.jpg?twice` });
    expect(await twimlText(await postWebhook(form))).toContain('Thanks');
    expect(await twimlText(await postWebhook(form))).toContain('already received');
    expect((await loggedEvents()).map((e) => e.type)).toEqual(['photo.received', 'product.image-added']);
    expect(media.hits.get('/photo.jpg?twice')).toBe(1);
  });

  it('the same webhook delivered concurrently publishes once', async () => {
    const form = mmsForm({ MessageSid: 'MMrace' });
    const texts = await Promise.all([1, 2, 3].map(async () => twimlText(await postWebhook(form))));
    expect(texts.filter((t) => t.includes('Thanks')), `answers: ${texts.join(' | ')}`).toHaveLength(1);
    expect(texts.filter((t) => t.includes('already received'))).toHaveLength(2);
    expect((await loggedEvents()).map((e) => e.type)).toEqual(['photo.received', 'product.image-added']);
    expect(await blobFiles(), 'the losers wrote the same two keys').toHaveLength(2);
  });

  it('a retry after a crash between the blob puts and the append reuses the same blobs and publishes once', async () => {
    const crashingOnce: PhotoIntakeStore = {
      readStream: (streamId) => setup.store.readStream(streamId),
      appendToStream: () => Promise.reject(new Error('crash before the append')),
    };
    const crashed = await createSetup({ store: crashingOnce });
    const keepCleanup = cleanup;
    try {
      const form = mmsForm({ MessageSid: 'MMcrash' });
      const failed = await postWebhook(form, undefined, crashed.app);
      expect(failed.status, 'the failed append is a server error, so Twilio may retry').toBe(500);
      const blobsAfterCrash = (await readdir(crashed.blobDir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
      expect(blobsAfterCrash, 'blobs were put before the append').toHaveLength(2);

      // The retry, on a healthy intake over the same blob folder.
      const healthy = createPhotoIntake({ store: crashed.store, blobs: crashed.blobs, processor: fakeProcessor, authToken, publicUrl, openAssignmentOf: () => Promise.resolve(assignment) });
      expect(await twimlText(await postWebhook(form, undefined, healthy))).toContain('Thanks');
      const blobsAfterRetry = (await readdir(crashed.blobDir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
      expect(blobsAfterRetry.sort(), 'the retry overwrote the same keys').toEqual(blobsAfterCrash.sort());
      expect((await crashed.log.read({ limit: 10 })).events.map((e) => e.event.type)).toEqual(['photo.received', 'product.image-added']);
    } finally {
      await cleanup();
      cleanup = keepCleanup;
    }
  });

  it('a bad, missing or misplaced signature gets 403 and stores, publishes and downloads nothing', async () => {
    const form = mmsForm({ MediaUrl0: `${media.url}/photo.jpg?unsigned` });
    const attempts: [string, Promise<Response>][] = [
      ['missing', postWebhook(form, null)],
      ['empty', postWebhook(form, '')],
      ['garbage', postWebhook(form, 'not-a-signature')],
      ['wrong token', postWebhook(form, sign(`${publicUrl}/webhooks/twilio/sms`, form, 'other-token'))],
      ['other URL', postWebhook(form, sign('https://evil.example.test/webhooks/twilio/sms', form))],
      ['tampered field', postWebhook({ ...form, From: '+14155550111' }, sign(`${publicUrl}/webhooks/twilio/sms`, form))],
      ['added field', postWebhook({ ...form, Extra: 'x' }, sign(`${publicUrl}/webhooks/twilio/sms`, form))],
    ];
    for (const [what, attempt] of attempts) {
      const response = await attempt;
      expect(response.status, what).toBe(403);
      expect(response.headers.get('content-type'), what).toBe('application/problem+json');
    }
    const unsignedJson = await setup.app.request('/webhooks/twilio/sms', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(form) });
    expect(unsignedJson.status, 'an unsigned non-form body is refused as unsigned').toBe(403);
    await expectNothingStored();
    expect(media.hits.get('/photo.jpg?unsigned')).toBeUndefined();
  });

  it('photographer errors answer TwiML and store nothing', async () => {
    const cases: [string, Record<string, string | undefined>, string][] = [
      ['no media', { NumMedia: '0', MediaUrl0: undefined, MediaContentType0: undefined }, 'expecting a product image'],
      ['two images', { NumMedia: '2', MediaUrl1: `${media.url}/photo.jpg`, MediaContentType1: 'image/jpeg' }, 'exactly one photo'],
      ['declared not an image', { MediaContentType0: 'video/mp4' }, 'not an image'],
      ['served not an image', { MediaUrl0: `${media.url}/notes.txt` }, 'not an image'],
      ['unreadable image', { MediaUrl0: `${media.url}/garbage.jpg` }, "couldn't read"],
      ['unknown phone', { From: '+14155550111' }, "couldn't find an open photo assignment"],
      ['media gone', { MediaUrl0: `${media.url}/missing.jpg` }, "couldn't download"],
    ];
    for (const [what, overrides, expected] of cases) {
      const text = await twimlText(await postWebhook(mmsForm({ MessageSid: `MM${what.replace(/ /g, '')}`, ...overrides })));
      expect(text, what).toContain(expected);
    }
    await expectNothingStored();
  });

  it('an unknown phone is answered without downloading the media', async () => {
    await twimlText(await postWebhook(mmsForm({ From: '+14155550111', MediaUrl0: `${media.url}/photo.jpg?stranger` })));
    expect(media.hits.get('/photo.jpg?stranger')).toBeUndefined();
  });

  it('oversize downloads are refused, by declared length and while streaming', async () => {
    for (const route of ['/declared-huge.jpg', '/streamed-huge.jpg']) {
      const text = await twimlText(await postWebhook(mmsForm({ MessageSid: `MM${route.replace(/\W/g, '')}`, MediaUrl0: `${media.url}${route}` })));
      expect(text, route).toContain('too large');
    }
    await expectNothingStored();
  });

  it('the limit is the configured one: an image over maxImageBytes is refused', async () => {
    await cleanup();
    setup = await createSetup({ maxImageBytes: fakeJpeg.length - 1 });
    expect(await twimlText(await postWebhook(mmsForm()))).toContain('too large');
    await expectNothingStored();
  });

  it('a stalled download times out and stores nothing', async () => {
    await cleanup();
    setup = await createSetup({ downloadTimeoutMs: 200 });
    expect(await twimlText(await postWebhook(mmsForm({ MediaUrl0: `${media.url}/stalls.jpg` })))).toContain("couldn't download");
    await expectNothingStored();
  });

  it('a signed but malformed form is a 400, and a non-form body a 415', async () => {
    for (const overrides of [{ From: 'not-a-phone' }, { MessageSid: '../etc' }, { NumMedia: 'lots' }, { MediaUrl0: 'file:///etc/passwd' }]) {
      const response = await postWebhook(mmsForm(overrides));
      expect(response.status, JSON.stringify(overrides)).toBe(400);
    }
    const json = JSON.stringify({});
    const response = await setup.app.request('/webhooks/twilio/sms', { method: 'POST', headers: { 'content-type': 'application/json', 'x-twilio-signature': sign(`${publicUrl}/webhooks/twilio/sms`, {}) }, body: json });
    expect(response.status).toBe(415);
    await expectNothingStored();
  });

  it('an oversize form is refused', async () => {
    const response = await postWebhook(mmsForm({ Body: 'x'.repeat(70 * 1024) }));
    expect(response.status).toBe(413);
    await expectNothingStored();
  });

  it('the image route serves only valid keys of stored images', async () => {
    await setup.blobs.put('notes/readme.html', new TextEncoder().encode('<script>alert(1)</script>'), { contentType: 'text/html' });
    for (const pathname of ['/images/nothing.jpg', '/images/notes/readme.html', '/images/..%2F..%2Fetc%2Fpasswd', '/images/a/../b.jpg', '/images/.hidden']) {
      expect((await setup.app.request(pathname)).status, pathname).toBe(404);
    }
  });

  it('refuses a publicUrl with a query and an empty auth token', () => {
    const base = { store: setup.store, blobs: setup.blobs, processor: fakeProcessor, openAssignmentOf: () => Promise.resolve(undefined) };
    expect(() => createPhotoIntake({ ...base, authToken, publicUrl: 'https://x.test/?a=1' })).toThrow(/publicUrl/);
    expect(() => createPhotoIntake({ ...base, authToken: '', publicUrl })).toThrow(/auth token/);
  });

  it('signs the configured public path: a server behind a path prefix', async () => {
    await cleanup();
    setup = await createSetup({ publicUrl: `${publicUrl}/demo/` });
    const form = mmsForm();
    expect((await postWebhook(form)).status, 'signed for the URL without the prefix').toBe(403);
    expect(await twimlText(await postWebhook(form, sign(`${publicUrl}/demo/webhooks/twilio/sms`, form)))).toContain('Thanks');
  });
});

describe('sharp image processor', () => {
  /** A 400 × 200 JPEG stored sideways (EXIF orientation 6: shown 200 × 400) with an Artist tag to strip. */
  function sidewaysJpeg(): Promise<Buffer> {
    return sharp({ create: { width: 400, height: 200, channels: 3, background: { r: 200, g: 40, b: 40 } } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .withExif({ IFD0: { Artist: 'secret-artist' } })
      .toBuffer();
  }

  it('auto-orients, strips metadata and renders a main image and a thumbnail', async () => {
    const input = await sidewaysJpeg();
    const inputMeta = await sharp(input).metadata();
    expect(inputMeta.orientation, 'fixture: the input carries orientation 6').toBe(6);
    expect([inputMeta.width, inputMeta.height], 'fixture: stored sideways').toEqual([400, 200]);
    expect(input.includes('secret-artist'), 'fixture: the input carries the Artist tag').toBe(true);

    const { main, thumbnail } = await createSharpImageProcessor({ mainSize: 300, thumbnailSize: 100 }).process(input);
    expect([main.width, main.height], 'upright and bounded').toEqual([150, 300]);
    expect([thumbnail.width, thumbnail.height]).toEqual([50, 100]);
    for (const [name, image] of [['main', main], ['thumbnail', thumbnail]] as const) {
      const meta = await sharp(image.body).metadata();
      expect(meta.format, name).toBe('jpeg');
      expect([meta.width, meta.height], `${name}: the pixels are upright, not just tagged`).toEqual([image.width, image.height]);
      expect(meta.orientation, `${name}: no orientation tag left`).toBeUndefined();
      expect(meta.exif, `${name}: no EXIF left`).toBeUndefined();
      expect(Buffer.from(image.body).includes('secret-artist'), `${name}: the Artist tag is gone`).toBe(false);
    }
  });

  it('does not enlarge small photos and refuses what is not a photo', async () => {
    const processor = createSharpImageProcessor();
    const { main } = await processor.process(await sidewaysJpeg());
    expect([main.width, main.height]).toEqual([200, 400]);
    await expect(processor.process(new TextEncoder().encode('no image'))).rejects.toSatisfy((e) => isUnilogError(e, 'UnsupportedMediaType'));
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
    await expect(processor.process(svg), 'SVG is a document, not a photo').rejects.toSatisfy((e) => isUnilogError(e, 'UnsupportedMediaType'));
    const truncated = (await sidewaysJpeg()).subarray(0, 300);
    await expect(processor.process(truncated), 'a truncated JPEG').rejects.toSatisfy((e) => isUnilogError(e, 'UnsupportedMediaType'));
  });

  it('refuses a decompression bomb before decoding it', async () => {
    const wide = await sharp({ create: { width: 5000, height: 5000, channels: 3, background: '#fff' } }).png().toBuffer();
    await expect(createSharpImageProcessor({ maxInputPixels: 1_000_000 }).process(wide)).rejects.toSatisfy((e) => isUnilogError(e, 'UnsupportedMediaType'));
  });

  it('end to end: the webhook stores an upright, metadata-free image', async () => {
    const input = await sidewaysJpeg();
    await cleanup();
    setup = await createSetup({ processor: createSharpImageProcessor(), fetchMedia: () => Promise.resolve({ body: input, contentType: 'image/jpeg' }) });
    expect(await twimlText(await postWebhook(mmsForm()))).toContain('Thanks');
    const added = (await loggedEvents()).find((e) => e.type === 'product.image-added')!.data as { image: string; thumbnail: string; width: number; height: number };
    expect([added.width, added.height]).toEqual([200, 400]);
    const stored = await setup.blobs.get(added.image);
    expect(stored!.contentType).toBe('image/jpeg');
    expect(Buffer.from(stored!.body).includes('secret-artist')).toBe(false);
    const thumbMeta = await sharp((await setup.blobs.get(added.thumbnail))!.body).metadata();
    expect([thumbMeta.width, thumbMeta.height]).toEqual([150, 300]);
  });
});
