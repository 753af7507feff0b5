import { isUnilogError, type ErrorCode, type ValidationIssue } from '../errors.ts';

/** An RFC 9457 problem document, as every error response carries it (`application/problem+json`). */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** The stable unilog error code (see docs/errors.md). */
  readonly code: ErrorCode | 'InternalError';
  /** Every validation problem, for 400s about event data. */
  readonly issues?: readonly ValidationIssue[];
  readonly details?: unknown;
}

/** The HTTP status of each error code the service can answer with. */
const statusOf: Partial<Record<ErrorCode, number>> = {
  SchemaViolation: 400,
  UnknownEventType: 400,
  UnknownEventVersion: 400,
  EventNotSerializable: 400,
  InvalidPartitionKey: 400,
  InvalidPosition: 400,
  InvalidArgument: 400,
  InvalidRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  ConsumerNotFound: 404,
  DeadLetterNotFound: 404,
  RequestTimeout: 408,
  EventTooLarge: 413,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  Overloaded: 429,
  WaitTimedOut: 504,
  LogWriteFailed: 503,
  LogClosed: 503,
  ConsumerStopped: 503,
  ServiceUnavailable: 503,
};

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The problem document for an error; unexpected errors become a 500 that names no internals. */
export function problemOf(error: unknown): Problem {
  if (isUnilogError(error)) {
    const status = statusOf[error.code] ?? 500;
    // Server-side failures name files and folders: the client gets the code, the service's log gets the rest.
    if (status >= 500 && status !== 503) return internalProblem(error.code);
    if (status === 503 && error.code !== 'Overloaded') {
      return { type: `https://unilog.dev/problems/${error.code}`, title: titles[503] as string, status, detail: 'The service cannot take this request now: retry later; its log says why.', code: error.code };
    }
    const details = error.details as { issues?: readonly ValidationIssue[] } & Record<string, unknown>;
    return {
      type: `https://unilog.dev/problems/${error.code}`,
      title: titles[status] ?? 'Error',
      status,
      detail: error.message,
      code: error.code,
      ...(details.issues === undefined ? {} : { issues: details.issues }),
      details: error.details,
    };
  }
  return internalProblem('InternalError');
}

function internalProblem(code: Problem['code']): Problem {
  return { type: `https://unilog.dev/problems/${code}`, title: titles[500] as string, status: 500, detail: 'The service failed unexpectedly; its log has the cause.', code };
}
