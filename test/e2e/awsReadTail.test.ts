import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsEndpoints, awsTestEnv } from '../aws/endpoints.ts';
import { startUnilog, tempProject, unilog } from '../support/project.ts';

const aws = awsEndpoints();
const dynamodbUnavailable = 'unavailable' in aws.dynamodb ? aws.dynamodb.unavailable : undefined;

const config = `
import { z } from 'zod';
import { defineConfig, defineEvent } from 'unilog';

const item = z.strictObject({ cartId: z.string(), quantity: z.number().int().positive() });
const ItemAdded = defineEvent({ type: 'cart.item-added', schema: item, key: (i) => i.cartId });
const ItemRemoved = defineEvent({ type: 'cart.item-removed', schema: item, key: (i) => i.cartId });
export default defineConfig({ events: [ItemAdded, ItemRemoved] });
`;



type Printed = { position: string; event: { id: string; type: string; subject: string } };
const ndjson = (text: string): Printed[] => text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Printed);

describe.skipIf(dynamodbUnavailable !== undefined)('unilog read --url and tail --url on serve --backend aws (local servers)', () => {
  let project: Awaited<ReturnType<typeof tempProject>>;
  let server: ReturnType<typeof startUnilog> | undefined;
  let url = '';
  let key = '';
  const prefix = `r${randomBytes(4).toString('hex')}-`;
  /** What was published, in order: six carts over two shards, item-added and item-removed alternating. */
  const published: { id: string; type: string; cartId: string }[] = [];
  const cli = (args: readonly string[]) => unilog(['--url', url, '--api-key', key, ...args], { cwd: project.dir, env: awsTestEnv() });
  const publish = async (item: { id: string; type: string; cartId: string }) => {
    const response = await fetch(`${url}/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: item.type, data: { cartId: item.cartId, quantity: 1 }, id: item.id }) });
    expect(response.status, await response.clone().text()).toBe(201);
  };

  beforeAll(async () => {
    project = await tempProject();
    await project.write('unilog.config.ts', config);
    const env = { env: awsTestEnv(), cwd: project.dir };
    const init = await unilog(['aws', 'init', '--table-prefix', prefix, '--shards', '2'], env);
    expect(init.code, init.stderr).toBe(0);
    const created = await unilog(['keys', 'create', '--backend', 'aws', '--table-prefix', prefix, '--producer', 'cart-service', '--types', '*', '--read', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    key = (JSON.parse(created.stdout) as { key: string }).key;
    server = startUnilog(['serve', '--backend', 'aws', '--table-prefix', prefix, '--port', '0', '--json'], { cwd: project.dir, env: awsTestEnv() });
    url = (await server.waitFor(/"url":"([^"]+)"/))[1] as string;
    for (let i = 0; i < 12; i++) published.push({ id: `e${String(i).padStart(2, '0')}`, type: i % 2 === 0 ? 'cart.item-added' : 'cart.item-removed', cartId: `c${i % 6}` });
    for (const item of published) await publish(item);
  }, 120_000);
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
    await project.remove();
  });

  /** The service's order: per key as published, across keys by arrival, the same on every read. */
  const readAll = async (): Promise<Printed[]> => {
    const read = await cli(['read']);
    expect(read.stderr).toBe('');
    expect(read.code).toBe(0);
    return ndjson(read.stdout);
  };

  it('read --url without --from prints every event from the start of the stream, each key in order; --limit stops early', async () => {
    const all = await readAll();
    expect(all.map((e) => e.event.id).sort(), 'every published event, once').toEqual(published.map((p) => p.id));
    for (const printed of all) expect(printed.position).toMatch(/^kinesis:shardId-\d+=at\.\d+$/);
    for (const cartId of new Set(published.map((p) => p.cartId))) {
      expect(all.filter((e) => e.event.subject === cartId).map((e) => e.event.id), cartId).toEqual(published.filter((p) => p.cartId === cartId).map((p) => p.id));
    }
    const limited = await cli(['read', '--limit', '5']);
    expect(limited.code, limited.stderr).toBe(0);
    expect(ndjson(limited.stdout)).toEqual(all.slice(0, 5));
  });

  it('tail --url prints the last --lines events of the stream (--type filters among them), or all from a --from cut', async () => {
    const all = await readAll();
    const tail = async (args: readonly string[]) => {
      const result = await cli(['tail', ...args]);
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.code).toBe(0);
      return result.stdout;
    };
    expect(ndjson(await tail(['--lines', '3', '--json']))).toEqual(all.slice(-3));
    expect(ndjson(await tail(['--lines', '100', '--json'])), 'more lines than events: all of them').toEqual(all);
    expect(ndjson(await tail(['--lines', '4', '--type', 'cart.item-removed', '--json'])), '--lines counts every event, --type picks among them').toEqual(all.slice(-4).filter((e) => e.event.type === 'cart.item-removed'));
    const text = (await tail([])).split('\n').filter((line) => line !== '');
    expect(text.map((line) => line.split('  ')[0]), 'ten lines by default, position first').toEqual(all.slice(-10).map((e) => e.position));

    // A cut from the service (the next of a page) resumes there: tail --from prints every event after it.
    const page = (await (await fetch(`${url}/events?limit=5`, { headers: { authorization: `Bearer ${key}` } })).json()) as { next: string };
    expect(page.next).toMatch(/^kinesis:/);
    expect(ndjson(await tail(['--from', page.next, '--json']))).toEqual(all.slice(5));
  });

  it('tail --url --follow prints the last lines, then events appended later, until SIGTERM', { timeout: 60_000 }, async () => {
    const all = await readAll();
    const follow = startUnilog(['--url', url, '--api-key', key, 'tail', '--follow', '--lines', '2', '--json'], { cwd: project.dir, env: awsTestEnv() });
    try {
      const last = all.at(-1)?.event.id as string;
      await follow.waitFor(new RegExp(`"id":"${last}"`));
      const late = { id: 'late-1', type: 'cart.item-added', cartId: 'c9' };
      await publish(late);
      await follow.waitFor(/"id":"late-1"/);
      expect(ndjson(follow.output()).map((e) => e.event.id), 'the last two, then the new one, nothing twice').toEqual([...all.slice(-2).map((e) => e.event.id), 'late-1']);
    } finally {
      expect(await follow.stop()).toBe(0);
    }
  });
});
