// A photo workflow on the file backends in one data folder (log, stream index, reactor checkpoint, timers), as
// `npm start` runs it: for the restart and crash tests, in the test process or in a child.
import path from 'node:path';
import { createManualClock, createPublisher, openFileEventLog, openFileEventStore, openSqliteTimerStore, openSqliteViewStorage, type FileEventLog, type ManualClock, type Publisher } from '../../src/index.ts';
import { helloRetailEvents } from '../../sample-app/events.ts';
import { createSimulatorSmsGateway, type SimulatorSmsGateway } from '../../sample-app/sms/simulator/index.ts';
import { createPhotoWorkflow, type HelloRetailEvent, type PhotoWorkflow } from '../../sample-app/workflow/photoWorkflow.ts';

export interface FileWorkflow {
  readonly log: FileEventLog;
  readonly workflow: PhotoWorkflow;
  readonly sms: SimulatorSmsGateway;
  readonly clock: ManualClock;
  /** Publishes as the other services would. */
  readonly services: Publisher<HelloRetailEvent>;
  close(): Promise<void>;
}

/** Opens every store of the workflow in `dir`, with a manual clock at `nowMs`, and starts it. */
export async function openFileWorkflow(dir: string, nowMs: number): Promise<FileWorkflow> {
  const log = await openFileEventLog({ dir: path.join(dir, 'log') });
  const store = await openFileEventStore({ log, catalog: helloRetailEvents, dir: path.join(dir, 'store'), source: 'photo-workflow' });
  const timers = await openSqliteTimerStore({ dir: path.join(dir, 'timers') });
  const clock = createManualClock(nowMs);
  const sms = createSimulatorSmsGateway({ now: () => clock.now() });
  const workflow = createPhotoWorkflow({ log, store, storage: openSqliteViewStorage({ dir: path.join(dir, 'views') }), timers, sms, clock });
  await workflow.start();
  return {
    log,
    workflow,
    sms,
    clock,
    services: createPublisher({ log, catalog: helloRetailEvents, source: 'test-services' }),
    async close() {
      await workflow.stop();
      await timers.close();
      await store.close();
      await log.close();
    },
  };
}
