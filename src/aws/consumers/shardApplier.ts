/**
 * Applies a Kinesis shard's records to a projection's view, effectively-once: the one definition used by the Lambda
 * handler and by the distributed workers.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isUnilogError, UnilogError } from '../../errors.ts';
import { createCatalog, type EventCatalog } from '../../events/catalog.ts';
import type { AnyEventDefinition } from '../../events/defineEvent.ts';
import type { EventEnvelope } from '../../events/envelope.ts';
import type { Position } from '../../log/eventLog.ts';
import { BatchTransaction } from '../../consumers/batchTransaction.ts';
import { backoffMs, defaultIsRetryable, type RetryPolicy } from '../../consumers/retry.ts';
import { RowCache } from '../../consumers/rowCache.ts';
import type { AnyProjection } from '../../views/defineProjection.ts';
import type { DeadLetter, DeadLetterAudit, ParkedEvent, ViewStorage, ViewStore } from '../../views/viewStore.ts';
import { compareSequences, formatCut, parseCut, recordPosition, type ShardCursor } from '../kinesis/positions.ts';

/** One record of a shard: its sequence number and its data (a unilog event envelope as JSON). */
export interface ShardRecord {
  readonly sequenceNumber: string;
  readonly data: Uint8Array;
}

/** Options of {@link createShardApplier}. */
export interface ShardApplierOptions {
  readonly projection: AnyProjection;
  readonly storage: ViewStorage;
  /** Upcasts events. @default a catalog of the projection's event definitions */
  readonly catalog?: EventCatalog;
  /** How a failing handler is retried before its event goes to the dead letters. @default { attempts: 3 } */
  readonly retry?: RetryPolicy;
  /** A poison event parks its key (later events of that key wait) or is skipped. @default 'park-key' */
  readonly onPoison?: 'park-key' | 'skip';
  /** How often a batch is redone when another shard's writer committed in between. @default 5 */
  readonly conflictAttempts?: number;
  /** Apply to this copy of the view (a rebuild) instead of the one serving reads. @default the current copy */
  readonly copy?: string;
}

/** What {@link ShardApplier.apply} did. */
export interface ShardApplyResult {
  /** The sequence number of the last record now applied (this call or before), or undefined when none ever was. */
  readonly last: string | undefined;
  /** The first record that is not a unilog event: nothing from it on was applied (only unilog should write to the stream). */
  readonly corrupt?: ShardRecord;
}

/** Applies shard records to one projection's view; its checkpoint is a cut holding every shard's last applied record. */
export interface ShardApplier {
  /** Where a shard's unapplied records start, from the view's checkpoint (undefined: at the shard's start). */
  cursor(shardId: string): Promise<ShardCursor | undefined>;
  /** Applies the records of one shard (in sequence order) that follow its checkpoint, with their changes and the checkpoint in one commit. */
  apply(shardId: string, records: readonly ShardRecord[]): Promise<ShardApplyResult>;
  /** Records that the shard is closed and every record of it applied, so its children may be read. */
  finish(shardId: string): Promise<void>;
}

type Handler = (event: EventEnvelope, view: unknown, context: { position: Position }) => void | Promise<void>;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The envelope in a record, or undefined when the data is not a unilog event. */
function decode(record: ShardRecord): EventEnvelope | undefined {
  try {
    const event: unknown = JSON.parse(decoder.decode(record.data));
    if (typeof event !== 'object' || event === null) return undefined;
    const { type, subject, id } = event as Record<string, unknown>;
    return typeof type === 'string' && typeof subject === 'string' && typeof id === 'string' ? (event as EventEnvelope) : undefined;
  } catch {
    return undefined;
  }
}

