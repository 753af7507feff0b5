import { createHash } from 'node:crypto';

/** Twilio message SIDs are two letters and 32 hex digits; any short alphanumeric id is accepted (simulators). */
export const messageSidPattern = /^[A-Za-z0-9]{2,64}$/;

/**
 * The stream whose creation commits a photo message: appended once with `expectedVersion: 'no_stream'`, so a
 * second delivery of the same message (a webhook retry) conflicts and publishes nothing. Keyed by message rather
 * than product so that a retry arriving after the workflow closed the assignment still reads "already received".
 */
export function photoStreamId(messageSid: string): string {
  return `photo-message-${messageSid}`;
}

/** The blob key of one of a message's images: derived from the product and the message, so a retried put overwrites its own blob. */
export function photoBlobKey(productId: string, messageSid: string, variant: 'main' | 'thumbnail', contentType: string): string {
  return `products/${keySegment(productId)}/${messageSid}/${variant}.${extensionOf(contentType)}`;
}

/** The file extension of an image media type, for readable keys. */
function extensionOf(contentType: string): string {
  const subtype = contentType.split('/')[1] ?? '';
  return subtype === 'jpeg' ? 'jpg' : /^[a-z0-9]{1,8}$/.test(subtype) ? subtype : 'bin';
}

// Product ids are any string of 1 to 128 characters; those that are not a safe key segment are hashed, behind a
// `_` that no safe segment starts with, so two products never share a folder.
function keySegment(productId: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(productId) ? productId : `_${createHash('sha256').update(productId).digest('hex')}`;
}
