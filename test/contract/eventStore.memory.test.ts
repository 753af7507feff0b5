import { createMemoryEventLog, createMemoryEventStore } from '../../src/index.ts';
import { describeEventStoreContract, storeEvents } from './eventStore.contract.ts';

describeEventStoreContract('memory', {
  create: async () => {
    const log = createMemoryEventLog();
    const store = await createMemoryEventStore({ log, catalog: storeEvents });
    return { store, log, dispose: async () => { await store.close(); await log.close(); } };
  },
});
