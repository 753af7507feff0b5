import { UnilogError, isUnilogError } from '../../src/index.ts';

/** Limits of one media download. */
export interface FetchMediaOptions {
  /** Larger media is refused with `PayloadTooLarge`, before or while it downloads. */
  readonly maxBytes: number;
  /** The whole download (headers and body) must finish in this time, else `RequestTimeout`. */
  readonly timeoutMs: number;
}

/** Downloaded media: its bytes and the media type its server declared (lower-cased, without parameters). */
export interface FetchedMedia {
  readonly body: Uint8Array;
  readonly contentType: string;
}

/**
 * Downloads a message's media. Throws `PayloadTooLarge` (over `maxBytes`), `UnsupportedMediaType` (not `image/*`),
 * `RequestTimeout`, or `ServiceUnavailable` (the server failed or answered an error).
 */
export type FetchMedia = (url: string, options: FetchMediaOptions) => Promise<FetchedMedia>;

/**
 * The default {@link FetchMedia}: a plain GET with `fetch`, following redirects (Twilio's media URLs redirect to
 * storage). Accounts that require HTTP auth on media URLs need their own FetchMedia that adds the header.
 */
export const fetchMediaOverHttp: FetchMedia = async (url, { maxBytes, timeoutMs }) => {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, { signal, redirect: 'follow', headers: { accept: 'image/*' } });
    if (!response.ok) {
      await response.body?.cancel();
      throw new UnilogError('ServiceUnavailable', `The media server answered HTTP ${response.status} for ${url}.`, { reason: `media download: HTTP ${response.status}` });
    }
    const contentType = mediaType(response.headers.get('content-type'));
    if (!contentType.startsWith('image/')) {
      await response.body?.cancel();
      throw new UnilogError('UnsupportedMediaType', `The media is ${contentType || 'of no declared type'}, not an image.`, { contentType });
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (declared > maxBytes) {
      await response.body?.cancel();
      throw tooLarge(maxBytes);
    }
    return { body: await readAtMost(response, maxBytes), contentType };
  } catch (error) {
    if (isUnilogError(error)) throw error;
    if (signal.aborted) throw new UnilogError('RequestTimeout', `The media download from ${url} took longer than ${timeoutMs} ms.`, { timeoutMs }, { cause: error });
    throw new UnilogError('ServiceUnavailable', `The media download from ${url} failed: ${error instanceof Error ? error.message : String(error)}.`, { reason: 'media download failed' }, { cause: error });
  }
};

/** Reads the body, stopping as soon as it passes `maxBytes`: a server that lies about (or omits) its length cannot fill memory. */
async function readAtMost(response: Response, maxBytes: number): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  // Node's types leave fetch's chunk type open; undici always delivers Uint8Array chunks.
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/** The media type of a Content-Type header, lower-cased, without parameters ('' when absent). */
export function mediaType(header: string | null | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function tooLarge(maxBytes: number): UnilogError<'PayloadTooLarge'> {
  return new UnilogError('PayloadTooLarge', `The media is larger than ${maxBytes} bytes.`, { limit: maxBytes, what: 'media download' });
}
