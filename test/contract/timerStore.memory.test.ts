import { createMemoryTimerStore } from '../../src/index.ts';
import { describeTimerStoreContract } from './timerStore.contract.ts';

describeTimerStoreContract('memory', {
  create: () => {
    const store = createMemoryTimerStore();
    return Promise.resolve({ store, dispose: () => store.close() });
  },
  skip: [
    { reason: 'memory timers keep nothing outside their object, so there is nothing to reopen', tests: ['a reopened store sees the timers and their states'] },
    // @debt createMemoryTimerStore's close() does nothing yet; remove this skip once it refuses later calls.
    { reason: 'the memory store ignores close() (src/consumers/timers/memory.ts)', tests: ['a closed store refuses every call with LogClosed'] },
  ],
});
