// The photo workflow on the demo's AWS backend (sample-app/server/awsBackend.ts): the reactor follows the Kinesis
// stream, its deciders' streams live in the DynamoDB event store and reach the stream through the outbox relay, its
// deadlines are DynamoDB timers. The same scenarios as on memory (test/integration/photoWorkflow.test.ts); order
// across products is per key on Kinesis, so lists of several products are compared sorted.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openAwsBackend } from '../../sample-app/server/awsBackend.ts';
import type { DemoBackend } from '../../sample-app/server/backend.ts';
import { deadlineTimerId } from '../../sample-app/workflow/photoWorkflow.ts';
import { awsResources, createAwsClients, ensureAwsResources, type AwsClients } from '../../src/aws/index.ts';
import { ann, bob, cyd, minute, startHarness, type Harness } from '../support/photoWorkflow.ts';
import { tempDir } from '../support/tempDir.ts';
import { awsEndpoints } from './endpoints.ts';
import { uniquePrefix } from './workerSetup.ts';
import pino from 'pino';

const aws = awsEndpoints();
const javaMissing = 'unavailable' in aws.dynamodb;

describe.skipIf(javaMissing)('photo workflow on the AWS backend (kinesalite, DynamoDB Local)', () => {
  let clients: AwsClients;
  const open: { harness: Harness; backend: DemoBackend; remove: () => Promise<void> }[] = [];
  beforeAll(async () => {
    const dynamodb = 'endpoint' in aws.dynamodb ? aws.dynamodb.endpoint : '';
    clients = await createAwsClients({ region: aws.region, credentials: aws.s3Credentials, endpoints: { kinesis: aws.kinesis, dynamodb, s3: aws.s3 }, env: {} });
  });
  afterAll(() => {
    clients.destroy();
  });
  afterEach(async () => {
    for (const { harness, backend, remove } of open.splice(0)) {
      await harness.close();
      await backend.close();
      await remove();
    }
  });

  /** A fresh deployment (its own prefix: stream, tables, buckets) and a workflow on it. */
  async function harness(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
    const prefix = uniquePrefix().toLowerCase().replace(/[^a-z0-9-]/g, '');
    await ensureAwsResources(clients, awsResources({ prefix }), { shards: 2 });
    const temp = await tempDir('workflow-aws-');
    const backend = await openAwsBackend({ prefix, clients, dir: temp.dir }, pino({ level: 'silent' }));
    const store = await backend.openStore('workflow', 'photo-workflow');
    const h = await startHarness({ ...options, log: backend.log, store, timerStore: backend.timers });
    open.push({ harness: h, backend, remove: temp.remove });
    return h;
  }

  const assigned = async (h: Harness) => (await h.events('photo.assigned')).map((a) => `${String(a['productId'])}:${String(a['attempt'])}→${String(a['photographerId'])}`).sort();

  it('assigns the least-loaded photographer, queues without one, and wakes the queue on a registration', { timeout: 60_000 }, async () => {
    const h = await harness();
    await h.createProduct('p1');
    expect(await h.events('photo.queued')).toEqual([{ productId: 'p1', attempt: 1 }]);
    await h.register(ann);
    await h.register(bob);
    expect(await assigned(h), 'the registration takes the queued product').toEqual(['p1:1→ann']);
    await h.createProduct('p2');
    expect(await assigned(h), 'Bob holds none, Ann one').toEqual(['p1:1→ann', 'p2:1→bob']);
    expect(h.sms.inbox(bob.phone)[0]?.body).toContain('Please snap a pic of:\n  Product p2');
  });

  it('reassigns after the deadline (a DynamoDB timer) and gives up after maxAttempts', { timeout: 60_000 }, async () => {
    const h = await harness({ maxAttempts: 2, deadlineMs: 5 * minute });
    for (const p of [ann, bob, cyd]) await h.register(p);
    await h.createProduct('p1');
    expect(await h.timerStore.nextDueAt(), 'the deadline is stored in DynamoDB').toBe(h.clock.now() + 5 * minute);
    expect(await h.advance(5 * minute - 1)).toBe(0);
    expect(await h.advance(1), 'the deadline fires once').toBe(1);
    expect(await h.advance(5 * minute)).toBe(1);
    expect(await assigned(h)).toEqual(['p1:1→ann', 'p1:2→bob']);
    expect(await h.events('photo.unavailable')).toEqual([{ productId: 'p1', attempts: 2 }]);
    expect(await h.advance(60 * minute), 'nothing is left to fire').toBe(0);
    expect(h.sms.inbox(cyd.phone)).toEqual([]);
  });

  it("a photo of the assignee completes the assignment and cancels the deadline timer", { timeout: 60_000 }, async () => {
    const h = await harness();
    await h.register(ann);
    await h.createProduct('p1', 'Trail boots');
    expect(await h.workflow.openAssignmentOf(ann.phone)).toMatchObject({ productId: 'p1', productName: 'Trail boots', photographerId: 'ann', attempt: 1 });
    await h.photoFrom('p1', 'ann');
    expect(await h.events('photo.assignment-completed')).toEqual([{ productId: 'p1', photographerId: 'ann', attempt: 1 }]);
    expect((await h.timerStore.get(deadlineTimerId('p1', 1)))?.state).toBe('cancelled');
    expect(await h.workflow.openAssignmentOf(ann.phone)).toBeUndefined();
    expect(await h.advance(60 * minute), 'no deadline fires').toBe(0);
  });
});
