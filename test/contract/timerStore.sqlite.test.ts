import { openSqliteTimerStore } from '../../src/index.ts';
import { tempDir } from '../support/tempDir.ts';
import { describeTimerStoreContract } from './timerStore.contract.ts';

describeTimerStoreContract('sqlite', {
  create: async () => {
    const { dir, remove } = await tempDir('unilog-timers-');
    const store = await openSqliteTimerStore({ dir });
    const opened = [store];
    return {
      store,
      reopen: async () => {
        const again = await openSqliteTimerStore({ dir });
        opened.push(again);
        return again;
      },
      dispose: async () => {
        for (const each of opened) await each.close();
        await remove();
      },
    };
  },
});
