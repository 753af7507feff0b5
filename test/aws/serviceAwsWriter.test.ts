import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCatalog, createMemoryEventLog, defineEvent, type EventLog } from '../../src/index.ts';
import { createEventLogService } from '../../src/service/service.ts';
import { tempDir } from '../support/tempDir.ts';

// The writer claims client ids through the IdIndex port for both backends; this runs it on the embedded index
// (SQLite), where only the writer's own bookkeeping keeps two requests in flight from appending one id twice.

const ItemAdded = defineEvent({ type: 'cart.item-added', schema: z.object({ cartId: z.string() }), key: (item) => item.cartId });

describe('the service writer with the embedded id index', () => {
  it('appends a client id once when requests with it are in flight together, and answers the others with its position', async () => {
    const { dir, remove } = await tempDir('unilog-writer-');
    const memory = createMemoryEventLog();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Appends wait at the gate, so every request below is in flight before the first append ends.
    const log: EventLog = { capabilities: memory.capabilities, append: async (events) => { await gate; return memory.append(events); }, read: (o) => memory.read(o), subscribe: (o) => memory.subscribe(o), head: () => memory.head(), close: () => memory.close() };
    const service = await createEventLogService({ log, catalog: createCatalog([ItemAdded]), dir, keys: 'insecure', logger: pino({ level: 'silent' }) });
    try {
      const send = (body: unknown) => service.app.request('/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const item = { type: 'cart.item-added', data: { cartId: 'c1' }, id: 'same-1' };
      const pending = [send(item), send([item, { ...item, id: 'other-1', data: { cartId: 'c2' } }]), send(item), send([item, item])];
      await new Promise((resolve) => setTimeout(resolve, 50));
      release();
      const answers = await Promise.all(pending.map(async (response) => ({ status: (await response).status, body: (await (await response).json()) as { events: { position: string; duplicate: boolean }[] } })));
      expect(answers.map((a) => a.status)).toEqual([201, 201, 200, 200]);
      const events = (i: number) => answers[i]?.body.events.map((e) => [e.position, e.duplicate]);
      expect(events(0)).toEqual([['0', false]]);
      expect(events(1), 'waits for the first request\'s append, then appends its new event').toEqual([['0', true], ['1', false]]);
      expect(events(2)).toEqual([['0', true]]);
      expect(events(3)).toEqual([['0', true], ['0', true]]);
      expect(await memory.head(), 'two events appended: same-1 once, other-1').toBe('2');
    } finally {
      release();
      await service.close();
      await memory.close();
      await remove();
    }
  });
});
