import { createMemoryEventLog } from '../../src/index.ts';
import { describeEventLogContract } from './eventLog.contract.ts';

describeEventLogContract('memory', {
  create: () => {
    const log = createMemoryEventLog();
    return Promise.resolve({ log, dispose: () => log.close() });
  },
});