function describeError(error: unknown): DeadLetter['error'] {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { message: error.message, name: error.name, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { message: String(error), name: 'NonError' };
}

/** The copy of the view that Kinesis consumers build: a fixed name, so that the first writers of several shards agree on it. */
export const kinesisCopyName = (version: number): string => `kinesis-v${version}`;

/**
 * Creates the applier of a projection: each `apply` reads the view's checkpoint, applies the shard's records after
 * it with the projection's handlers, then commits the changes with the checkpoint advanced for that shard. Records
 * at or below the checkpoint are skipped, so a retried or duplicated batch changes nothing; writers of two shards that
 * commit at once conflict on the checkpoint, and the loser redoes its batch on the winner's rows.
 */
export function createShardApplier(options: ShardApplierOptions): ShardApplier {
  const { projection, storage } = options;
  const handlers = projection.handlers as Readonly<Record<string, Handler | undefined>>;
  const catalog = options.catalog ?? createCatalog(projection.events as readonly AnyEventDefinition[]);
  const retry = { attempts: 3, ...options.retry };
  const isRetryable = options.retry?.isRetryable ?? defaultIsRetryable;
  const conflictAttempts = options.conflictAttempts ?? 5;
  // A failed open is forgotten, so the next call opens again.
  let opening: Promise<ViewStore> | undefined;

  const openStore = (): Promise<ViewStore> =>
    (opening ??= (async () => {
      if (options.copy !== undefined) return storage.open(projection.name, options.copy, projection.layout);
      let copy = await storage.current(projection.name);
      if (copy === undefined) {
        copy = kinesisCopyName(projection.version);
        const store = await storage.open(projection.name, copy, projection.layout);
        await storage.setCurrent(projection.name, copy);
        return store;
      }
      return storage.open(projection.name, copy, projection.layout);
    })().catch((error: unknown) => {
      opening = undefined;
      throw error;
    }));

  /** The checkpoint's cut, after checking the view was built by this projection version. */
  const readCut = async (store: ViewStore) => {
    // Read every time: it refreshes the checkpoint a DynamoDB store conditions its commit on.
    const checkpoint = await store.checkpoint();
    if (checkpoint !== undefined && checkpoint.version !== projection.version) {
      throw new UnilogError('InvalidArgument', `The view of ${projection.name} was built by version ${checkpoint.version}, not ${projection.version}: rebuild the view before deploying the new handlers.`, { argument: 'projection.version', reason: 'version mismatch' });
    }
    return new Map(parseCut(checkpoint?.position ?? formatCut(new Map())));
  };

  /** Applies one event inside the batch, with retries; false when it is poison. */
  const applyEvent = async (handler: Handler, event: EventEnvelope, position: Position, tx: BatchTransaction, view: unknown): Promise<{ ok: true } | { ok: false; error: unknown; attempts: number }> => {
    for (let attempt = 1; ; attempt++) {
      tx.beginEvent();
      try {
        await handler(event, view, { position });
        tx.commitEvent();
        return { ok: true };
      } catch (error) {
        tx.rollbackEvent();
        if (!isRetryable(error) || attempt >= retry.attempts) return { ok: false, error, attempts: attempt };
        await sleep(backoffMs(attempt, retry));
      }
    }
  };

  /** One try: reads the checkpoint, applies the records after it, commits. */
  const tryApply = async (shardId: string, records: readonly ShardRecord[]): Promise<ShardApplyResult> => {
    const store = await openStore();
    const cut = await readCut(store);
    const cursor = cut.get(shardId);
    if (cursor?.kind === 'end') return { last: records.at(-1)?.sequenceNumber };
    const done = cursor?.kind === 'after' ? cursor.sequence : undefined;
    const pending = done === undefined ? records : records.filter((r) => compareSequences(r.sequenceNumber, done) > 0);
    if (pending.length === 0) return { last: done };

    const parked = options.onPoison === 'skip' ? new Set<string>() : new Set((await store.deadLetters()).filter((d) => d.mode === 'parked').map((d) => d.event.subject));
    const tx = new BatchTransaction(store, projection.layout, new RowCache());
    const view = tx.view();
    const deadLetters: DeadLetter[] = [];
    const parkedEvents: ParkedEvent[] = [];
    const audit: DeadLetterAudit[] = [];
    const poison = (position: Position, event: EventEnvelope, error: unknown, attempts: number) => {
      const mode = options.onPoison === 'skip' ? 'skipped' : 'parked';
      const at = new Date().toISOString();
      deadLetters.push({ position, event, error: describeError(error), attempts, at, mode });
      audit.push({ at, position, action: 'dead-lettered', detail: `${describeError(error).message} (after ${attempts} attempt(s); key ${event.subject} ${mode})` });
      if (mode === 'parked') parked.add(event.subject);
    };
    let last: string | undefined;
    let corrupt: ShardRecord | undefined;
    for (const record of pending) {
      const stored = decode(record);
      // Not a unilog event, so not a dead letter: it stops the shard here (for Lambda's retries and on-failure destination).
      if (stored === undefined) {
        corrupt = record;
        break;
      }
      last = record.sequenceNumber;
      const position = recordPosition(shardId, last);
      let event: EventEnvelope;
      try {
        event = catalog.upcast(stored);
      } catch (error) {
        poison(position, stored, error, 1);
        continue;
      }
      const handler = handlers[event.type];
      if (!handler) continue;
      if (parked.has(event.subject)) {
        parkedEvents.push({ position, event });
        audit.push({ at: new Date().toISOString(), position, action: 'parked', detail: `key ${event.subject} is parked behind a dead letter` });
        continue;
      }
      const outcome = await applyEvent(handler, event, position, tx, view);
      if (!outcome.ok) poison(position, event, outcome.error, outcome.attempts);
    }
    if (last !== undefined) {
      cut.set(shardId, { kind: 'after', sequence: last });
      await store.commit({ rows: tx.changes(), deadLetters: { add: deadLetters }, parked: { add: parkedEvents }, audit }, { position: formatCut(cut), version: projection.version });
    }
    return corrupt === undefined ? { last: last ?? done } : { last: last ?? done, corrupt };
  };

  // One try at a time in this process: a try's commit is conditioned on the checkpoint the store read in that try,
  // and the store keeps one (tries of two shards interleaving would condition one on the other's commit).
  let lock: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(attempt: () => Promise<T>): Promise<T> => {
    const run = lock.then(attempt);
    lock = run.catch(() => undefined);
    return run;
  };

  /** Redoes `attempt` while another process's writer wins the checkpoint. */
  const withConflictRetries = async <T>(attempt: () => Promise<T>): Promise<T> => {
    for (let i = 1; ; i++) {
      try {
        return await exclusive(attempt);
      } catch (error) {
        // The checkpoint holds every shard, so writers of two shards race for it: the loser redoes its batch on the
        // rows the winner wrote. Any other error (the store is down, say) is the caller's.
        if (isUnilogError(error, 'CheckpointConflict') && i < conflictAttempts) {
          await sleep(backoffMs(i, { initialDelayMs: 20 }));
          continue;
        }
        throw error;
      }
    }
  };

  return {
    cursor: (shardId) => exclusive(async () => (await readCut(await openStore())).get(shardId)),
    apply: (shardId, records) => withConflictRetries(() => tryApply(shardId, records)),
    finish: (shardId) =>
      withConflictRetries(async () => {
        const store = await openStore();
        const cut = await readCut(store);
        if (cut.get(shardId)?.kind === 'end') return;
        cut.set(shardId, { kind: 'end' });
        await store.commit({ rows: [] }, { position: formatCut(cut), version: projection.version });
      }),
  };
}
