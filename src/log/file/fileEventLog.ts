import { constants, openSync, readSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnilogError } from '../../errors.ts';
import type { EventEnvelope } from '../../events/envelope.ts';
import { defaultMaxEventBytes, serializeEvents } from '../embedded/encode.ts';
import { formatSequence, parseLimit, parseSequence, totalOrderPositions } from '../embedded/positions.ts';
import { AppendSignal, startSubscription } from '../embedded/subscription.ts';
import type { AppendResult, EventLog, ReadOptions, ReadResult, StoredEvent, SubscribeOptions, Subscription } from '../eventLog.ts';
import { checkHeader, crcMatches, encodeBatch, frameHeaderBytes, frameOverheadBytes, maxPosition } from './frame.ts';
import { closeFile, fdatasync, fsyncDirectory, ftruncate, openFile, readAt, writeAllAt } from './io.ts';
import { acquireWriterLock, type WriterLock } from './lock.ts';
import { findIntactFrameAfter, listSegmentBases, loadIndexFile, maxFramePayloadBytes, scanFrames, Segment, writeIndexFile, type IndexProblem } from './segment.ts';

/** Options of {@link openFileEventLog}. */
export interface FileEventLogOptions {
  /** The folder holding the log's segment files; created when missing (unless `readOnly`). */
  readonly dir: string;
  /** Open without the writer lock, for reading alongside a writer in another process. @default false */
  readonly readOnly?: boolean;
  /** The largest serialized event accepted, in bytes. @default 1048576 (1 MiB, the Kinesis record limit) */
  readonly maxEventBytes?: number;
  /** A segment is closed and a new one started once it would grow past this size. @default 67108864 (64 MiB) */
  readonly segmentBytes?: number;
  /** How often a read-only log looks for new events while a subscription waits. @default 50 */
  readonly pollIntervalMs?: number;
}

/** What opening the log found and mended. */
export interface FileLogOpenReport {
  /** Bytes cut from the end of the last segment: a write torn by a crash, never an acknowledged event. */
  readonly truncatedBytes: number;
  /** Where the cut was made, when one was. */
  readonly truncatedAt?: { readonly segment: string; readonly offset: number };
  /** Index files that were missing, damaged or stale and were rebuilt from their segments. */
  readonly rebuiltIndexes: readonly { readonly segment: string; readonly problem: IndexProblem }[];
}

/** The durable embedded event log. */
export interface FileEventLog extends EventLog {
  readonly dir: string;
  readonly readOnly: boolean;
  /** What opening found: torn tail cut, indexes rebuilt. */
  readonly openReport: FileLogOpenReport;
}

interface PendingAppend {
  readonly first: number;
  readonly count: number;
  readonly buffer: Buffer;
  readonly frameOffsets: Uint32Array;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
  /** Set once resolved, so a later failure in the same flush does not reject it too. */
  resolved?: boolean;
}

const defaultSegmentBytes = 64 * 1024 * 1024;
/** One append batch may not exceed this encoded size, so that a segment's offsets fit in 32 bits. */
const maxBatchBytes = 256 * 1024 * 1024;
const cursorCacheSize = 128;
/** Reads of at least this many events (pages of a replay or a subscription) read the next chunk ahead. */
const readAheadMinLimit = 256;
/** Every write is durable on return, as write + fdatasync, in one call to the thread pool instead of two. */
const writeFlags = constants.O_RDWR | constants.O_DSYNC;

/**
 * Opens (creating when needed) the durable file log in `dir`: one writer process, any number of readers.
 * A torn tail from a crash is cut; damage before the tail throws `LogCorrupted` until `unilog verify --repair`.
 * @example
 * const log = await openFileEventLog({ dir: '.unilog/log' });
 */
export async function openFileEventLog(options: FileEventLogOptions): Promise<FileEventLog> {
  const log = new FileLog(options);
  await log.open();
  return log;
}

/**
 * A synchronous reader of runs of events, when `log` is a file log opened by {@link openFileEventLog} (see
 * `readRunSync`); undefined for any other log. Internal: the file event store's stream reads use it.
 */
