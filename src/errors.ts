/**
 * The one error class of unilog: a closed set of string codes, typed details per code and a structural guard.
 * @see docs/errors.md
 * @module
 */

/** One problem found while validating an event, as data: where it is and what is wrong. */
export interface ValidationIssue {
  /** Index of the event in its batch, when the event came in a batch. */
  readonly index?: number;
  /** Path inside the event's data (or `['key']`, `['type']`) that the problem is at. */
  readonly path: readonly (string | number)[];
  /** zod's issue code (`invalid_type`, `unrecognized_keys`, …) or unilog's own (`not_json`). */
  readonly code: string;
  /** A human-readable description of the problem. */
  readonly message: string;
}

/** The details each error code carries; the keys are the closed set of codes. */
export interface ErrorDetailsByCode {
  SchemaViolation: { readonly type: string; readonly version: number; readonly issues: readonly ValidationIssue[] };
  UnknownEventType: { readonly type: string; readonly index?: number; readonly known: readonly string[]; readonly issues?: readonly ValidationIssue[] };
  UnknownEventVersion: { readonly type: string; readonly version: number; readonly known: readonly number[]; readonly index?: number };
  EventTooLarge: { readonly bytes: number; readonly limit: number; readonly index?: number; readonly type?: string };
  EventNotSerializable: { readonly path: readonly (string | number)[]; readonly reason: string; readonly index?: number };
  InvalidPartitionKey: { readonly type: string; readonly key: unknown; readonly index?: number };
  InvalidEventDefinition: { readonly type: string; readonly reason: string };
  UpcastFailed: { readonly type: string; readonly fromVersion: number; readonly id: string };
  InvalidPosition: { readonly position: unknown };
  LogCorrupted: { readonly segment: string; readonly offset: number; readonly reason: string };
  LogLocked: { readonly dir: string; readonly pid: number };
  LogNotFound: { readonly dir: string };
  LogClosed: Record<string, never>;
  LogWriteFailed: { readonly dir: string };
  AppendIncomplete: { readonly log: string; readonly total: number; readonly unwritten: readonly number[]; readonly reason: string };
  ConfigNotFound: { readonly searched: readonly string[] };
  ConfigInvalid: { readonly file: string; readonly reason: string };
  InvalidArgument: { readonly argument: string; readonly reason: string };
  InvalidProjection: { readonly name: string; readonly reason: string };
  HandlerRejected: { readonly reason: string };
  DeadLetterNotFound: { readonly consumer: string; readonly position: string };
  WaitTimedOut: { readonly consumer: string; readonly position: string; readonly processed: string; readonly timeoutMs: number };
  ConsumerStopped: { readonly consumer: string };
  ConsumerNotFound: { readonly consumer: string; readonly known: readonly string[] };
  InvalidRequest: { readonly reason: string; readonly issues?: readonly ValidationIssue[] };
  Unauthorized: { readonly reason: string };
  Forbidden: { readonly producer: string; readonly reason: string; readonly type?: string };
  NotFound: { readonly path: string };
  PayloadTooLarge: { readonly limit: number; readonly what: string };
  UnsupportedMediaType: { readonly contentType: string };
  Overloaded: { readonly queued: number; readonly limit: number; readonly retryAfterSeconds: number };
  RequestTimeout: { readonly timeoutMs: number };
  KeyNotFound: { readonly id: string };
  NoApiKeys: { readonly dir: string };
  ServiceUnavailable: { readonly reason: string };
  CheckpointConflict: { readonly view: string; readonly expected: string | null };
  ConcurrencyConflict: { readonly streamId: string; readonly expected: number | 'no_stream' | 'stream_exists' | 'any'; readonly actual: number };
  InvalidStreamId: { readonly streamId: unknown };
}

/** Every unilog error code. */
export type ErrorCode = keyof ErrorDetailsByCode;

/** The details carried by errors of code `C`. */
export type ErrorDetails<C extends ErrorCode> = ErrorDetailsByCode[C];

const errorMarker = Symbol.for('unilog.error');

/** The one error class unilog throws; `code` says what went wrong, `details` carries the data for that code. */
export class UnilogError<C extends ErrorCode = ErrorCode> extends Error {
  /** Structural marker so that two copies of the package recognise each other's errors. */
  readonly [errorMarker] = true;
  override readonly name = 'UnilogError';

  constructor(
    readonly code: C,
    message: string,
    readonly details: ErrorDetails<C>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** A plain object for logs and JSON output: `{ code, message, details }`. */
  toJSON(): { code: C; message: string; details: ErrorDetails<C> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** True when `error` is a unilog error (of `code`, when given); checks structure, not `instanceof`. */
export function isUnilogError<C extends ErrorCode>(error: unknown, code?: C): error is UnilogError<C> {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { [errorMarker]?: unknown; code?: unknown };
  if (candidate[errorMarker] !== true || typeof candidate.code !== 'string') return false;
  return code === undefined || candidate.code === code;
}

// A record keyed by every code: adding a code to ErrorDetailsByCode without listing it here fails to compile.
const everyCode: Record<ErrorCode, true> = {
  SchemaViolation: true,
  UnknownEventType: true,
  UnknownEventVersion: true,
  EventTooLarge: true,
  EventNotSerializable: true,
  InvalidPartitionKey: true,
  InvalidEventDefinition: true,
  UpcastFailed: true,
  InvalidPosition: true,
  LogCorrupted: true,
  LogLocked: true,
  LogNotFound: true,
  LogClosed: true,
  LogWriteFailed: true,
  AppendIncomplete: true,
  ConfigNotFound: true,
  ConfigInvalid: true,
  InvalidArgument: true,
  InvalidProjection: true,
  HandlerRejected: true,
  DeadLetterNotFound: true,
  WaitTimedOut: true,
  ConsumerStopped: true,
  ConsumerNotFound: true,
  InvalidRequest: true,
  Unauthorized: true,
  Forbidden: true,
  NotFound: true,
  PayloadTooLarge: true,
  UnsupportedMediaType: true,
  Overloaded: true,
  RequestTimeout: true,
  KeyNotFound: true,
  NoApiKeys: true,
  ServiceUnavailable: true,
  CheckpointConflict: true,
  ConcurrencyConflict: true,
  InvalidStreamId: true,
};

/** Every error code, for docs and exhaustive tests. */
export const errorCodes = Object.freeze(Object.keys(everyCode)) as readonly ErrorCode[];
