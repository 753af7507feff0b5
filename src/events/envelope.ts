import { z } from 'zod';

/** CloudEvents 1.0 attribute names must be lowercase letters and digits; ours follow that rule. */
const eventTypePattern = /^[A-Za-z][A-Za-z0-9]*(?:[._/-][A-Za-z0-9]+)*$/;

/** The client-supplied event id format: 1–128 characters of `[A-Za-z0-9._:-]`. */
export const eventIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/** Event type names: letters and digits in words joined by `.`, `_`, `/` or `-` (`product.created`). */
export const eventTypeSchema = z.string().max(256).regex(eventTypePattern, 'event types are words of letters and digits joined by . _ / or -');

/**
 * The CloudEvents 1.0 envelope every stored event has; `dataversion` (an extension attribute) is the
 * version of the event type's schema that `data` follows.
 */
export const eventEnvelopeSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().regex(eventIdPattern),
  source: z.string().min(1),
  type: eventTypeSchema,
  time: z.iso.datetime(),
  subject: z.string().min(1).max(256),
  datacontenttype: z.literal('application/json'),
  dataversion: z.number().int().positive(),
  correlationid: z.string().min(1).optional(),
  causationid: z.string().min(1).optional(),
  /** Set on events appended to an entity stream of the event store: the stream... */
  streamid: z.string().min(1).max(256).optional(),
  /** ...and the event's version in it (the stream's first event is 1). */
  streamversion: z.number().int().positive().optional(),
  data: z.unknown(),
});

/** A CloudEvents 1.0 envelope as stored in the log. */
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

/** An envelope whose `type` and `data` are known. */
export type TypedEventEnvelope<TType extends string, TData> = Omit<EventEnvelope, 'type' | 'data'> & {
  readonly type: TType;
  readonly data: TData;
};