export function syncRunReader(log: EventLog): ((position: number, count: number) => StoredEvent[] | undefined) | undefined {
  return log instanceof FileLog ? (position, count) => log.readRunSync(position, count) : undefined;
}

class FileLog implements FileEventLog {
  readonly capabilities = { ordering: 'total', positions: totalOrderPositions } as const;
  readonly dir: string;
  readonly readOnly: boolean;
  openReport: FileLogOpenReport = { truncatedBytes: 0, rebuiltIndexes: [] };

  private readonly maxEventBytes: number;
  private readonly segmentBytes: number;
  private readonly pollIntervalMs: number;
  private segments: Segment[] = [];
  private lock: WriterLock | undefined;
  private writeFd: number | undefined;
  private nextPosition = 0;
  private queue: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;
  private failure: UnilogError | undefined;
  private closed = false;
  private readonly appended = new AppendSignal();
  private readonly subscriptions = new Set<Subscription>();
  /** Where the frame of a recently reached position starts, so that paging on needs no index search. */
  private readonly cursorCache = new Map<number, { segment: Segment; offset: number }>();
  /** The chunk after the last page read, being read for the next page (undefined when a read errs: read it again then). */
  private readAhead: { segment: Segment; offset: number; chunk: Buffer; bytes: Promise<number | undefined> } | undefined;
  /** The buffer of synchronous reads, kept between them (they cannot overlap). */
  private syncChunk = Buffer.allocUnsafe(64 * 1024);

