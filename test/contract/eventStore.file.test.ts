import path from 'node:path';
import { openFileEventLog, openFileEventStore } from '../../src/index.ts';
import { tempDir } from '../support/tempDir.ts';
import { describeEventStoreContract, storeEvents } from './eventStore.contract.ts';

describeEventStoreContract('file', {
  create: async () => {
    const { dir, remove } = await tempDir();
    const log = await openFileEventLog({ dir: path.join(dir, 'log') });
    const store = await openFileEventStore({ log, catalog: storeEvents, dir: path.join(dir, 'store') });
    return { store, log, dispose: async () => { await store.close(); await log.close(); await remove(); } };
  },
});
