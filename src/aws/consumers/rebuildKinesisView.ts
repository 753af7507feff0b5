/**
 * Rebuilds a projection's view from a per-shard log (the archived log, for history past the stream's retention, or
 * the Kinesis log itself) into a new copy, then makes that copy serve reads: workers and Lambda go on from its
 * checkpoint on the live stream.
 * @module
 */
import type { EventLog } from '../../log/eventLog.ts';
import { UnilogError } from '../../errors.ts';
import { parseCut } from '../kinesis/positions.ts';
import { createShardApplier, type ShardApplierOptions, type ShardRecord } from './shardApplier.ts';

/** Options of {@link rebuildKinesisView}. */
export interface RebuildKinesisViewOptions extends Omit<ShardApplierOptions, 'copy'> {
  /** Where the events come from: `createArchivedKinesisEventLog` (archive, then stream) or `createKinesisEventLog`. */
  readonly log: EventLog;
  /** The new copy's name. @default `kinesis-v<version>-<time>` */
  readonly copy?: string;
  /** Events per read. @default 1000 */
  readonly batchSize?: number;
  /** Told how many events have been applied, after every page. */
  readonly onProgress?: (applied: number) => void;
}

const encoder = new TextEncoder();

/**
 * Reads the whole log into a new copy of the view (each shard's events in order, committed with their cursor, so an
 * interrupted rebuild resumes where it stopped when given the same `copy`), then makes it the current copy in one
 * step. The copy's checkpoint is a Kinesis cut, so workers (`createKinesisWorker`) and the Lambda handler continue
 * from it on the live stream, with no gap and no event applied twice. Stop or redeploy them after the switch: a
 * running worker keeps writing the copy it opened.
 * @example const { copy } = await rebuildKinesisView({ projection: catalog, storage, log: createArchivedKinesisEventLog({ ... }) });
 */
export async function rebuildKinesisView(options: RebuildKinesisViewOptions): Promise<{ readonly copy: string; readonly events: number }> {
  const { projection, storage, log } = options;
  if (log.capabilities.ordering !== 'per-key') {
    throw new UnilogError('InvalidArgument', 'rebuildKinesisView reads a per-shard log (the Kinesis or archived log); for the file or memory log, use createConsumer(...).rebuild().', { argument: 'log', reason: 'not a per-shard log' });
  }
  const copy = options.copy ?? `kinesis-v${projection.version}-${Date.now().toString(36)}`;
  const applier = createShardApplier({ ...options, copy });
  // Opened first, so that even an empty log leaves a copy to switch to.
  await (await storage.open(projection.name, copy, projection.layout)).close();
  let applied = 0;
  for (let from: string | undefined; ;) {
    const page = await log.read({ ...(from === undefined ? {} : { from }), limit: options.batchSize ?? 1000 });
    if (page.events.length === 0) break;
    const byShard = new Map<string, ShardRecord[]>();
    for (const stored of page.events) {
      const [shardId, cursor] = [...parseCut(stored.position)][0] ?? [];
      if (shardId === undefined || cursor?.kind !== 'at') throw new UnilogError('InvalidPosition', `Event ${stored.event.id} has the position ${stored.position}, not one record's: read from a Kinesis or archived log.`, { position: stored.position });
      let records = byShard.get(shardId);
      if (!records) byShard.set(shardId, (records = []));
      records.push({ sequenceNumber: cursor.sequence, data: encoder.encode(JSON.stringify(stored.event)) });
    }
    for (const [shardId, records] of byShard) await applier.apply(shardId, records);
    applied += page.events.length;
    options.onProgress?.(applied);
    from = page.next;
  }
  // The switch: reads (and workers started from now on) use the rebuilt copy.
  await storage.setCurrent(projection.name, copy);
  return { copy, events: applied };
}