  constructor(options: FileEventLogOptions) {
    this.dir = options.dir;
    this.readOnly = options.readOnly ?? false;
    this.maxEventBytes = options.maxEventBytes ?? defaultMaxEventBytes;
    this.segmentBytes = options.segmentBytes ?? defaultSegmentBytes;
    this.pollIntervalMs = options.pollIntervalMs ?? 50;
    if (!Number.isSafeInteger(this.maxEventBytes) || this.maxEventBytes < 1 || this.maxEventBytes > maxFramePayloadBytes) {
      throw new UnilogError('InvalidArgument', `maxEventBytes must be a whole number from 1 to ${maxFramePayloadBytes}.`, { argument: 'maxEventBytes', reason: 'out of range' });
    }
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1] as Segment;
  }

  async open(): Promise<void> {
    let bases: number[];
    try {
      if (!this.readOnly) await mkdir(this.dir, { recursive: true });
      bases = await listSegmentBases(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw this.notFound();
      throw error;
    }
    if (this.readOnly && bases.length === 0) throw this.notFound();
    if (!this.readOnly) this.lock = await acquireWriterLock(this.dir);
    try {
      if (bases.length === 0) {
        await closeFile(await openFile(new Segment(this.dir, 0).path, 'wx'));
        await fsyncDirectory(this.dir);
        bases = [0];
      }
      const rebuiltIndexes: { segment: string; problem: IndexProblem }[] = [];
      let expectedBase = bases[0] as number;
      for (let i = 0; i < bases.length; i++) {
        const segment = new Segment(this.dir, bases[i] as number);
        if (segment.base !== expectedBase) {
          throw corrupted(segment, 0, `segment starts at position ${segment.base} but the one before it ends at ${expectedBase}: a segment file is missing`);
        }
        if (i < bases.length - 1) {
          const problem = await this.loadSealed(segment);
          if (problem) rebuiltIndexes.push({ segment: segment.name, problem });
        } else {
          await this.loadLast(segment);
        }
        this.segments.push(segment);
        expectedBase = segment.endPosition;
      }
      this.openReport = { ...this.openReport, rebuiltIndexes };
      this.nextPosition = this.active.endPosition;
      if (!this.readOnly) this.writeFd = await openFile(this.active.path, writeFlags);
    } catch (error) {
      await this.releaseFiles();
      throw error;
    }
  }

  private notFound(): UnilogError {
    return new UnilogError('LogNotFound', `There is no event log in ${this.dir}: publish an event first, or pass the right --dir.`, { dir: this.dir });
  }

  /** A sealed segment was fsynced whole before the next one began, so any bad or short frame in it is damage. */
  private async loadSealed(segment: Segment): Promise<IndexProblem | undefined> {
    const size = (await stat(segment.path)).size;
    const problem = await loadIndexFile(segment, size);
    if (!problem) return undefined;
    const scan = await scanFrames(await this.readFdOf(segment), segment, { startOffset: 0, startPosition: segment.base, until: size, verify: true });
    if (scan.stop) throw corrupted(segment, scan.stop.offset, scan.stop.reason);
    if (scan.batchEndOffset !== size) throw corrupted(segment, scan.batchEndOffset, 'the last batch of a closed segment has no end');
    segment.endOffset = size;
    segment.endPosition = scan.batchEndPosition;
    if (!this.readOnly) await writeIndexFile(segment);
    return problem;
  }

  /** The last segment may end in a torn write: find the last whole batch, and cut the rest when writing. */
  private async loadLast(segment: Segment): Promise<void> {
    const size = (await stat(segment.path)).size;
    await this.extend(segment, size);
    if (this.readOnly || segment.endOffset === size) return;
    const fd = await openFile(segment.path, 'r+');
    try {
      await ftruncate(fd, segment.endOffset);
      await fdatasync(fd);
    } finally {
      await closeFile(fd);
    }
    this.openReport = { ...this.openReport, truncatedBytes: size - segment.endOffset, truncatedAt: { segment: segment.name, offset: segment.endOffset } };
  }

  /** Takes in the whole batches between the segment's known end and `size`; damage followed by intact records is corruption. */
  private async extend(segment: Segment, size: number): Promise<void> {
    if (size <= segment.endOffset) return;
    const fd = await this.readFdOf(segment);
    const scan = await scanFrames(fd, segment, { startOffset: segment.endOffset, startPosition: segment.endPosition, until: size, verify: true });
    if (scan.stop && (await findIntactFrameAfter(fd, scan.stop.offset + 1, size)) !== undefined) {
      throw corrupted(segment, scan.stop.offset, `${scan.stop.reason}, with intact records after it`);
    }
    segment.index.truncate(scan.batchEndOffset);
    segment.endOffset = scan.batchEndOffset;
    segment.endPosition = scan.batchEndPosition;
  }

  /** For a read-only log: take in what the writer has added since, including new segments. */
  private async refresh(): Promise<void> {
    for (;;) {
      const last = this.active;
      await this.extend(last, (await stat(last.path)).size);
      const bases = await listSegmentBases(this.dir);
      const newer = bases.filter((base) => base > last.base);
      if (newer.length === 0) return;
      // The writer seals a segment before starting the next: read the sealed one to its end first.
      await this.extend(last, (await stat(last.path)).size);
      if (newer[0] !== last.endPosition) return;
      this.segments.push(new Segment(this.dir, newer[0]));
    }
  }

  private async readFdOf(segment: Segment): Promise<number> {
    if (segment.readFd !== undefined) return segment.readFd;
    const fd = await openFile(segment.path, 'r');
    // Another read (or a synchronous one) may have opened it meanwhile: keep one descriptor.
    const meanwhile = segment.readFd as number | undefined;
    if (meanwhile === undefined) {
      segment.readFd = fd;
      return fd;
    }
    await closeFile(fd);
    return meanwhile;
  }

  private assertWritable(): void {
    if (this.closed) throw new UnilogError('LogClosed', 'The event log is closed: open it again to append.', {});
    if (this.readOnly) throw new UnilogError('InvalidArgument', 'This log was opened read-only: open it without readOnly to append.', { argument: 'readOnly', reason: 'read-only log' });
    if (this.failure) throw this.failure;
  }

  /** Queues the batch for the next group commit; resolves after its fdatasync. */
  async append(events: readonly EventEnvelope[]): Promise<AppendResult> {
    this.assertWritable();
    const jsons = serializeEvents(events, this.maxEventBytes);
    if (jsons.length === 0) return { positions: [] };
    const first = this.nextPosition;
    if (first + jsons.length > maxPosition) throw new UnilogError('InvalidArgument', 'The log has reached its largest position (2^48 - 1).', { argument: 'events', reason: 'log full' });
    const { buffer, frameOffsets } = encodeBatch(jsons, first);
    if (buffer.length > maxBatchBytes) {
      throw new UnilogError('InvalidArgument', `The batch is ${buffer.length} bytes, over ${maxBatchBytes}: append it in smaller batches.`, { argument: 'events', reason: 'batch too large' });
    }
    this.nextPosition += jsons.length;
    return new Promise((resolve, reject) => {
      this.queue.push({ first, count: jsons.length, buffer, frameOffsets, resolve, reject });
      // Started after the current synchronous code, so that appends made with this one share its write; appends
      // made while a write is in flight wait for it and share the next one.
      this.flushing ??= new Promise<void>((done) => { queueMicrotask(() => void this.flushLoop().finally(done)); });
    });
  }

  /** Group commit: every append queued while the previous write was syncing goes out in one write and one fdatasync. */
  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const items = this.queue;
        this.queue = [];
        try {
          await this.writeGroup(items);
        } catch (cause) {
          // Positions after the failed write were promised to queued appends; the only safe course is to stop writing.
          this.failure = new UnilogError('LogWriteFailed', `Writing to the log in ${this.dir} failed (${(cause as Error).message}): the log accepts no more appends; reopen it to recover.`, { dir: this.dir }, { cause });
          for (const item of [...items, ...this.queue]) if (!item.resolved) item.reject(this.failure);
          this.queue = [];
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeGroup(items: PendingAppend[]): Promise<void> {
    let i = 0;
    while (i < items.length) {
      if (this.active.endOffset > 0 && this.active.endOffset + (items[i] as PendingAppend).buffer.length > this.segmentBytes) await this.roll();
      const segment = this.active;
      let bytes = 0;
      let j = i;
      do {
        bytes += (items[j] as PendingAppend).buffer.length;
        j++;
      } while (j < items.length && segment.endOffset + bytes + (items[j] as PendingAppend).buffer.length <= this.segmentBytes);
      const group = items.slice(i, j);
      // The descriptor is O_DSYNC: the write returns once the bytes (and the file size) are durable.
      await writeAllAt(this.writeFd as number, group.map((item) => item.buffer), segment.endOffset);
      let offset = segment.endOffset;
      for (const item of group) {
        for (let k = 0; k < item.count; k++) segment.index.add(item.first + k, offset + (item.frameOffsets[k] as number));
        offset += item.buffer.length;
      }
      const last = group[group.length - 1] as PendingAppend;
      segment.endOffset = offset;
      segment.endPosition = last.first + last.count;
      for (const item of group) {
        item.resolved = true;
        item.resolve({ positions: Array.from({ length: item.count }, (_, k) => formatSequence(item.first + k)) });
      }
      this.appended.notify();
      i = j;
    }
  }

  /** Seals the active segment (already fsynced) and starts the next; the directory entry is fsynced before use. */
  private async roll(): Promise<void> {
    const sealed = this.active;
    await writeIndexFile(sealed);
    await closeFile(this.writeFd as number);
    this.writeFd = undefined;
    const next = new Segment(this.dir, sealed.endPosition);
    this.writeFd = await openFile(next.path, writeFlags | constants.O_CREAT | constants.O_EXCL);
    await fsyncDirectory(this.dir);
    this.segments.push(next);
  }

  async read(options: ReadOptions = {}): Promise<ReadResult> {
    if (this.closed) throw new UnilogError('LogClosed', 'The event log is closed: open it again to read.', {});
    const from = parseSequence(options.from);
    const limit = parseLimit(options.limit);
    if (this.readOnly && from >= this.active.endPosition) await this.refresh();
    const events: StoredEvent[] = [];
    let position = from;
    let index = this.segmentIndexOf(position);
    while (events.length < limit && index >= 0 && index < this.segments.length) {
      const segment = this.segments[index] as Segment;
      if (position >= segment.endPosition) {
        index++;
        continue;
      }
      const start = this.cursorOf(segment, position);
      const end = await this.readFrames(segment, start.offset, start.position, position, limit, events);
      position = end.position;
      this.rememberCursor(position, segment, end.offset);
    }
    return { events, next: formatSequence(Math.max(from, position)) };
  }

  /**
   * Reads `count` events from position `from` synchronously, from the OS page cache as a rule: for the event store,
   * whose stream reads fetch many short runs scattered over the log (one `read` each would cost a thread-pool round
   * trip per run). It blocks like the SQLite reads it replaces. Returns undefined when the run is not all below the
   * end this log knows (a read-only log behind its writer): use `read` then.
   */
  readRunSync(from: number, count: number): StoredEvent[] | undefined {
    if (this.closed) throw new UnilogError('LogClosed', 'The event log is closed: open it again to read.', {});
    if (!Number.isSafeInteger(from) || from < 0 || !Number.isSafeInteger(count) || count < 1 || from + count > this.active.endPosition) return undefined;
    const events: StoredEvent[] = [];
    let position = from;
    let index = this.segmentIndexOf(position);
    while (events.length < count && index >= 0 && index < this.segments.length) {
      const segment = this.segments[index] as Segment;
      if (position >= segment.endPosition) {
        index++;
        continue;
      }
      const start = this.cursorOf(segment, position);
      segment.readFd ??= openSync(segment.path, 'r');
      const fd = segment.readFd;
      const until = segment.endOffset;
      let offset = start.offset;
      let at = start.position;
      let chunk = this.syncChunk;
      let want = chunkBytesFor(count - events.length + at - position, until - offset, 4096);
      while (offset < until && events.length < count) {
        if (want > chunk.length) chunk = this.syncChunk = Buffer.allocUnsafe(want);
        const bytes = readSync(fd, chunk, 0, Math.min(want, until - offset), offset);
        const walk = walkFrames(segment, chunk, bytes, offset, until, at, position, count, events);
        offset += walk.at;
        at = walk.position;
        want = Math.max(walk.needed, chunkBytesFor(count - events.length, until - offset, 4096));
        if (walk.needed > 0 && offset + walk.needed > until) throw corrupted(segment, offset, 'record cut short before the end of the log');
      }
      position = at;
      this.rememberCursor(position, segment, offset);
    }
    return events;
  }

  /** Where to start walking to `position` in `segment`: a remembered cursor, else the sparse index's entry before it. */
  private cursorOf(segment: Segment, position: number): { position: number; offset: number } {
    const cached = this.cursorCache.get(position);
    return cached?.segment === segment ? { position, offset: cached.offset } : (segment.index.floor(position) ?? { position: segment.base, offset: 0 });
  }

  /**
   * The read loop: walks frames of one segment from `offset` (the frame of `position`) with {@link walkFrames}, and
   * collects those from `from` on until `limit`.
   */
  private async readFrames(segment: Segment, offset: number, position: number, from: number, limit: number, events: StoredEvent[]): Promise<{ offset: number; position: number }> {
    const fd = await this.readFdOf(segment);
    const until = segment.endOffset;
    let chunk: Buffer;
    let ahead: Promise<number | undefined> | undefined;
    if (this.readAhead?.segment === segment && this.readAhead.offset === offset) {
      ({ chunk, bytes: ahead } = this.readAhead);
      this.readAhead = undefined;
    } else {
      chunk = Buffer.allocUnsafe(chunkBytesFor(limit - events.length + position - from, until - offset, 64 * 1024));
    }
    while (offset < until && events.length < limit) {
      const early = ahead ? await ahead : undefined;
      ahead = undefined;
      const bytes = early ?? (await readAt(fd, chunk, Math.min(chunk.length, until - offset), offset));
      const walk = walkFrames(segment, chunk, bytes, offset, until, position, from, limit, events);
      offset += walk.at;
      position = walk.position;
      if (walk.needed > 0 && offset + walk.needed > until) throw corrupted(segment, offset, 'record cut short before the end of the log');
      if (walk.needed > chunk.length) chunk = Buffer.allocUnsafe(walk.needed);
    }
    // A reader paging through the log asks for what follows next: read it now, into the chunk just parsed (its
    // events are copies), while the caller works on this page. Any other read simply does not use it.
    if (limit >= readAheadMinLimit && offset < until) {
      const next = chunk;
      this.readAhead = { segment, offset, chunk: next, bytes: readAt(fd, next, Math.min(next.length, until - offset), offset).catch(() => undefined) };
    }
    return { offset, position };
  }

  private rememberCursor(position: number, segment: Segment, offset: number): void {
    this.cursorCache.delete(position);
    this.cursorCache.set(position, { segment, offset });
    if (this.cursorCache.size > cursorCacheSize) this.cursorCache.delete(this.cursorCache.keys().next().value as number);
  }

  /** The index in `segments` of the segment holding `position`: the last one whose base is not above it. */
  private segmentIndexOf(position: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.segments[mid] as Segment).base <= position) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  subscribe(options: SubscribeOptions): Subscription {
    if (this.closed) throw new UnilogError('LogClosed', 'The event log is closed: open it again to subscribe.', {});
    const start = formatSequence(parseSequence(options.from));
    const subscription = startSubscription(options, {
      read: (o) => this.read(o),
      waitForAppend: (position, signal) => {
        if (parseSequence(position) < this.active.endPosition) return Promise.resolve();
        // Another process writes a read-only log: poll it. The writer's own process is told by its flush.
        return this.readOnly ? sleep(this.pollIntervalMs, undefined, { signal }).catch(() => undefined) : this.appended.wait(signal);
      },
      after: (position) => formatSequence(parseSequence(position) + 1),
      onEnd: (s) => this.subscriptions.delete(s),
    }, start);
    this.subscriptions.add(subscription);
    return subscription;
  }

  async head(): Promise<string> {
    if (this.closed) throw new UnilogError('LogClosed', 'The event log is closed: open it again.', {});
    if (this.readOnly) await this.refresh();
    return formatSequence(this.active.endPosition);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushing;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await this.releaseFiles();
  }

  private async releaseFiles(): Promise<void> {
    this.readAhead = undefined;
    for (const segment of this.segments) {
      if (segment.readFd !== undefined) await closeFile(segment.readFd);
      segment.readFd = undefined;
    }
    if (this.writeFd !== undefined) await closeFile(this.writeFd);
    this.writeFd = undefined;
    await this.lock?.release();
    this.lock = undefined;
  }
}

