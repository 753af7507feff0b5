import { spawn } from 'node:child_process';
import { open, truncate } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameOffsets } from '../support/frames.ts';
import { tempProject, unilog } from '../support/project.ts';

const config = `
import { z } from 'zod';
import { defineConfig, defineEvent } from 'unilog';

const ProductCreated = defineEvent({
  type: 'product.created',
  schema: z.strictObject({ id: z.string(), name: z.string() }),
  key: (product) => product.id,
});
export default defineConfig({ events: [ProductCreated] });
`;

const segment = '00000000000000000000.seg';
const line = (id: string) => JSON.stringify({ type: 'product.created', data: { id, name: `product ${id}` } });

describe('unilog CLI', () => {
  let project: Awaited<ReturnType<typeof tempProject>>;
  let n = 0;
  /** A fresh data folder per test. */
  const fresh = () => path.join(project.dir, `data-${n++}`);
  beforeAll(async () => {
    project = await tempProject();
    await project.write('unilog.config.ts', config);
  });
  afterAll(async () => project.remove());
  const cli = (args: string[], input?: string) => unilog(args, { cwd: project.dir, ...(input === undefined ? {} : { input }) });

  it('publish prints position and id; a bad payload prints every issue and appends nothing', async () => {
    const dir = fresh();
    const ok = await cli(['--dir', dir, 'publish', 'product.created', '--payload', '{"id":"a","name":"A"}', '--key', 'custom']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ position: '0' });
    const bad = await cli(['--dir', dir, 'publish', 'product.created', '--payload', '{"id":1,"extra":true}']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^error SchemaViolation: Invalid product.created data: id: .*name: .*Unrecognized key: "extra"/);
    const json = await cli(['--dir', dir, '--json', 'publish', 'nope.type', '--payload', '{}']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'UnknownEventType', details: { type: 'nope.type', known: ['product.created'] } } });
    const read = await cli(['--dir', dir, 'read']);
    const events = read.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: { subject: string } });
    expect(events.map((e) => e.event.subject)).toEqual(['custom']);
  });

  it('publish --stdin appends in batches; a bad line rejects only its batch, named by line number', async () => {
    const dir = fresh();
    const lines = Array.from({ length: 250 }, (_, i) => line(`p${i}`));
    lines[149] = '{"type":"product.created","data":{"id":"p149"}}';
    lines.splice(60, 0, '');
    const result = await cli(['--dir', dir, 'publish', '--stdin'], `${lines.join('\n')}\n`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error SchemaViolation: .*\(line 151; the batch of lines 102-201 was not appended\)\n$/);
    const printed = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { position: string });
    expect(printed).toHaveLength(150);
    const read = await cli(['--dir', dir, 'read', '--from', '99', '--limit', '2']);
    expect(read.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { event: { subject: string } }).event.subject)).toEqual(['p99', 'p200']);
    const notJson = await cli(['--dir', dir, 'publish', '--stdin'], `${line('x1')}\n{oops\n`);
    expect(notJson.stderr).toMatch(/^error InvalidArgument: line 2 is not JSON.*\(line 2; the batch of lines 1-2 was not appended\)/);
  });

  it('publish --stdin appends lines as they arrive, not at end of input', async () => {
    const dir = fresh();
    const child = spawn(process.execPath, [path.resolve('bin/unilog.js'), '--dir', dir, 'publish', '--stdin'], { cwd: project.dir, stdio: ['pipe', 'pipe', 'inherit'] });
    const output = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    child.stdin.write(`${line('live-1')}\n`);
    const first = await output.next();
    expect(JSON.parse(String(first.value))).toMatchObject({ position: '0' });
    child.stdin.write(`${line('live-2')}\n`);
    expect(JSON.parse(String((await output.next()).value))).toMatchObject({ position: '1' });
    child.stdin.end();
    await new Promise((resolve) => child.on('close', resolve));
  });

  it('without a config, publish says how to make one; read works without', async () => {
    const dir = fresh();
    await cli(['--dir', dir, 'publish', 'product.created', '--payload', '{"id":"a","name":"A"}']);
    const elsewhere = await unilog(['--dir', dir, 'publish', 'product.created', '--payload', '{}'], { cwd: dir });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/^error ConfigNotFound: No unilog config in .*create unilog.config.ts/);
    const read = await unilog(['--dir', dir, 'read'], { cwd: dir });
    expect(read.code).toBe(0);
    expect(read.stdout).toContain('"subject":"a"');
  });

  it('UNILOG_DIR chooses the data folder', async () => {
    const dir = fresh();
    await unilog(['publish', 'product.created', '--payload', '{"id":"env","name":"E"}'], { cwd: project.dir, env: { UNILOG_DIR: dir } });
    const read = await cli(['--dir', dir, 'read']);
    expect(read.stdout).toContain('"subject":"env"');
  });

  it('verify: sound, torn tail (exit 0, says what the next open cuts), damage (exit 1), repair, and no log', async () => {
    const dir = fresh();
    await cli(['--dir', dir, 'publish', '--stdin'], `${Array.from({ length: 30 }, (_, i) => line(`v${i}`)).join('\n')}\n`);
    await cli(['--dir', dir, 'publish', 'product.created', '--payload', '{"id":"last","name":"L"}']);
    const file = path.join(dir, 'log', segment);
    expect((await cli(['--dir', dir, 'verify'])).stdout).toContain('31 event(s) in 1 segment(s)');

    const offsets = await frameOffsets(file);
    await truncate(file, offsets[30]! + 20);
    const torn = await cli(['--dir', dir, 'verify']);
    expect(torn.code).toBe(0);
    expect(torn.stdout).toContain(`the next open cuts 20 byte(s) at byte ${offsets[30]} of ${segment}`);

    const handle = await open(file, 'r+');
    await handle.write(Buffer.from('XX'), 0, 2, offsets[10]! + 30);
    await handle.close();
    const damaged = await cli(['--dir', dir, 'verify']);
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toContain(`Corrupted: segment ${segment} at byte ${offsets[10]}: CRC mismatch. 19 intact record(s) follow the damage; 10 intact record(s) before it belong to the batch it breaks.`);
    const json = await cli(['--dir', dir, '--json', 'verify']);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'corrupted', corruption: { segment, offset: offsets[10] } });
    const refused = await cli(['--dir', dir, 'publish', 'product.created', '--payload', '{"id":"x","name":"X"}']);
    expect(refused.stderr).toMatch(/^error LogCorrupted: .*unilog verify --repair/);

    const repair = await cli(['--dir', dir, 'verify', '--repair']);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toContain(`Repaired: cut ${segment} at byte 0`);
    expect(repair.stdout).toMatch(/Dropped \d+ bytes: 29 intact record\(s\)/);
    expect((await cli(['--dir', dir, 'verify'])).code).toBe(0);

    const none = await cli(['--dir', fresh(), 'verify']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^error LogNotFound: There is no event log in /);
  });

  it('rejects bad options with clear errors', async () => {
    const dir = fresh();
    // Options are checked before the log is opened.
    expect((await cli(['--dir', dir, 'read', '--limit', '0'])).stderr).toMatch(/^error InvalidArgument: Invalid limit/);
    expect((await cli(['--dir', dir, 'read'])).stderr).toMatch(/^error LogNotFound/);
    await cli(['--dir', dir, 'publish', 'product.created', '--payload', '{"id":"a","name":"A"}']);
    expect((await cli(['--dir', dir, 'read', '--limit', 'x'])).stderr).toMatch(/^error InvalidArgument: Invalid limit/);
    expect((await cli(['--dir', dir, 'read', '--from', '-1'])).stderr).toMatch(/^error InvalidPosition/);
    expect((await cli(['--dir', dir, 'publish', 'product.created'])).stderr).toMatch(/^error InvalidArgument: unilog publish: give TYPE and --payload JSON, or --stdin/);
    expect((await cli(['--dir', dir, 'bogus'])).code).toBe(2);
  });
});
