import { isUnilogError, UnilogError } from '../errors.ts';

/** How a consumer retries a failing handler before it treats the event as poison. */
export interface RetryPolicy {
  /** Tries in all, the first included. @default 3 */
  readonly attempts?: number;
  /** The wait before the second try; it doubles each time, with jitter. @default 10 */
  readonly initialDelayMs?: number;
  /** @default 1000 */
  readonly maxDelayMs?: number;
  /** Whether an error may go away on a retry. @default every error but `permanentError`s and programming errors */
  readonly isRetryable?: (error: unknown) => boolean;
}

/** Marks a handler failure as permanent: the event goes to the dead letters without retries. */
export function permanentError(reason: string, cause?: unknown): UnilogError<'HandlerRejected'> {
  return new UnilogError('HandlerRejected', reason, { reason }, cause === undefined ? undefined : { cause });
}

/** The default: programming errors (TypeError, RangeError, …) and permanent errors will not pass on a retry. */
export function defaultIsRetryable(error: unknown): boolean {
  if (isUnilogError(error, 'HandlerRejected') || isUnilogError(error, 'UpcastFailed')) return false;
  return !(error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError || error instanceof ReferenceError);
}

/** The wait before try `attempt + 1`: exponential, capped, with full jitter so that retries do not align. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const initial = policy.initialDelayMs ?? 10;
  const cap = Math.min(policy.maxDelayMs ?? 1000, initial * 2 ** (attempt - 1));
  return Math.round(cap / 2 + random() * (cap / 2));
}
