import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/service/keys.ts';
import { readmeBlocks, run, tempProject } from '../support/project.ts';
import { startTestService } from '../support/service.ts';

const repo = path.resolve(import.meta.dirname, '../..');

/** A folder with a `unilog` command that runs this repository's CLI, to put first on PATH. */
async function unilogBin(dir: string): Promise<string> {
  const bin = path.join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const file = path.join(bin, 'unilog');
  await writeFile(file, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(repo, 'bin', 'unilog.js'))} "$@"\n`);
  await chmod(file, 0o755);
  return bin;
}

/** Runs a doc's bash block in `cwd` with `bash -euo pipefail`, `unilog` on PATH and none of the UNILOG_ variables but `env`'s. */
function bash(script: string, cwd: string, bin: string, env: Record<string, string> = {}) {
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !name.startsWith('UNILOG_')) clean[name] = value;
  return run('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: { ...clean, PATH: `${bin}${path.delimiter}${clean['PATH'] ?? ''}`, ...env } });
}

/** The lines of `text` that are not empty. */
const linesOf = (text: string) => text.split('\n').filter((line) => line !== '');

describe('docs/cli.md', () => {
  let project: Awaited<ReturnType<typeof tempProject>>;
  let blocks: Map<string, string>;
  let bin: string;
  beforeAll(async () => {
    project = await tempProject();
    blocks = await readmeBlocks('docs/cli.md');
    bin = await unilogBin(project.dir);
  });
  afterAll(async () => project.remove());

  it('has the blocks this test runs', () => {
    expect([...blocks.keys()]).toEqual(['unilog.config.ts', 'cli-local.sh', 'cli-service.sh']);
  });

  it('the data-folder walkthrough runs with the config shown', async () => {
    await project.write('unilog.config.ts', blocks.get('unilog.config.ts') as string);
    const result = await bash(blocks.get('cli-local.sh') as string, project.dir, bin);
    expect(result.code, `the walkthrough failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
    // Only the rebuild's progress bar may write to stderr.
    expect(linesOf(result.stderr).filter((line) => !line.startsWith('rebuild carts ['))).toEqual([]);

    const out = result.stdout;
    expect(out).toMatch(/^key id ([0-9a-f]{12}) for producer cart-service\nulk_\1\.[A-Za-z0-9_-]{43}\nThis key is shown once: store it now\. Revoke it with unilog keys revoke \1\.\n/);
    expect(out).toMatch(/\nkey id [0-9a-f]{12} for producer ops\n/);
    expect(out).toMatch(/\nID +PRODUCER +TYPES +SCOPES +CREATED +REVOKED\n[0-9a-f]{12} +cart-service +cart\.item-added,cart\.item-removed +- +\S+\n[0-9a-f]{12} +ops +- +read,admin +\S+\n/);
    expect(out).toMatch(/\n\{"position":"0","id":"[0-9A-Z]{26}"\}\n\{"position":"1","id":"[0-9A-Z]{26}"\}\n\{"position":"2","id":"[0-9A-Z]{26}"\}\n/);
    const read = linesOf(out).find((line) => line.startsWith('{"position":"1","event"'));
    expect(JSON.parse(read ?? 'null')).toMatchObject({ position: '1', event: { source: 'unilog-cli', type: 'cart.item-added', data: { productId: 'p-2' } } });
    expect(out).toMatch(/\n2 {2}\S+ {2}cart\.item-removed {2}c-1 {2}unilog-cli {2}\{"cartId":"c-1","productId":"p-1"\}\n/);
    expect(out).toMatch(/\nCONSUMER +KIND +VERSION +STATE +POSITION +LAG +OLDEST +DEAD LETTERS +ERROR\ncarts +projection +1 +stopped +0 +3 +/);
    expect(out).toMatch(/\nrebuilt carts: 3 events in [0-9.]+ s \([0-9]+ events\/s\)\n/);
    expect(out).toContain('\n{"consumers":[{"name":"carts","kind":"projection","version":1,"state":"stopped","position":"3","lagEvents":0,"lagMs":0,"deadLetters":0}]}\n');
    expect(out).toContain('\ncarts has no dead letters\n');
    expect(out).toContain(`\nwrote ${path.join(project.dir, 'schemas', 'cart.item-added.v1.schema.json')}\n`);
    expect(await readdir(path.join(project.dir, 'schemas'))).toEqual(['cart.item-added.v1.schema.json', 'cart.item-removed.v1.schema.json']);
    expect(out).toMatch(/\n3 event\(s\) in 1 segment\(s\), \d+ bytes, in .*\.unilog\/log\.\nSound: every record is intact\.\n$/);
  });

  it('the service walkthrough runs through --url without a config', async () => {
    const running = await startTestService();
    try {
      const key = createKey(running.dir, { producer: 'docs', types: ['*'], read: true, admin: true }).key;
      const elsewhere = path.join(project.dir, 'no-config');
      await mkdir(elsewhere);
      const result = await bash(blocks.get('cli-service.sh') as string, elsewhere, bin, { UNILOG_URL: running.service.url, UNILOG_API_KEY: key });
      expect(result.code, `the walkthrough failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
      expect(linesOf(result.stderr)).toEqual([
        `rebuilding carts on ${running.service.url}; the service answers when it has switched over`,
        'error InvalidArgument: unilog keys works on the data folder, not through a service: drop --url (and UNILOG_URL) and give --dir.',
      ]);
      const lines = linesOf(result.stdout);
      expect(lines.slice(0, 2)).toEqual(['{"position":"0","id":"order-8-1"}', '{"position":"0","id":"order-8-1"}']);
      expect(JSON.parse(lines[2] as string)).toMatchObject({ position: '0', event: { id: 'order-8-1', source: 'docs' } });
      expect(lines[3]).toMatch(/^CONSUMER +KIND +VERSION +STATE +POSITION +LAG +OLDEST +DEAD LETTERS +ERROR$/);
      expect(lines[4]).toMatch(/^carts +projection +1 +running +[01] +[01] +/);
      expect(lines[5]).toMatch(/^rebuilt carts: 1 events in [0-9.]+ s \([0-9]+ events\/s\)$/);
      expect(lines.slice(6)).toEqual(['{"consumer":"carts","deadLetters":[]}', 'exit 2']);
      // The retry appended nothing.
      expect(((await (await fetch(`${running.service.url}/health`)).json()) as { head: string }).head).toBe('1');
    } finally {
      await running.close();
    }
  });
});
