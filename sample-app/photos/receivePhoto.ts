import { isUnilogError, type AppendToStreamResult, type ExpectedVersion, type StreamEventInput } from '../../src/index.ts';
import type { BlobStore } from '../../src/blobs/blobStore.ts';
import type { PhotoReceived, ProductImageAdded } from '../events.ts';
import { mediaType, type FetchMedia } from './fetchMedia.ts';
import type { ImageProcessor } from './imageProcessor.ts';
import { photoBlobKey, photoStreamId } from './photoKeys.ts';

/** The catalog events the intake appends. */
export type PhotoEvents = typeof PhotoReceived | typeof ProductImageAdded;

/**
 * What the intake needs of the event store: any `EventStore` whose catalog holds `photo.received` and
 * `product.image-added` (such as one over `helloRetailEvents`) fits.
 */
export interface PhotoIntakeStore {
  appendToStream(streamId: string, events: readonly StreamEventInput<PhotoEvents>[], options: { readonly expectedVersion: ExpectedVersion }): Promise<AppendToStreamResult>;
  readStream(streamId: string): Promise<{ readonly version: number }>;
}

/** The open assignment of a photographer's phone, from the photo workflow. */
export interface OpenAssignment {
  readonly productId: string;
  readonly photographerId: string;
}

/** A structured logger (pino fits). */
export interface IntakeLogger {
  warn(fields: object, message: string): void;
}

/** What receiving a message needs; `createPhotoIntake` fills the defaults. */
export interface ReceiveDeps {
  readonly store: PhotoIntakeStore;
  readonly blobs: BlobStore;
  readonly processor: ImageProcessor;
  readonly openAssignmentOf: (phone: string) => Promise<OpenAssignment | undefined>;
  readonly fetchMedia: FetchMedia;
  readonly maxImageBytes: number;
  readonly downloadTimeoutMs: number;
  readonly logger?: IntakeLogger | undefined;
}

/** An inbound message, as checked from the signed webhook form. */
export interface PhotoMessage {
  readonly from: string;
  readonly messageSid: string;
  readonly numMedia: number;
  readonly mediaUrl?: string | undefined;
  readonly mediaContentType?: string | undefined;
}

/** Why a message stored nothing, when the photographer can do something about it. */
export type RejectionReason = 'no-media' | 'too-many-media' | 'not-an-image' | 'no-assignment' | 'too-large' | 'unreadable' | 'download-failed';

/** What became of a message. */
export type ReceiveOutcome =
  | { readonly kind: 'received'; readonly productId: string; readonly image: string; readonly thumbnail: string }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'rejected'; readonly reason: RejectionReason };

const rejected = (reason: RejectionReason): ReceiveOutcome => ({ kind: 'rejected', reason });

/**
 * Receives one photo message. The blobs are put first, under keys derived from the message, and the stream append
 * is the single commit point: a crash between them leaves blobs that the retry overwrites, and a second delivery
 * finds the stream and publishes nothing.
 */
export async function receivePhoto(deps: ReceiveDeps, message: PhotoMessage): Promise<ReceiveOutcome> {
  const streamId = photoStreamId(message.messageSid);
  // Checked first: a retry after the workflow closed the assignment must still read as a duplicate.
  if ((await deps.store.readStream(streamId)).version > 0) return { kind: 'duplicate' };
  if (message.numMedia === 0) return rejected('no-media');
  if (message.numMedia > 1) return rejected('too-many-media');
  if (!mediaType(message.mediaContentType).startsWith('image/') || message.mediaUrl === undefined) return rejected('not-an-image');

  const assignment = await deps.openAssignmentOf(message.from);
  if (!assignment) return rejected('no-assignment');

  let media;
  try {
    media = await deps.fetchMedia(message.mediaUrl, { maxBytes: deps.maxImageBytes, timeoutMs: deps.downloadTimeoutMs });
  } catch (error) {
    if (isUnilogError(error, 'PayloadTooLarge')) return rejected('too-large');
    if (isUnilogError(error, 'UnsupportedMediaType')) return rejected('not-an-image');
    deps.logger?.warn({ err: error, messageSid: message.messageSid }, 'photo download failed');
    return rejected('download-failed');
  }
  // Checked again here: an injected fetchMedia may not enforce the limits.
  if (media.body.byteLength > deps.maxImageBytes) return rejected('too-large');
  const contentType = mediaType(media.contentType);
  if (!contentType.startsWith('image/')) return rejected('not-an-image');

  let photo;
  try {
    photo = await deps.processor.process(media.body);
  } catch (error) {
    if (isUnilogError(error, 'UnsupportedMediaType')) return rejected('unreadable');
    throw error;
  }

  const { productId, photographerId } = assignment;
  const image = photoBlobKey(productId, message.messageSid, 'main', photo.main.contentType);
  const thumbnail = photoBlobKey(productId, message.messageSid, 'thumbnail', photo.thumbnail.contentType);
  await Promise.all([
    deps.blobs.put(image, photo.main.body, { contentType: photo.main.contentType }),
    deps.blobs.put(thumbnail, photo.thumbnail.body, { contentType: photo.thumbnail.contentType }),
  ]);
  try {
    await deps.store.appendToStream(
      streamId,
      [
        { type: 'photo.received', data: { productId, photographerId, messageId: message.messageSid, contentType }, correlationId: message.messageSid },
        { type: 'product.image-added', data: { productId, photographerId, image, thumbnail, width: photo.main.width, height: photo.main.height }, correlationId: message.messageSid },
      ],
      { expectedVersion: 'no_stream' },
    );
  } catch (error) {
    // Another delivery of this message committed while this one worked: its blobs are the same keys.
    if (isUnilogError(error, 'ConcurrencyConflict')) return { kind: 'duplicate' };
    throw error;
  }
  return { kind: 'received', productId, image, thumbnail };
}
