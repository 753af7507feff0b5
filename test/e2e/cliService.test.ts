import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.ts';
import { startUnilog, tempProject, unilog } from '../support/project.ts';


const config = `
import { z } from 'zod';
import { defineConfig, defineEvent, defineProjection } from 'unilog';

const ItemAdded = defineEvent({
  type: 'cart.item-added',
  schema: z.strictObject({ cartId: z.string(), productId: z.string(), quantity: z.number().int().positive() }),
  key: (item) => item.cartId,
});
const carts = defineProjection({
  name: 'carts',
  version: 1,
  events: [ItemAdded],
  tables: { carts: { row: z.object({ cartId: z.string(), items: z.number() }), key: 'cartId', indexes: [] } },
}).on({
  'cart.item-added': async (event, view) => {
    const cart = await view.carts.get(event.data.cartId);
    view.carts.put({ cartId: event.data.cartId, items: (cart?.items ?? 0) + event.data.quantity });
  },
});
export default defineConfig({ events: [ItemAdded], projections: [carts] });
`;

const item = (cartId: string, quantity = 1) => JSON.stringify({ cartId, productId: 'p1', quantity });


/** Runs the CLI in this process, for help texts: exit code and what it printed. */
async function inProcess(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        append(chunk.toString());
        callback();
      },
    });
  const code = await runCli(args, { stdin: process.stdin, stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}

describe('unilog CLI help', () => {
  const commands: [string[], string[]][] = [
    [[], ['--dir', '--config', '--url', '--api-key', '--json', 'Exit codes', 'serve', 'publish', 'read', 'tail', 'status', 'rebuild', 'dlq', 'verify', 'schemas', 'keys']],
    [['serve'], ['--port', '--host', '--insecure', 'stderr as JSON lines']],
    [['publish'], ['--payload', '--key', '--id', '--source', '--stdin']],
    [['read'], ['--from', '--limit']],
    [['tail'], ['--from', '--lines', '--type', '--follow']],
    [['status'], ['checkpoints']],
    [['rebuild'], ['<projection>', 'switch']],
    [['dlq'], ['list', 'retry', 'drop']],
    [['dlq', 'list'], ['<consumer>']],
    [['dlq', 'retry'], ['<consumer>', '<position>']],
    [['dlq', 'drop'], ['<consumer>', '<position>']],
    [['verify'], ['--repair']],
    [['schemas'], ['export']],
    [['schemas', 'export'], ['--out']],
    [['keys'], ['create', 'list', 'revoke']],
    [['keys', 'create'], ['--producer', '--types', '--read', '--admin']],
    [['keys', 'list'], ['never the keys']],
    [['keys', 'revoke'], ['<id>']],
  ];
  it.each(commands)('unilog %j --help describes every option', async (command, mentions) => {
    const { code, stdout } = await inProcess([...command, '--help']);
    expect(code).toBe(0);
    for (const mention of mentions) expect(stdout).toContain(mention);
  });

  it('exits 2 on usage errors and 1 on failures', async () => {
    expect((await inProcess(['bogus'])).code).toBe(2);
    expect((await inProcess(['tail', '--bogus'])).code).toBe(2);
    expect((await inProcess(['rebuild'])).code).toBe(2);
    expect((await inProcess(['serve', '--port', 'x'])).code).toBe(2);
    expect((await inProcess(['--url', 'not a url', 'status'])).code).toBe(2);
    const failed = await inProcess(['--url', 'http://127.0.0.1:1', '--json', 'status']);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stderr)).toMatchObject({ error: { code: 'ServiceUnavailable' } });
  });
});