/** About 330 bytes per event on average: read what `frames` frames need, between `least` and 1 MiB, at most `left`. */
function chunkBytesFor(frames: number, left: number, least: number): number {
  return Math.max(1, Math.min(left, Math.min(1024 * 1024, Math.max(least, frames * 400))));
}

/**
 * Walks the frames in `chunk[0, bytes)` (which starts at segment offset `chunkStart`, with the frame of `position`),
 * checking headers, and collects those from `from` on, CRC checked, until `limit`. Returns how far it got, and the bytes
 * the next frame needs when the chunk ends inside it (0 at the end of the segment's data). Written without
 * per-frame objects besides the events, as replay speed is bound by it.
 */
function walkFrames(segment: Segment, chunk: Buffer, bytes: number, chunkStart: number, until: number, position: number, from: number, limit: number, events: StoredEvent[]): { at: number; position: number; needed: number } {
  let at = 0;
  let needed = 0;
  while (events.length < limit) {
    if (bytes - at < frameHeaderBytes) {
      needed = chunkStart + at < until ? frameHeaderBytes : 0;
      break;
    }
    const length = checkHeader(chunk, at, maxFramePayloadBytes, position);
    if (typeof length === 'string') throw corrupted(segment, chunkStart + at, length);
    if (bytes - at < frameOverheadBytes + length) {
      needed = frameOverheadBytes + length;
      break;
    }
    // Frames walked over to reach `from` are not returned, so only their headers are checked (a bad length shows as
    // a bad next header); this makes reads from anywhere but a remembered cursor cheaper.
    if (position >= from) {
      if (!crcMatches(chunk, at, length)) throw corrupted(segment, chunkStart + at, 'CRC mismatch');
      const payload = at + frameHeaderBytes;
      events.push({ position: formatSequence(position), event: JSON.parse(chunk.toString('utf8', payload, payload + length)) as EventEnvelope });
    }
    at += frameOverheadBytes + length;
    position++;
  }
  return { at, position, needed };
}

function corrupted(segment: Segment, offset: number, reason: string): UnilogError<'LogCorrupted'> {
  return new UnilogError('LogCorrupted', `The log is damaged in segment ${segment.name} at byte ${offset} (${reason}): run \`unilog verify\` to see the damage and \`unilog verify --repair\` to cut the log before it.`, {
    segment: segment.name,
    offset,
    reason,
  });
}
