import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { isUnilogError } from '../errors.ts';

/** Where a command writes: stdout for results, stderr for errors and progress. */
export interface Io {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly json: boolean;
}

/** Writes text, waiting when the stream asks the writer to slow down (so `unilog read | head` stays in bounded memory). */
export async function write(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

/** Prints an error as `error CODE: message`, or with --json as `{ "error": { code, message, details } }`. */
export function printError(io: Io, error: unknown, context?: string): void {
  const code = isUnilogError(error) ? error.code : 'InternalError';
  const message = `${(error as Error).message}${context ? ` (${context})` : ''}`;
  if (io.json) {
    const details = isUnilogError(error) ? error.details : {};
    io.stderr.write(`${JSON.stringify({ error: { code, message, details } })}\n`);
  } else {
    io.stderr.write(`error ${code}: ${message}\n`);
  }
}
