import { repairFileLog, verifyFileLog, type VerifyReport } from '../../log/file/verify.ts';
import { localOnly } from '../client.ts';
import { dataDir, logDir, optionalConfig, type GlobalOptions } from '../context.ts';
import { write, type Io } from '../output.ts';

/** Options of `unilog verify`. */
export interface VerifyCommandOptions extends GlobalOptions {
  readonly repair?: boolean;
}

/** `unilog verify [--repair]`: exit 0 when sound (or only a torn tail), 1 when damaged. */
export async function verifyCommand(options: VerifyCommandOptions, io: Io): Promise<number> {
  localOnly(options, 'verify');
  const dir = logDir(dataDir(options, await optionalConfig(options)));
  if (options.repair === true) {
    const repair = await repairFileLog(dir);
    if (io.json) {
      await write(io.stdout, `${JSON.stringify(repair)}\n`);
    } else if (!repair.cutAt) {
      await write(io.stdout, `${describe(repair.verify)}\nNothing to repair.\n`);
    } else {
      await write(io.stdout, [
        describe(repair.verify),
        `Repaired: cut ${repair.cutAt.segment} at byte ${repair.cutAt.offset} (the end of the last whole, intact batch).`,
        `Dropped ${repair.droppedBytes} bytes: ${repair.droppedRecords} intact record(s) after the damage or in the batch it cut${repair.droppedSegments.length > 0 ? `, and segment file(s) ${repair.droppedSegments.join(', ')}` : ''}.`,
        `The log now holds ${repair.events} event(s).`,
        '',
      ].join('\n'));
    }
    return 0;
  }
  const report = await verifyFileLog(dir);
  await write(io.stdout, io.json ? `${JSON.stringify(report)}\n` : `${describe(report)}\n`);
  return report.status === 'corrupted' ? 1 : 0;
}

function describe(report: VerifyReport): string {
  const lines = [`${report.events} event(s) in ${report.segments} segment(s), ${report.bytes} bytes, in ${report.dir}.`];
  if (report.status === 'sound') lines.push('Sound: every record is intact.');
  if (report.tornTail) {
    lines.push(`Sound, with a torn tail left by a crash: the next open cuts ${report.tornTail.bytes} byte(s) at byte ${report.tornTail.offset} of ${report.tornTail.segment} (no acknowledged event is lost).`);
  }
  if (report.corruption) {
    const c = report.corruption;
    const batch = c.recordsInBrokenBatch > 0 ? `; ${c.recordsInBrokenBatch} intact record(s) before it belong to the batch it breaks` : '';
    lines.push(`Corrupted: segment ${c.segment} at byte ${c.offset}: ${c.reason}. ${c.intactRecordsAfter} intact record(s) follow the damage${batch}.`);
    lines.push('The log will not open for writing until it is repaired: run `unilog verify --repair` to cut it before the damage (restore from a backup first if you have one).');
  }
  for (const index of report.indexes) lines.push(`Index of ${index.segment} is ${index.problem}: the next open rebuilds it.`);
  return lines.join('\n');
}
