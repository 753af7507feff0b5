import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeBlocks, runDocExample, tempProject, unilog } from '../support/project.ts';

describe('README examples run as written', () => {
  let project: Awaited<ReturnType<typeof tempProject>>;
  let blocks: Map<string, string>;
  beforeAll(async () => {
    project = await tempProject();
    blocks = await readmeBlocks();
    for (const [file, code] of blocks) await project.write(file, code);
  });
  afterAll(async () => project.remove());

  it('has the blocks this test runs', () => {
    expect([...blocks.keys()].sort()).toEqual(['quickstart.ts', 'unilog.config.ts', 'upcasting.ts']);
  });

  it('quick start: define, publish, read back', async () => {
    const result = await runDocExample(project, 'README.md', 'quickstart.ts');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^appended product.created [0-9A-Z]{26} at position 0\n0 p-1 \{"id":"p-1","name":"Trail boots","category":"shoes","price":129\}\n$/);
  });

  it('upcasting: readers get the newest version', async () => {
    const result = await runDocExample(project, 'README.md', 'upcasting.ts');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('{"id":"p-1","name":"Boots","brand":"unbranded"}\ntrue\n');
  });

  it('the CLI commands shown work with the config shown', async () => {
    const dir = `${project.dir}/cli-data`;
    const publish = await unilog(['--dir', dir, 'publish', 'product.created', '--payload', '{"id":"p-1","name":"Trail boots","category":"shoes"}'], { cwd: project.dir });
    expect(publish.stderr).toBe('');
    expect(publish.stdout).toMatch(/^\{"position":"0","id":"[0-9A-Z]{26}"\}\n$/);
    const stdin = await unilog(['--dir', dir, 'publish', '--stdin'], { cwd: project.dir, input: '{"type":"product.created","data":{"id":"p-2","name":"Parka","category":"coats"}}\n' });
    expect(stdin.stdout).toMatch(/^\{"position":"1","id":/);
    const read = await unilog(['--dir', dir, 'read', '--from', '0', '--limit', '10'], { cwd: project.dir });
    expect(read.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { event: { subject: string } }).event.subject)).toEqual(['p-1', 'p-2']);
    const verify = await unilog(['--dir', dir, 'verify'], { cwd: project.dir });
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('Sound');
  });
});
