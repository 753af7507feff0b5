import { z } from 'zod';
import { UnilogError, type ValidationIssue } from '../errors.ts';
import { eventIdPattern } from '../events/envelope.ts';

/** At most this many events in one POST. */
export const maxBatchEvents = 500;
/** At most this many bytes in one POST body. */
export const maxBodyBytes = 5 * 1024 * 1024;
/** Nesting deeper than this is refused before any schema sees it. */
export const maxJsonDepth = 64;
/** Keys that mean prototype tricks in some consumer language or library: refused anywhere in a body. */
const forbiddenKeys = new Set(['__proto__', 'constructor', 'prototype']);

/** One event in a POST /events body. */
export const publishItemSchema = z.strictObject({
  type: z.string().min(1).max(128),
  data: z.unknown().refine((value) => value !== undefined, { error: 'data is required' }),
  key: z.string().min(1).max(256).optional(),
  id: z.string().regex(eventIdPattern, 'an event id is 1 to 128 characters of letters, digits and . _ : -').optional(),
  correlationId: z.string().min(1).max(256).optional(),
  causationId: z.string().min(1).max(256).optional(),
});
/** A POST /events body: one event or a batch. */
export const publishBodySchema = z.union([publishItemSchema, z.array(publishItemSchema).min(1).max(maxBatchEvents)]);
export type PublishRequestItem = z.output<typeof publishItemSchema>;

function invalid(reason: string, message: string, issues?: ValidationIssue[]): UnilogError<'InvalidRequest'> {
  return new UnilogError('InvalidRequest', message, issues === undefined ? { reason } : { reason, issues });
}

/** The body's text: strict UTF-8, or `InvalidRequest`. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw invalid('invalid UTF-8', 'The body is not valid UTF-8: send JSON encoded as UTF-8.');
  }
}

/**
 * Parses a JSON body and refuses what no event should carry: nesting deeper than {@link maxJsonDepth}, prototype
 * keys, and strings that are not well-formed Unicode (lone surrogates), which other languages cannot read back.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw invalid('empty body', 'The body is empty: send one event { "type", "data" } or an array of them.');
  // Bracket depth first, on the text: JSON.parse of a very deep document could exhaust the stack.
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > maxJsonDepth) throw invalid('too deep', `The body nests deeper than ${maxJsonDepth} levels: flatten the event data.`);
    } else if (c === 125 || c === 93) depth--;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid('malformed JSON', `The body is not JSON (${(error as Error).message}): send one event { "type", "data" } or an array of them.`);
  }
  checkValue(value);
  return value;
}

function checkValue(root: unknown): void {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (!value.isWellFormed()) throw invalid('lone surrogate', 'The body has a string with a lone surrogate (\\ud800–\\udfff without its pair): send well-formed Unicode.');
    } else if (Array.isArray(value)) {
      for (const item of value) pending.push(item);
    } else if (typeof value === 'object' && value !== null) {
      for (const key of Object.keys(value)) {
        if (forbiddenKeys.has(key)) throw invalid('forbidden key', `The body has a ${JSON.stringify(key)} key, which is refused everywhere: rename the field.`);
        if (!key.isWellFormed()) throw invalid('lone surrogate', 'The body has a key with a lone surrogate: send well-formed Unicode.');
        pending.push((value as Record<string, unknown>)[key]);
      }
    }
  }
}

/** The events of a POST body (one or a batch), or `InvalidRequest` listing every shape problem. */
export function parsePublishBody(value: unknown): { readonly items: PublishRequestItem[]; readonly batch: boolean } {
  if (Array.isArray(value) && value.length > maxBatchEvents) {
    throw new UnilogError('PayloadTooLarge', `A batch holds at most ${maxBatchEvents} events, not ${value.length}: split it.`, { limit: maxBatchEvents, what: 'events in a batch' });
  }
  const parsed = publishBodySchema.safeParse(value);
  if (parsed.success) return Array.isArray(parsed.data) ? { items: parsed.data, batch: true } : { items: [parsed.data], batch: false };
  const batch = Array.isArray(value);
  if (batch && value.length === 0) throw invalid('empty batch', 'The batch is empty: send at least one event.');
  // The union's error is about both branches: report the branch the body meant.
  const issues: ValidationIssue[] = [];
  const items: unknown[] = batch ? value : [value];
  items.forEach((item, index) => {
    const result = publishItemSchema.safeParse(item);
    if (result.success) return;
    for (const issue of result.error.issues) issues.push({ ...(batch ? { index } : {}), path: issue.path.map((p) => (typeof p === 'number' ? p : String(p))), code: issue.code, message: issue.message });
  });
  throw invalid('bad shape', `The body is not ${batch ? 'a batch of events' : 'an event'} { "type", "data", "key"?, "id"? }: ${issues.map((i) => `${i.index === undefined ? '' : `[${i.index}] `}${i.path.join('.') || '(event)'}: ${i.message}`).join('; ')}.`, issues);
}
