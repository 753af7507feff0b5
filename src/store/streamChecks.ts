import { UnilogError } from '../errors.ts';
import type { AnyEventDefinition } from '../events/defineEvent.ts';
import type { EventEnvelope } from '../events/envelope.ts';
import type { Publisher, PublishItemShape } from '../events/publisher.ts';
import type { ExpectedVersion, StreamEventInput } from './eventStore.ts';

/** The longest stream id (Kinesis partition keys and DynamoDB keys both fit). */
export const maxStreamIdLength = 256;

/** Whether a stream at version `actual` meets `expected`. */
export function meetsExpectedVersion(expected: ExpectedVersion, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === 0;
  if (expected === 'stream_exists') return actual > 0;
  return expected === actual;
}

/** An `expectedVersion` from a caller, checked: a version (0 or more), `no_stream`, `stream_exists` or `any`. */
export function checkExpectedVersion(expected: unknown): ExpectedVersion {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return expected;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) return expected;
  throw new UnilogError('InvalidArgument', `expectedVersion must be a version (0 or more), 'no_stream', 'stream_exists' or 'any', not ${JSON.stringify(expected)}.`, { argument: 'expectedVersion', reason: 'invalid' });
}

/** A stream id from a caller, checked: 1 to {@link maxStreamIdLength} characters. */
export function checkStreamId(streamId: unknown): string {
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > maxStreamIdLength) {
    throw new UnilogError('InvalidStreamId', `A stream id is a string of 1 to ${maxStreamIdLength} characters, such as "product-p1", not ${JSON.stringify(streamId)}.`, { streamId });
  }
  return streamId;
}

/**
 * Checks an append's arguments and builds its envelopes: the stream id is every event's partition key, so a
 * stream's events keep their order on per-key logs too. Throws before anything is written.
 */
export function prepareStreamAppend<TDefs extends AnyEventDefinition>(
  publisher: Publisher<TDefs>,
  streamId: string,
  events: readonly StreamEventInput<TDefs>[],
  expectedVersion: unknown,
): { readonly expected: ExpectedVersion; readonly envelopes: EventEnvelope[] } {
  checkStreamId(streamId);
  const expected = checkExpectedVersion(expectedVersion ?? 'any');
  if (!Array.isArray(events) || events.length === 0) throw new UnilogError('InvalidArgument', 'appendToStream needs at least one event.', { argument: 'events', reason: 'empty' });
  // One object shape for every item (undefined where not given, which the publisher treats as absent): a spread
  // makes a new hidden class per combination of fields, and costs about a quarter of a store's appends.
  const items = events.map((event) => {
    const { type, data, id, correlationId, causationId, causedBy } = event as PublishItemShape;
    return { type, data, key: streamId, id, correlationId, causationId, causedBy } as PublishItemShape;
  });
  return { expected, envelopes: publisher.prepare(items, { batch: events.length > 1 }) };
}
