import type { EventEnvelope } from '../../events/envelope.ts';

/** An unsent outbox entry as stored: keyed by (bucket, id), where `id` is the event id (a ULID, sortable by time). */
export interface OutboxItem {
  readonly bucket: string;
  readonly id: string;
  readonly streamId: string;
  readonly version: number;
  /** The envelope as JSON: DynamoDB keeps it byte for byte (no number or empty-string conversions). */
  readonly event: string;
}

/** The outbox bucket of a stream: a stable hash of its id, so one stream's entries share a partition and a relay. */
export function outboxBucket(streamId: string, buckets: number): string {
  let hash = 2166136261;
  for (let i = 0; i < streamId.length; i++) hash = Math.imul(hash ^ streamId.charCodeAt(i), 16777619);
  return String((hash >>> 0) % buckets);
}

/** The outbox item of a stored stream event. */
export function toOutboxItem(event: EventEnvelope & { readonly streamid: string; readonly streamversion: number }, buckets: number): OutboxItem {
  return { bucket: outboxBucket(event.streamid, buckets), id: event.id, streamId: event.streamid, version: event.streamversion, event: JSON.stringify(event) };
}
