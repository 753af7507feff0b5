import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { restoreEnv } from '../../infra/local/processes.ts';
import { startLocalAwsStack } from '../../infra/local/stack.ts';
import { createAwsClients } from '../../src/aws/clients.ts';
import { awsEndpoints } from '../aws/endpoints.ts';
import { run, tempProject, unilog } from '../support/project.ts';
import { tempDir } from '../support/tempDir.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const aws = awsEndpoints();
const javaMissing = 'unavailable' in aws.dynamodb ? aws.dynamodb.unavailable : undefined;
const stackScript = path.join(repo, 'infra', 'local', 'stack.ts');

const config = `
import { z } from 'zod';
import { defineConfig, defineEvent } from 'unilog';

const ItemAdded = defineEvent({ type: 'cart.item-added', schema: z.object({ cartId: z.string() }), key: (item) => item.cartId });
export default defineConfig({ events: [ItemAdded] });
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The `export NAME=value` lines of the stack's output, as an environment. */
function exported(stdout: string): Record<string, string> {
  return Object.fromEntries([...stdout.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

describe.skipIf(javaMissing !== undefined)('the local AWS stack (npm run local:aws)', () => {
  let project: Awaited<ReturnType<typeof tempProject>>;
  let state: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    project = await tempProject();
    await project.write('unilog.config.ts', config);
    state = await tempDir('unilog-local-aws-');
  });
  afterAll(async () => {
    await project.remove();
    await state.remove();
  });

  it('starts on free ports, prints its environment, serves unilog aws init and serve --backend aws, and --stop ends every process it started', { timeout: 180_000 }, async () => {
    const stack = spawn(process.execPath, ['--import', 'tsx', stackScript, '--port-base', '0', '--state-dir', state.dir, '--config', 'none'], { cwd: repo, env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    let stdout = '';
    let stderr = '';
    stack.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    stack.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => stack.on('close', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        stack.stdout.on('data', () => {
          if (/^# then: /m.test(stdout)) resolve();
        });
        void exited.then((code) => { reject(new Error(`the stack exited ${code}: ${stderr}`)); });
      });
      const env = exported(stdout);
      expect(Object.keys(env).sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_KINESIS', 'AWS_ENDPOINT_URL_S3', 'AWS_REGION', 'AWS_REQUEST_CHECKSUM_CALCULATION', 'AWS_RESPONSE_CHECKSUM_VALIDATION', 'AWS_SECRET_ACCESS_KEY']);
      for (const name of ['AWS_ENDPOINT_URL_KINESIS', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_S3']) expect(env[name], name).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const saved = JSON.parse(readFileSync(path.join(state.dir, 'stack.json'), 'utf8')) as { pid: number; dynamodbPid: number };
      expect(saved.pid).toBe(stack.pid);
      expect(alive(saved.dynamodbPid)).toBe(true);
      const printed = await run(process.execPath, ['--import', 'tsx', stackScript, '--env', '--state-dir', state.dir], { cwd: repo, env: { NODE_NO_WARNINGS: '1' } });
      expect(exported(printed.stdout), '--env prints the same environment').toEqual(env);

      // The same commands as against AWS, with only the printed environment.
      const cli = (args: string[]) => unilog(args, { cwd: project.dir, env: { ...env, NODE_NO_WARNINGS: '1' } });
      const init = await cli(['aws', 'init']);
      expect(init.stderr).toBe('');
      expect(init.stdout, 'the stack created everything already').toMatch(/^0 created, 10 already there$/m);
      const { key } = JSON.parse((await cli(['keys', 'create', '--backend', 'aws', '--producer', 'cart-service', '--types', '*', '--json'])).stdout) as { key: string };
      const server = spawn(process.execPath, [path.join(repo, 'bin', 'unilog.js'), 'serve', '--backend', 'aws', '--port', '0', '--json'], { cwd: project.dir, env: { ...process.env, ...env, NODE_NO_WARNINGS: '1' } });
      let served = '';
      server.stdout.on('data', (chunk: Buffer) => (served += chunk.toString()));
      const serverExited = new Promise<number | null>((resolve) => server.on('close', resolve));
      try {
        const url = await new Promise<string>((resolve, reject) => {
          server.stdout.on('data', () => {
            const match = /"url":"([^"]+)"/.exec(served);
            if (match) resolve(match[1] as string);
          });
          void serverExited.then((code) => { reject(new Error(`serve exited ${code}`)); });
        });
        const publish = () => fetch(`${url}/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'cart.item-added', data: { cartId: 'c1' }, id: 'stack-1' }) });
        expect((await publish()).status).toBe(201);
        expect((await publish()).status).toBe(200);
      } finally {
        server.kill('SIGTERM');
      }
      expect(await serverExited).toBe(0);

      const stopped = await run(process.execPath, ['--import', 'tsx', stackScript, '--stop', '--state-dir', state.dir], { cwd: repo, env: { NODE_NO_WARNINGS: '1' } });
      expect(stopped.code).toBe(0);
      expect(await exited, 'the stack exits 0 when stopped').toBe(0);
      expect(alive(saved.dynamodbPid), 'DynamoDB Local is gone').toBe(false);
      expect(existsSync(path.join(state.dir, 'stack.json')), 'the pid file is removed').toBe(false);
      expect(stderr).toMatch(/local AWS stack stopped/);
    } finally {
      if (stack.exitCode === null) stack.kill('SIGTERM');
    }
  });

  it('startLocalAwsStack runs in-process: its env points the SDK at the servers, and a restart on the same data folder finds everything', { timeout: 120_000 }, async () => {
    const data = await tempDir('unilog-local-aws-data-');
    try {
      const first = await startLocalAwsStack({ portBase: 0, dataDir: data.dir, prefix: 'inproc-', shards: 1 });
      const pid = first.dynamodbPid;
      try {
        expect(first.ensured.every((r) => r.action === 'created')).toBe(true);
        // Clients with the SDK's defaults find the stack through its environment alone.
        const saved = Object.fromEntries(Object.keys(first.env).map((name) => [name, process.env[name]]));
        Object.assign(process.env, first.env);
        // The SDK reads the environment at each request (region, endpoints), so it stays set until the requests are done.
        const clients = await createAwsClients();
        try {
          expect((await clients.kinesis.send(new ListStreamsCommand({}))).StreamNames).toEqual([first.resources.streamName]);
          expect((await clients.dynamodb.send(new ListTablesCommand({}))).TableNames?.sort()).toEqual(first.resources.tables.map((t) => t.name).sort());
          expect((await clients.s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name).sort()).toEqual([first.resources.buckets.archive, first.resources.buckets.blobs].sort());
        } finally {
          clients.destroy();
          restoreEnv(saved);
        }
      } finally {
        await first.stop();
      }
      expect(pid !== undefined && alive(pid), 'stop ends DynamoDB Local').toBe(false);
      const second = await startLocalAwsStack({ portBase: 0, dataDir: data.dir, prefix: 'inproc-', shards: 1 });
      try {
        expect(second.ensured.filter((r) => r.action === 'created'), 'streams, tables and buckets were kept in the data folder').toEqual([]);
      } finally {
        await second.stop();
      }
    } finally {
      await data.remove();
    }
  });
});
