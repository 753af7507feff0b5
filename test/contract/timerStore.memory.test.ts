import { createMemoryTimerStore } from '../../src/index.ts';
import { describeTimerStoreContract } from './timerStore.contract.ts';

describeTimerStoreContract('memory', {
  create: () => {
    const store = createMemoryTimerStore();
    return Promise.resolve({ store, dispose: () => store.close() });
  },
  skip: [
    { reason: 'memory timers keep nothing outside their object, so there is nothing to reopen', tests: ['a reopened store sees the timers and their states'] },
  ],
});
