import { createMemoryViewStorage } from '../../src/views/memory/index.ts';
import { describeViewStoreContract } from './viewStore.contract.ts';

describeViewStoreContract('memory', {
  create: () => Promise.resolve({ storage: createMemoryViewStorage(), dispose: () => Promise.resolve() }),
  skip: [
    {
      reason: 'memory storage keeps nothing outside its object, so there is nothing to reopen',
      tests: ['reopened storage keeps committed data and the current copy'],
    },
  ],
});
