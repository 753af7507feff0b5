import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.ts';
import { awsEndpoints, awsTestEnv } from '../aws/endpoints.ts';
import { tempProject, unilog } from '../support/project.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const aws = awsEndpoints();
const dynamodbUnavailable = 'unavailable' in aws.dynamodb ? aws.dynamodb.unavailable : undefined;

const config = `
import { z } from 'zod';
import { defineConfig, defineEvent } from 'unilog';

const ItemAdded = defineEvent({
  type: 'cart.item-added',
  schema: z.strictObject({ cartId: z.string(), quantity: z.number().int().positive() }),
  key: (item) => item.cartId,
});
export default defineConfig({ events: [ItemAdded] });
`;


type Resource = { kind: string; name: string; action: 'created' | 'existed' };

describe('unilog CLI help for the aws backend', () => {
  it.each([
    [['aws', 'init', '--help'], ['--table-prefix', '--stream', '--shards', 'AWS_ENDPOINT_URL_KINESIS']],
    [['serve', '--help'], ['--backend', '--table-prefix', '--stream']],
    [['keys', 'create', '--help'], ['--backend', '--table-prefix']],
  ])('unilog %j describes its options', async (args, mentions) => {
    let stdout = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        stdout += chunk.toString();
        callback();
      },
    });
    expect(await runCli(args, { stdin: process.stdin, stdout: sink, stderr: sink })).toBe(0);
    for (const mention of mentions) expect(stdout).toContain(mention);
  });
});

describe.skipIf(dynamodbUnavailable !== undefined)('unilog aws init, keys and serve --backend aws (local servers)', () => {
  let project: Awaited<ReturnType<typeof tempProject>>;
  const prefix = `c${randomBytes(4).toString('hex')}-`;
  const cli = (args: string[]) => unilog(args, { cwd: project.dir, env: awsTestEnv() });
  beforeAll(async () => {
    project = await tempProject();
    await project.write('unilog.config.ts', config);
  });
  afterAll(async () => project.remove());

  it('aws init creates the stream, tables and buckets, and a second run creates nothing', async () => {
    const first = await cli(['aws', 'init', '--table-prefix', prefix, '--shards', '2', '--json']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const created = (JSON.parse(first.stdout) as { resources: Resource[] }).resources;
    expect(created.map((r) => `${r.kind} ${r.name}`)).toEqual(expect.arrayContaining([`stream ${prefix}events`, `table ${prefix}service-keys`, `table ${prefix}service-ids`, `time-to-live ${prefix}service-ids`, `bucket ${prefix}archive`, `bucket ${prefix}blobs`]));
    expect(created.every((r) => r.action === 'created')).toBe(true);
    const second = await cli(['aws', 'init', '--table-prefix', prefix, '--shards', '2']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^0 created, 10 already there$/m);
    expect(second.stdout).not.toMatch(/^created/m);
  });

  it('refuses bad flags with exit 2, and an on-demand stream on kinesalite with advice', async () => {
    expect((await cli(['serve', '--table-prefix', prefix])).code).toBe(2);
    expect((await cli(['serve', '--backend', 'gcp'])).code).toBe(2);
    expect((await cli(['aws', 'init', '--table-prefix', 'Bad_Prefix'])).code).toBe(2);
    expect((await cli(['aws', 'init', '--shards', '0'])).code).toBe(2);
    const onDemand = await cli(['aws', 'init', '--table-prefix', `o${prefix}`]);
    expect(onDemand.code).toBe(1);
    expect(onDemand.stderr).toMatch(/^error InvalidArgument: The Kinesis endpoint refused an on-demand stream .*--shards N/);
  });

  it('serve --backend aws: keys from DynamoDB, a repeated client id gets its original position, read back, revoke → 401', { timeout: 120_000 }, async () => {
    const refused = await cli(['serve', '--backend', 'aws', '--table-prefix', prefix, '--port', '0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error NoApiKeys: .*unilog keys create --backend aws/);

    const created = await cli(['keys', 'create', '--backend', 'aws', '--table-prefix', prefix, '--producer', 'cart-service', '--types', 'cart.item-added', '--read', '--json']);
    expect(created.code).toBe(0);
    const { key, id } = JSON.parse(created.stdout) as { key: string; id: string };
    expect((await cli(['keys', 'list', '--backend', 'aws', '--table-prefix', prefix])).stdout).toMatch(new RegExp(`^${id}  cart-service  cart\\.item-added  read `, 'm'));

    const server = spawn(process.execPath, [path.join(repo, 'bin', 'unilog.js'), 'serve', '--backend', 'aws', '--table-prefix', prefix, '--port', '0', '--json'], { cwd: project.dir, env: { ...process.env, ...awsTestEnv() } });
    let stdout = '';
    let stderr = '';
    server.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => server.on('close', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        server.stdout.on('data', () => {
          const match = /"url":"([^"]+)"/.exec(stdout);
          if (match) resolve(match[1] as string);
        });
        void exited.then((code) => { reject(new Error(`serve exited ${code}: ${stderr}`)); });
      });
      const publish = (body: unknown) => fetch(`${url}/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const item = { type: 'cart.item-added', data: { cartId: 'c1', quantity: 2 }, id: 'order-1' };
      const first = await publish(item);
      expect(first.status).toBe(201);
      const position = ((await first.json()) as { events: { position: string }[] }).events[0]?.position;
      expect(position).toMatch(/^kinesis:shardId-/);
      const again = await publish(item);
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ events: [{ position, id: 'order-1', duplicate: true }] });
      const page = (await (await fetch(`${url}/events`, { headers: { authorization: `Bearer ${key}` } })).json()) as { events: { position: string; event: { id: string; source: string } }[] };
      expect(page.events.map((e) => [e.position, e.event.id, e.event.source])).toEqual([[position, 'order-1', 'cart-service']]);

      expect((await cli(['keys', 'revoke', '--backend', 'aws', '--table-prefix', prefix, id])).code).toBe(0);
      const revoked = await publish({ ...item, id: 'order-2' });
      expect(revoked.status).toBe(401);
    } finally {
      if (server.exitCode === null) server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/"backend":"aws".*"msg":"unilog service listening"/);
    expect(stderr).toMatch(/"msg":"unilog service stopped"/);
  });
});
