import { UnilogError } from '../../errors.ts';
import type { Position } from '../../log/eventLog.ts';
import { recordPosition } from './positions.ts';

/** One record of a PutRecords request, and its answer. */
export interface PutRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
}
export type PutRecordResult = { readonly shardId: string; readonly sequenceNumber: string } | { readonly errorCode: string; readonly errorMessage: string };

/** Kinesis limits of one PutRecords request. */
export const maxRecordsPerRequest = 500;
export const maxBytesPerRequest = 5 * 1024 * 1024;

/** How failed records are retried. */
export interface RetryOptions {
  /** Attempts per record, the first included. @default 8 */
  readonly maxAttempts?: number;
  /** The first backoff; it doubles per failed round, with full jitter. @default 100 */
  readonly baseDelayMs?: number;
  /** The largest backoff. @default 5000 */
  readonly maxDelayMs?: number;
}

interface PendingRecord {
  readonly call: PendingCall;
  readonly index: number;
  readonly record: PutRecord;
  readonly bytes: number;
  attempts: number;
  lastError: string;
}

interface PendingCall {
  readonly positions: (Position | undefined)[];
  readonly unwritten: number[];
  remaining: number;
  failure: { reason: string; cause?: unknown } | undefined;
  resolve(positions: Position[]): void;
  reject(error: unknown): void;
}

/**
 * Writes records with PutRecords, at most one record per partition key in flight: Kinesis keeps a key's order
 * only if its later record is sent after its earlier one is in, since a request's records fail independently.
 * Concurrent appends share requests; a failed record is retried with backoff and holds back only its own key.
 */
export class KinesisAppender {
  /** Pending records per partition key, in append order; Map order makes the keys take turns. */
  private readonly queues = new Map<string, PendingRecord[]>();
  private pumping: Promise<void> | undefined;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly streamName: string,
    private readonly putRecords: (records: readonly PutRecord[]) => Promise<readonly PutRecordResult[]>,
    private readonly onWritten: (shardId: string, sequenceNumber: string) => void,
    retry: RetryOptions = {},
  ) {
    this.maxAttempts = retry.maxAttempts ?? 8;
    this.baseDelayMs = retry.baseDelayMs ?? 100;
    this.maxDelayMs = retry.maxDelayMs ?? 5000;
  }

  /** Queues the records of one append; resolves with their positions, in the order given. */
  append(records: readonly PutRecord[]): Promise<Position[]> {
    if (records.length === 0) return Promise.resolve([]);
    return new Promise<Position[]>((resolve, reject) => {
      const call: PendingCall = { positions: new Array<Position | undefined>(records.length), unwritten: [], remaining: records.length, failure: undefined, resolve, reject };
      records.forEach((record, index) => {
        const pending: PendingRecord = { call, index, record, bytes: record.data.byteLength + Buffer.byteLength(record.partitionKey), attempts: 0, lastError: '' };
        const queue = this.queues.get(record.partitionKey);
        if (queue) queue.push(pending);
        else this.queues.set(record.partitionKey, [pending]);
      });
      this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
    });
  }

  /** Resolves when every queued record is written or failed. */
  async idle(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  private async pump(): Promise<void> {
    let failedRounds = 0;
    while (this.queues.size > 0) {
      const batch = this.nextRequest();
      let results: readonly PutRecordResult[];
      try {
        results = await this.putRecords(batch.map((p) => p.record));
      } catch (cause) {
        // The SDK has already retried the whole request (its own retry strategy); what is left is not ours to retry.
        for (const pending of batch) this.fail(pending, (cause as Error).message, cause);
        continue;
      }
      let failed = false;
      for (const [i, pending] of batch.entries()) {
        const result = results[i];
        if (result && 'sequenceNumber' in result) {
          this.written(pending, result.shardId, result.sequenceNumber);
          continue;
        }
        failed = true;
        pending.attempts++;
        pending.lastError = result ? `${result.errorCode}: ${result.errorMessage}` : 'no result for the record';
        if (pending.attempts >= this.maxAttempts) this.fail(pending, `${pending.lastError} (after ${pending.attempts} attempts)`);
      }
      failedRounds = failed ? failedRounds + 1 : 0;
      if (failed && this.queues.size > 0) {
        const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (failedRounds - 1));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
      }
    }
  }

  /** The head record of each key, within the request limits. */
  private nextRequest(): PendingRecord[] {
    const batch: PendingRecord[] = [];
    let bytes = 0;
    for (const queue of this.queues.values()) {
      const head = queue[0];
      if (!head) continue;
      if (batch.length === maxRecordsPerRequest || (batch.length > 0 && bytes + head.bytes > maxBytesPerRequest)) break;
      batch.push(head);
      bytes += head.bytes;
    }
    return batch;
  }

  private written(pending: PendingRecord, shardId: string, sequenceNumber: string): void {
    this.shift(pending.record.partitionKey);
    this.onWritten(shardId, sequenceNumber);
    const { call } = pending;
    call.positions[pending.index] = recordPosition(shardId, sequenceNumber);
    call.remaining--;
    this.settle(call);
  }

  /** Gives up on a record and on the later records of its call with the same key, which must not overtake it. */
  private fail(pending: PendingRecord, reason: string, cause?: unknown): void {
    const { call } = pending;
    call.failure ??= cause === undefined ? { reason } : { reason, cause };
    const key = pending.record.partitionKey;
    const queue = this.queues.get(key) ?? [];
    const kept = queue.filter((p) => p !== pending && !(p.call === call && p.index > pending.index));
    for (const dropped of queue) {
      if (kept.includes(dropped)) continue;
      call.unwritten.push(dropped.index);
      call.remaining--;
    }
    if (kept.length > 0) this.queues.set(key, kept);
    else this.queues.delete(key);
    this.settle(call);
  }

  private shift(key: string): void {
    const queue = this.queues.get(key);
    queue?.shift();
    if (queue?.length === 0) this.queues.delete(key);
  }

  private settle(call: PendingCall): void {
    if (call.remaining > 0) return;
    if (call.failure === undefined) {
      call.resolve(call.positions as Position[]);
      return;
    }
    const total = call.positions.length;
    const unwritten = [...call.unwritten].sort((a, b) => a - b);
    call.reject(new UnilogError('AppendIncomplete', `Kinesis stream ${this.streamName} did not accept ${unwritten.length} of ${total} events (${call.failure.reason}); the others were written. Append the events at \`details.unwritten\` again, in order.`, {
      log: `kinesis:${this.streamName}`,
      total,
      unwritten,
      reason: call.failure.reason,
    }, { cause: call.failure.cause }));
  }
}
