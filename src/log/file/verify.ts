import { stat, unlink } from 'node:fs/promises';
import { UnilogError } from '../../errors.ts';
import { checkFrame, frameHeaderBytes } from './frame.ts';
import { closeFile, fdatasync, fsyncDirectory, ftruncate, openFile, readAt } from './io.ts';
import { acquireWriterLock } from './lock.ts';
import { findIntactFrameAfter, listSegmentBases, loadIndexFile, maxFramePayloadBytes, scanFrames, Segment, type IndexProblem } from './segment.ts';

/** What `verifyFileLog` found. */
export interface VerifyReport {
  readonly dir: string;
  /** `sound`: every record intact; `torn-tail`: a crash left a partial write that the next open cuts; `corrupted`: damage before the end. */
  readonly status: 'sound' | 'torn-tail' | 'corrupted';
  readonly segments: number;
  /** Intact events before any damage. */
  readonly events: number;
  readonly bytes: number;
  /** The partial write at the end, which the next open (or `repair`) cuts. */
  readonly tornTail?: { readonly segment: string; readonly offset: number; readonly bytes: number };
  /** The first damage, and what lies after it. */
  readonly corruption?: {
    readonly segment: string;
    readonly offset: number;
    readonly reason: string;
    /** Intact records after the damage, which a repair drops. */
    readonly intactRecordsAfter: number;
    /** Intact records before the damage in the batch it breaks, which a repair also drops (a batch is all or nothing). */
    readonly recordsInBrokenBatch: number;
  };
  /** Index files of closed segments that are missing, damaged or stale; the next open rebuilds them. */
  readonly indexes: readonly { readonly segment: string; readonly problem: IndexProblem }[];
}

/** What `repairFileLog` cut. */
export interface RepairReport {
  readonly verify: VerifyReport;
  /** Where the log now ends, when anything was cut. */
  readonly cutAt?: { readonly segment: string; readonly offset: number };
  readonly droppedBytes: number;
  /** Whole segment files deleted because they came after the damage. */
  readonly droppedSegments: readonly string[];
  /** Intact records dropped because they came after the damage or belonged to a batch cut by it. */
  readonly droppedRecords: number;
  /** The number of events the log holds after the repair. */
  readonly events: number;
}

interface Walk {
  report: VerifyReport;
  /** Where a repair cuts: segment index and offset (the end of the last whole batch before the damage or tear). */
  cut?: { index: number; offset: number; droppedInSegment: number };
  bases: number[];
}

/** Checks every record of the file log in `dir` (lengths, CRCs, positions, batch ends); reads only. */
export async function verifyFileLog(dir: string): Promise<VerifyReport> {
  return (await walk(dir)).report;
}

