import { appendFile, open, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isUnilogError, openFileEventLog, repairFileLog, verifyFileLog, type FileEventLog } from '../../src/index.ts';
import { envelopes } from '../support/events.ts';
import { frameOffsets } from '../support/frames.ts';
import { tempDir } from '../support/tempDir.ts';

const firstSegment = '00000000000000000000.seg';

async function readIds(log: FileEventLog): Promise<string[]> {
  const ids: string[] = [];
  for (let from = '0'; ; ) {
    const page = await log.read({ from, limit: 1000 });
    if (page.events.length === 0) return ids;
    ids.push(...page.events.map((e) => e.event.id));
    from = page.next;
  }
}

async function flipByte(file: string, offset: number): Promise<void> {
  const handle = await open(file, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, offset);
  byte[0] = (byte[0] as number) ^ 0xff;
  await handle.write(byte, 0, 1, offset);
  await handle.close();
}

describe('corruption', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => ({ dir, remove } = await tempDir('unilog-corrupt-')));
  afterEach(async () => remove());

  /** Ten batches of ten events in one segment. */
  async function writeLog(segmentBytes?: number): Promise<void> {
    const log = await openFileEventLog({ dir, ...(segmentBytes ? { segmentBytes } : {}) });
    for (let b = 0; b < 10; b++) await log.append(envelopes(10, b * 10));
    await log.close();
  }

  it('a flipped byte in a middle record refuses to open, is reported precisely, and verify --repair cuts before it', async () => {
    await writeLog();
    const file = path.join(dir, firstSegment);
    const offsets = await frameOffsets(file);
    const damaged = offsets[45]!;
    await flipByte(file, damaged + 20);

    const error: unknown = await openFileEventLog({ dir }).catch((e: unknown) => e);
    expect(isUnilogError(error, 'LogCorrupted'), String(error)).toBe(true);
    if (!isUnilogError(error, 'LogCorrupted')) return;
    expect(error.details).toMatchObject({ segment: firstSegment, offset: damaged, reason: 'CRC mismatch, with intact records after it' });

    const report = await verifyFileLog(dir);
    expect(report.status).toBe('corrupted');
    expect(report.corruption).toMatchObject({ segment: firstSegment, offset: damaged, reason: 'CRC mismatch' });
    // Records 46..99 are intact after the damage; 40..44 share the damaged batch.
    expect(report.corruption?.intactRecordsAfter).toBe(54);
    expect(report.corruption?.recordsInBrokenBatch).toBe(5);
    expect(report.events).toBe(40);

    const repair = await repairFileLog(dir);
    expect(repair.cutAt).toEqual({ segment: firstSegment, offset: offsets[40] });
    expect(repair.droppedRecords).toBe(59);
    expect(repair.events).toBe(40);
    expect((await verifyFileLog(dir)).status).toBe('sound');

    const log = await openFileEventLog({ dir });
    expect(await readIds(log)).toEqual(envelopes(40).map((e) => e.id));
    await log.append(envelopes(1, 500));
    expect(await log.head()).toBe('41');
    await log.close();
  });

  it('damage in a closed segment is reported when read, and by verify', async () => {
    await writeLog(4096);
    const segments = (await readdir(dir)).filter((f) => f.endsWith('.seg')).sort();
    expect(segments.length).toBeGreaterThan(3);
    const sealed = path.join(dir, segments[1]!);
    const offsets = await frameOffsets(sealed);
    await flipByte(sealed, offsets[2]! + 30);

    const log = await openFileEventLog({ dir });
    const error: unknown = await readIds(log).catch((e: unknown) => e);
    expect(isUnilogError(error, 'LogCorrupted')).toBe(true);
    expect((error as { details: unknown }).details).toMatchObject({ segment: segments[1], offset: offsets[2] });
    await log.close();
    const report = await verifyFileLog(dir);
    expect(report.corruption).toMatchObject({ segment: segments[1], offset: offsets[2] });
  });

  it('a record cut short at the tail is a torn write: verify says what the next open cuts, and open cuts it', async () => {
    await writeLog();
    const file = path.join(dir, firstSegment);
    const offsets = await frameOffsets(file);
    const size = (await stat(file)).size;
    // Cut inside record 97: batch 90..99 is torn, so the log ends after 89.
    await truncate(file, offsets[97]! + 10);

    const report = await verifyFileLog(dir);
    expect(report.status).toBe('torn-tail');
    expect(report.tornTail).toEqual({ segment: firstSegment, offset: offsets[90], bytes: offsets[97]! + 10 - offsets[90]! });

    const log = await openFileEventLog({ dir });
    expect(log.openReport.truncatedBytes).toBe(offsets[97]! + 10 - offsets[90]!);
    expect(log.openReport.truncatedAt).toEqual({ segment: firstSegment, offset: offsets[90] });
    expect(await readIds(log)).toEqual(envelopes(90).map((e) => e.id));
    await log.append(envelopes(2, 200));
    expect(await log.head()).toBe('92');
    await log.close();
    expect(size).toBeGreaterThan(offsets[97]!);
  });

  it('a zero-filled tail (a crash after the file grew) is cut on open without losing a record', async () => {
    await writeLog();
    const file = path.join(dir, firstSegment);
    const size = (await stat(file)).size;
    await appendFile(file, Buffer.alloc(8192));

    expect((await verifyFileLog(dir)).tornTail).toEqual({ segment: firstSegment, offset: size, bytes: 8192 });
    const log = await openFileEventLog({ dir });
    expect(log.openReport.truncatedBytes).toBe(8192);
    expect(await readIds(log)).toEqual(envelopes(100).map((e) => e.id));
    await log.close();
    expect((await stat(file)).size).toBe(size);
  });

  it('garbage after a zeroed record in the middle is corruption, not a tail', async () => {
    await writeLog();
    const file = path.join(dir, firstSegment);
    const offsets = await frameOffsets(file);
    const handle = await open(file, 'r+');
    await handle.write(Buffer.alloc(offsets[51]! - offsets[50]!), 0, offsets[51]! - offsets[50]!, offsets[50]);
    await handle.close();
    await expect(openFileEventLog({ dir })).rejects.toSatisfy((e) => isUnilogError(e, 'LogCorrupted') && e.details.offset === offsets[50]);
  });

  it('a deleted or damaged index is reported and rebuilt from its segment', async () => {
    await writeLog(4096);
    const indexes = (await readdir(dir)).filter((f) => f.endsWith('.idx')).sort();
    expect(indexes.length).toBeGreaterThan(2);
    await rm(path.join(dir, indexes[0]!));
    await writeFile(path.join(dir, indexes[1]!), 'not an index');

    const report = await verifyFileLog(dir);
    expect(report.status).toBe('sound');
    expect(report.indexes).toEqual([
      { segment: indexes[0]!.replace('.idx', '.seg'), problem: 'missing' },
      { segment: indexes[1]!.replace('.idx', '.seg'), problem: 'damaged' },
    ]);

    const log = await openFileEventLog({ dir });
    expect(log.openReport.rebuiltIndexes).toEqual(report.indexes);
    expect(await readIds(log)).toEqual(envelopes(100).map((e) => e.id));
    // Seeking by position uses the rebuilt index.
    expect((await log.read({ from: '57', limit: 1 })).events[0]?.event.id).toBe('evt-57');
    await log.close();
    expect((await verifyFileLog(dir)).indexes).toEqual([]);
  });

  it('a missing segment file is corruption', async () => {
    await writeLog(4096);
    const segments = (await readdir(dir)).filter((f) => f.endsWith('.seg')).sort();
    await rm(path.join(dir, segments[1]!));
    await expect(openFileEventLog({ dir })).rejects.toSatisfy((e) => isUnilogError(e, 'LogCorrupted') && e.details.segment === segments[2]);
    expect((await verifyFileLog(dir)).status).toBe('corrupted');
    const repair = await repairFileLog(dir);
    expect(repair.droppedSegments).toEqual(segments.slice(2));
    const log = await openFileEventLog({ dir });
    expect((await readIds(log)).length).toBe(repair.events);
    await log.close();
  });

  it('verify on a folder without a log says so', async () => {
    await expect(verifyFileLog(path.join(dir, 'nothing'))).rejects.toSatisfy((e) => isUnilogError(e, 'LogNotFound'));
  });
});
