import { openFileEventLog } from '../../src/index.ts';
import { tempDir } from '../support/tempDir.ts';
import { describeEventLogContract } from './eventLog.contract.ts';

describeEventLogContract('file', {
  create: async () => {
    const { dir, remove } = await tempDir();
    const log = await openFileEventLog({ dir });
    return { log, dispose: async () => { await log.close(); await remove(); } };
  },
});

// Small segments: every case runs across many segment files and rolls.
describeEventLogContract('file, 1 KiB segments', {
  create: async () => {
    const { dir, remove } = await tempDir();
    const log = await openFileEventLog({ dir, segmentBytes: 1024 });
    return { log, dispose: async () => { await log.close(); await remove(); } };
  },
});