async function walk(dir: string): Promise<Walk> {
  let bases: number[];
  try {
    bases = await listSegmentBases(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    bases = [];
  }
  if (bases.length === 0) throw new UnilogError('LogNotFound', `There is no event log in ${dir}: check --dir (or UNILOG_DIR).`, { dir });
  const indexes: { segment: string; problem: IndexProblem }[] = [];
  let events = 0;
  let bytes = 0;
  let expected = bases[0] as number;
  for (let i = 0; i < bases.length; i++) {
    const segment = new Segment(dir, bases[i] as number);
    const size = (await stat(segment.path)).size;
    bytes += size;
    const isLast = i === bases.length - 1;
    if (!isLast) {
      const problem = await loadIndexFile(new Segment(dir, segment.base), size);
      if (problem) indexes.push({ segment: segment.name, problem });
    }
    const fd = await openFile(segment.path, 'r');
    try {
      if (segment.base !== expected) {
        const dropped = await countAllRecords(dir, bases.slice(i));
        return finish({ status: 'corrupted', segment, offset: 0, reason: `segment starts at position ${segment.base} but the one before ends at ${expected}: a segment file is missing`, intactRecordsAfter: dropped, recordsInBrokenBatch: 0, cutIndex: i - 1, cutOffset: undefined });
      }
      const scan = await scanFrames(fd, segment, { startOffset: 0, startPosition: segment.base, until: size, verify: true });
      events += scan.batchEndPosition - segment.base;
      expected = scan.batchEndPosition;
      if (!scan.stop && scan.batchEndOffset === size) continue;
      const damageAt = scan.stop?.offset ?? scan.batchEndOffset;
      const reason = scan.stop?.reason ?? 'the last batch has no end';
      const intactAfter = scan.stop ? await countIntactAfter(fd, segment, scan.stop.offset + 1, size) : 0;
      if (isLast && intactAfter === 0) {
        return finish({ status: 'torn-tail', segment, offset: scan.batchEndOffset, bytes: size - scan.batchEndOffset, cutIndex: i, cutOffset: scan.batchEndOffset, dropped: scan.unfinishedRecords });
      }
      const later = await countAllRecords(dir, bases.slice(i + 1));
      return finish({ status: 'corrupted', segment, offset: damageAt, reason, intactRecordsAfter: intactAfter + later, recordsInBrokenBatch: scan.unfinishedRecords, cutIndex: i, cutOffset: scan.batchEndOffset });
    } finally {
      await closeFile(fd);
    }
  }
  return { report: { dir, status: 'sound', segments: bases.length, events, bytes, indexes }, bases };

  function finish(
    found:
      | { status: 'torn-tail'; segment: Segment; offset: number; bytes: number; cutIndex: number; cutOffset: number; dropped: number }
      | { status: 'corrupted'; segment: Segment; offset: number; reason: string; intactRecordsAfter: number; recordsInBrokenBatch: number; cutIndex: number; cutOffset: number | undefined },
  ): Walk {
    const base = { dir, segments: bases.length, events, bytes, indexes };
    if (found.status === 'torn-tail') {
      return {
        report: { ...base, status: 'torn-tail', tornTail: { segment: found.segment.name, offset: found.offset, bytes: found.bytes } },
        cut: { index: found.cutIndex, offset: found.cutOffset, droppedInSegment: found.dropped },
        bases,
      };
    }
    return {
      report: {
        ...base,
        status: 'corrupted',
        corruption: { segment: found.segment.name, offset: found.offset, reason: found.reason, intactRecordsAfter: found.intactRecordsAfter, recordsInBrokenBatch: found.recordsInBrokenBatch },
      },
      cut: { index: found.cutIndex, offset: found.cutOffset ?? -1, droppedInSegment: found.intactRecordsAfter + found.recordsInBrokenBatch },
      bases,
    };
  }
}

/** Counts intact records after damage: each run of frames that starts at an intact frame found past the damage. */
async function countIntactAfter(fd: number, segment: Segment, from: number, size: number): Promise<number> {
  let count = 0;
  let at = from;
  const header = Buffer.allocUnsafe(frameHeaderBytes);
  for (;;) {
    const found = await findIntactFrameAfter(fd, at, size);
    if (found === undefined) return count;
    await readAt(fd, header, frameHeaderBytes, found);
    const check = checkFrame(header, 0, frameHeaderBytes, maxFramePayloadBytes, undefined, false);
    const position = check.kind === 'short' || check.kind === 'ok' ? header.readUIntLE(2, 6) : 0;
    const scan = await scanFrames(fd, new Segment(segment.dir, segment.base), { startOffset: found, startPosition: position, until: size, verify: true });
    count += scan.nextPosition - position;
    if (!scan.stop) return count;
    at = scan.stop.offset + 1;
  }
}

async function countAllRecords(dir: string, bases: number[]): Promise<number> {
  let count = 0;
  for (const base of bases) {
    const segment = new Segment(dir, base);
    const size = (await stat(segment.path)).size;
    const fd = await openFile(segment.path, 'r');
    try {
      count += await countIntactAfter(fd, segment, 0, size);
    } finally {
      await closeFile(fd);
    }
  }
  return count;
}

/**
 * Cuts the log in `dir` after its last whole, intact batch and deletes what follows; takes the writer lock.
 * @see docs/errors.md#logcorrupted
 */
export async function repairFileLog(dir: string): Promise<RepairReport> {
  const lock = await acquireWriterLock(dir);
  try {
    const { report, cut, bases } = await walk(dir);
    if (!cut) return { verify: report, droppedBytes: 0, droppedSegments: [], droppedRecords: 0, events: report.events };
    // A missing segment (cutOffset -1) cuts at the end of the segment before the gap.
    const keepIndex = cut.index;
    const keep = new Segment(dir, bases[keepIndex] as number);
    const keepSize = (await stat(keep.path)).size;
    const cutOffset = cut.offset < 0 ? keepSize : cut.offset;
    let droppedBytes = keepSize - cutOffset;
    const droppedSegments: string[] = [];
    for (const base of bases.slice(keepIndex + 1)) {
      const segment = new Segment(dir, base);
      droppedBytes += (await stat(segment.path)).size;
      await unlink(segment.path);
      await unlink(segment.indexPath).catch(ignoreMissing);
      droppedSegments.push(segment.name);
    }
    if (cutOffset < keepSize) {
      const fd = await openFile(keep.path, 'r+');
      try {
        await ftruncate(fd, cutOffset);
        await fdatasync(fd);
      } finally {
        await closeFile(fd);
      }
    }
    // The kept segment is now the last one, which is always scanned on open: a stale index would only mislead.
    await unlink(keep.indexPath).catch(ignoreMissing);
    await fsyncDirectory(dir);
    return {
      verify: report,
      cutAt: { segment: keep.name, offset: cutOffset },
      droppedBytes,
      droppedSegments,
      droppedRecords: cut.droppedInSegment,
      events: report.events,
    };
  } finally {
    await lock.release();
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
