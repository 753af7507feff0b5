import { UnilogError } from '../../errors.ts';
import type { EventEnvelope } from '../../events/envelope.ts';
import { findNonJsonValue, isJsonChecked } from '../../events/jsonValue.ts';

/** The default maximum size of one serialized event: 1 MiB, the Kinesis record limit. */
export const defaultMaxEventBytes = 1024 * 1024;

/**
 * Serializes each envelope to JSON and enforces the size limit, before anything is written.
 * Throws `EventNotSerializable`, `EventTooLarge` or `InvalidArgument`, naming the event's index in the batch.
 */
export function serializeEvents(events: readonly EventEnvelope[], maxEventBytes: number): string[] {
  if (!Array.isArray(events)) {
    throw new UnilogError('InvalidArgument', 'append takes an array of envelopes.', { argument: 'events', reason: 'not an array' });
  }
  const out = new Array<string>(events.length);
  const checked = isJsonChecked(events);
  for (let index = 0; index < events.length; index++) {
    const event = events[index] as EventEnvelope | null;
    // The port is typed, but raw appends from JavaScript must still not store an event without routing fields.
    if (typeof event !== 'object' || event === null || typeof event.id !== 'string' || typeof event.type !== 'string' || typeof event.subject !== 'string' || event.subject === '') {
      throw new UnilogError('InvalidArgument', `Event ${index} of the batch is not an envelope with string id, type and subject: publish through createPublisher, which builds envelopes.`, {
        argument: `events[${index}]`,
        reason: 'not an envelope',
      });
    }
    // Stored events must read back exactly as appended, so values JSON would silently change are refused.
    const notJson = checked ? undefined : findNonJsonValue(event);
    if (notJson) {
      throw new UnilogError('EventNotSerializable', `Event ${index} (${event.type}) cannot be stored as JSON: ${notJson.reason} at ${notJson.path.join('.') || '(root)'}.`, { ...notJson, index });
    }
    let json: string;
    try {
      json = JSON.stringify(event);
    } catch (cause) {
      throw new UnilogError('EventNotSerializable', `Event ${index} (${event.type}) cannot be written as JSON: ${(cause as Error).message}.`, {
        path: [],
        reason: (cause as Error).message,
        index,
      }, { cause });
    }
    // A UTF-8 byte is at least one UTF-16 unit and at most three, so the exact count is needed only near the limit.
    if (json.length * 3 > maxEventBytes) {
      const bytes = Buffer.byteLength(json);
      if (bytes > maxEventBytes) {
        throw new UnilogError('EventTooLarge', `Event ${index} (${event.type}) is ${bytes} bytes as JSON, over the limit of ${maxEventBytes}: store large content elsewhere (S3, a file) and put its address in the event.`, {
          bytes,
          limit: maxEventBytes,
          index,
          type: event.type,
        });
      }
    }
    out[index] = json;
  }
  return out;
}
