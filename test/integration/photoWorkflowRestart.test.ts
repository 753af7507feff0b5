import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FileEventLog } from '../../src/index.ts';
import { openFileWorkflow, type FileWorkflow } from '../support/fileWorkflow.ts';
import { tempDir } from '../support/tempDir.ts';

const start = Date.parse('2025-01-01T09:00:00.000Z');
const minute = 60_000;
const ann = { photographerId: 'ann', name: 'Ann', phone: '+14155550101' };
const bob = { photographerId: 'bob', name: 'Bob', phone: '+14155550102' };
const fixture = new URL('../fixtures/photoWorkflowChild.ts', import.meta.url).pathname;

async function eventsOf(log: FileEventLog, type: string): Promise<Record<string, unknown>[]> {
  const { events } = await log.read({ limit: 100_000 });
  return events.filter((e) => e.event.type === type).map((e) => e.event.data as Record<string, unknown>);
}

/** Waits, without a fixed sleep, until the restarted workflow's own timer wake-up unassigned the product. */
async function untilUnassigned(w: FileWorkflow): Promise<void> {
  await vi.waitFor(async () => {
    expect(await eventsOf(w.log, 'photo.unassigned'), 'the deadline fired after the restart').toHaveLength(1);
  }, { timeout: 10_000, interval: 20 });
  await w.workflow.settle();
}

/** The outcome after a restart: one deadline, one unassignment, Bob on attempt 2, Ann told. */
async function expectFiredOnce(w: FileWorkflow): Promise<void> {
  expect(await eventsOf(w.log, 'photo.deadline-passed'), 'the deadline fired exactly once').toEqual([{ productId: 'p1', photographerId: 'ann', attempt: 1 }]);
  expect(await eventsOf(w.log, 'photo.unassigned')).toEqual([{ productId: 'p1', photographerId: 'ann', attempt: 1, reason: 'deadline' }]);
  expect((await eventsOf(w.log, 'photo.assigned')).map((a) => `${String(a['attempt'])}→${String(a['photographerId'])}`)).toEqual(['1→ann', '2→bob']);
}

describe('photo workflow: durable deadlines across restarts', () => {
  let dir: string;
  let remove: () => Promise<void>;
  let running: FileWorkflow | undefined;
  beforeEach(async () => {
    ({ dir, remove } = await tempDir('unilog-photo-restart-'));
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
    await remove();
  });

  it('a deadline pending at shutdown fires once after the restart, when due, and never again', async () => {
    const first = await openFileWorkflow(dir, start);
    running = first;
    await first.services.publish('photographer.registered', ann);
    await first.services.publish('photographer.registered', bob);
    await first.services.publish('product.created', { id: 'p1', brand: 'Nordwest', name: 'Parka', description: '', category: 'coats', priceCents: 100, merchantId: 'm-1', merchantName: 'Nordwest Outfitters' });
    await first.workflow.settle();
    expect(await first.workflow.openAssignmentOf(ann.phone)).toMatchObject({ productId: 'p1', attempt: 1 });
    await first.close();
    running = undefined;

    const early = await openFileWorkflow(dir, start + 9 * minute);
    running = early;
    expect(await early.workflow.timers.fireDue(), 'reopened before the deadline: nothing is due').toBe(0);
    await early.close();
    running = undefined;

    const late = await openFileWorkflow(dir, start + 11 * minute);
    running = late;
    await untilUnassigned(late);
    await expectFiredOnce(late);
    expect(late.sms.inbox(ann.phone).map((m) => m.body.split('\n')[0]), 'Ann is told after the restart').toEqual(['Hello Ann.']);
    await late.close();
    running = undefined;

    const again = await openFileWorkflow(dir, start + 60 * minute);
    running = again;
    // Attempt 2's deadline (Bob's) is due now and fires on start; attempt 1's must not fire a second time.
    await vi.waitFor(async () => {
      expect(await eventsOf(again.log, 'photo.unassigned')).toHaveLength(2);
    }, { timeout: 10_000, interval: 20 });
    await again.workflow.settle();
    expect(await again.workflow.timers.fireDue(), 'nothing is left to fire').toBe(0);
    expect((await eventsOf(again.log, 'photo.deadline-passed')).map((d) => d['attempt']), "one deadline per attempt: attempt 1's never fired again").toEqual([1, 2]);
  });

  it('SIGKILL of the service while it waits for a photo: the reopened workflow fires the deadline exactly once', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, String(start)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => { resolve(signal); }));
    let assigned = '';
    for await (const line of createInterface({ input: child.stdout })) {
      if (line.startsWith('assigned')) {
        assigned = line;
        child.kill('SIGKILL');
      }
    }
    expect(await exited, `the child was killed (stderr: ${stderr})`).toBe('SIGKILL');
    expect(assigned, 'the child assigned p1 to Ann before it was killed').toContain('"productId":"p1"');

    const reopened = await openFileWorkflow(dir, start + 10 * minute);
    running = reopened;
    await untilUnassigned(reopened);
    await expectFiredOnce(reopened);
  });
});
