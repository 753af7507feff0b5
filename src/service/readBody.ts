import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { UnilogError } from '../errors.ts';

function tooLarge(limit: number): UnilogError<'PayloadTooLarge'> {
  return new UnilogError('PayloadTooLarge', `The body is over ${limit} bytes: send smaller batches.`, { limit, what: 'body bytes' });
}

/**
 * The request body's bytes, at most `limit` of them (413 beyond). A declared Content-Length over the limit is refused
 * before anything is read. On Node the body is read straight from the socket's message, counting as it goes (a chunked
 * body cannot grow past the limit either); building a web `Request` and reading its stream costs several times more
 * CPU per request. Elsewhere (Lambda) the body is already in memory.
 */
export async function readBody(c: Context, limit: number): Promise<Uint8Array> {
  const declared = c.req.header('content-length');
  if (declared !== undefined && Number(declared) > limit) {
    c.header('connection', 'close');
    throw tooLarge(limit);
  }
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming === undefined || typeof incoming.on !== 'function') {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.length > limit) throw tooLarge(limit);
    return bytes;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      // The rest of an oversized body is not wanted: the 413 closes the connection instead of reading it all.
      c.header('connection', 'close');
      throw tooLarge(limit);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}
