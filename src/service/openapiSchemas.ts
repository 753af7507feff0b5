import { z } from 'zod';
import { eventEnvelopeSchema } from '../events/envelope.ts';

/** An RFC 9457 problem, as the OpenAPI document describes it. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string().describe('The stable unilog error code (docs/errors.md).'),
  issues: z.array(z.object({ index: z.number().int().optional(), path: z.array(z.union([z.string(), z.number()])), code: z.string(), message: z.string() })).optional(),
  details: z.unknown().optional(),
});

/** An event with its position in the log. */
export const storedEventSchema = z.object({ position: z.string(), event: eventEnvelopeSchema });