describe('unilog serve and the commands around it', () => {
  let project: Awaited<ReturnType<typeof tempProject>>;
  let dir: string;
  const cli = (args: string[], input?: string) => unilog(['--dir', dir, ...args], { cwd: project.dir, ...(input === undefined ? {} : { input }) });
  beforeAll(async () => {
    project = await tempProject();
    await project.write('unilog.config.ts', config);
    dir = path.join(project.dir, 'data');
  });
  afterAll(async () => project.remove());

  it('refuses to serve without keys and says how to create one', async () => {
    const result = await cli(['serve', '--port', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error NoApiKeys: .*unilog keys create --producer/);
  });

  it('serves a keyed publish, rejects bad input with nothing appended, tails live, and operates consumers', { timeout: 120_000 }, async () => {
    const created = await cli(['keys', 'create', '--producer', 'cart-service', '--types', 'cart.item-added', '--read', '--admin', '--json']);
    expect(created.code).toBe(0);
    const { key, id } = JSON.parse(created.stdout) as { key: string; id: string };
    expect(key).toMatch(/^ulk_[0-9a-f]{12}\.[A-Za-z0-9_-]+$/);
    const listed = await cli(['keys', 'list']);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).not.toContain(key.split('.')[1]);

    const server = startUnilog(['--dir', dir, 'serve', '--port', '0', '--json'], { cwd: project.dir });
    try {
      const url = (await server.waitFor(/"url":"([^"]+)"/))[1] as string;
      const remote = (args: string[], input?: string) => unilog(['--url', url, '--api-key', key, ...args], { cwd: project.dir, ...(input === undefined ? {} : { input }) });

      const published = await remote(['publish', 'cart.item-added', '--payload', item('c1', 2), '--id', 'cli-1']);
      expect(published.code).toBe(0);
      expect(JSON.parse(published.stdout)).toEqual({ position: '0', id: 'cli-1' });
      expect(JSON.parse((await remote(['publish', 'cart.item-added', '--payload', item('c1', 2), '--id', 'cli-1'])).stdout)).toEqual({ position: '0', id: 'cli-1' });

      const bad = await remote(['publish', 'cart.item-added', '--payload', '{"cartId":"c1","quantity":-1}']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^error SchemaViolation: /);
      const unknown = await remote(['publish', 'cart.nope', '--payload', '{}']);
      expect(unknown.stderr).toMatch(/^error UnknownEventType: /);

      // Two live tails: one through the service (SSE), one on the data folder (polling the log read-only).
      const remoteTail = startUnilog(['--url', url, '--api-key', key, 'tail', '--follow'], { cwd: project.dir });
      const localTail = startUnilog(['--dir', dir, 'tail', '--follow', '--json'], { cwd: project.dir });
      await remoteTail.waitFor(/^0 {2}.* cart\.item-added {2}c1 {2}cart-service/m);
      await localTail.waitFor(/"position":"0"/);
      expect((await remote(['publish', '--stdin'], `${JSON.stringify({ type: 'cart.item-added', data: JSON.parse(item('c2', 3)) as unknown })}\n`)).code).toBe(0);
      await remoteTail.waitFor(/^1 {2}.* cart\.item-added {2}c2 /m);
      await localTail.waitFor(/"position":"1"/);
      await remoteTail.stop();
      await localTail.stop();

      const status = await remote(['status']);
      expect(status.stdout).toMatch(/^CONSUMER +KIND +VERSION +STATE +POSITION +LAG/);
      expect(status.stdout).toMatch(/^carts +projection +1 +running +2 +0 /m);
      const letters = await remote(['--json', 'dlq', 'list', 'carts']);
      expect(JSON.parse(letters.stdout)).toEqual({ consumer: 'carts', deadLetters: [] });
      expect((await remote(['dlq', 'retry', 'carts', '9'])).stderr).toMatch(/^error DeadLetterNotFound/);
      expect((await remote(['rebuild', 'carts'])).stdout).toMatch(/^rebuilt carts: 2 events/);
      const read = await remote(['read']);
      expect(read.stdout.trim().split('\n')).toHaveLength(2);

      // Rebuilding on the data folder needs the service stopped: it says to use --url.
      expect((await cli(['rebuild', 'carts'])).stderr).toMatch(/^error LogLocked: A service \(pid \d+\) is running.*--url/);

      expect((await cli(['keys', 'revoke', id])).code).toBe(0);
      const revoked = await remote(['publish', 'cart.item-added', '--payload', item('c3')]);
      expect(revoked.code).toBe(1);
      expect(revoked.stderr).toMatch(/^error Unauthorized: Revoked key/);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.errors()).toMatch(/"msg":"unilog service stopped"/);

    const rebuilt = await cli(['rebuild', 'carts']);
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stderr).toMatch(/rebuild carts \[.*\] 100% \| 2\/2 events/);
    const local = await cli(['status']);
    expect(local.stdout).toMatch(/^carts +projection +1 +stopped +2 +0 /m);
    const out = path.join(project.dir, 'schemas');
    expect((await cli(['schemas', 'export', '--out', out])).code).toBe(0);
    expect(await readdir(out)).toEqual(['cart.item-added.v1.schema.json']);
  });

  it('--insecure serves without keys and warns', { timeout: 60_000 }, async () => {
    const server = startUnilog(['--dir', path.join(project.dir, 'insecure'), 'serve', '--port', '0', '--insecure', '--json'], { cwd: project.dir });
    try {
      const url = (await server.waitFor(/"url":"([^"]+)"/))[1] as string;
      expect(server.errors()).toMatch(/^warning: --insecure: anyone who can reach/m);
      const published = await unilog(['--url', url, 'publish', 'cart.item-added', '--payload', item('c1')], { cwd: project.dir });
      expect(JSON.parse(published.stdout)).toMatchObject({ position: '0' });
    } finally {
      await server.stop();
    }
  });
});
