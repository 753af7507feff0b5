import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes } from '../../src/index.ts';
import { readmeBlocks, runDocExample, tempProject } from '../support/project.ts';

describe('docs/errors.md', () => {
  let project: Awaited<ReturnType<typeof tempProject>>;
  beforeAll(async () => (project = await tempProject()));
  afterAll(async () => project.remove());

  it('lists every error code, and only those', async () => {
    const text = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...text.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...errorCodes].sort());
  });

  it('its example runs and prints the path of each problem', async () => {
    expect([...(await readmeBlocks('docs/errors.md')).keys()]).toEqual(['errors-example.ts']);
    const result = await runDocExample(project, 'docs/errors.md', 'errors-example.ts');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('[["id"]]\n');
  });
});

describe('docs/projections.md', () => {
  let project: Awaited<ReturnType<typeof tempProject>>;
  beforeAll(async () => (project = await tempProject()));
  afterAll(async () => project.remove());

  it('has the examples this test runs', async () => {
    expect([...(await readmeBlocks('docs/projections.md')).keys()]).toEqual(['projection-example.ts', 'reactor-example.ts']);
  });

  it('the projection example builds a SQLite view and reads it back', async () => {
    const result = await runDocExample(project, 'docs/projections.md', 'projection-example.ts');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('[{"id":"p-1","name":"Trail boots","category":"shoes","sold":1}]\n');
  });

  it('the reactor example runs its side effect once', async () => {
    const result = await runDocExample(project, 'docs/projections.md', 'reactor-example.ts');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('1\n');
  });
});
