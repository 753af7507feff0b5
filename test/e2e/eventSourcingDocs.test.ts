import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeBlocks, runDocExample, tempProject } from '../support/project.ts';

describe('docs/event-sourcing.md', () => {
  let project: Awaited<ReturnType<typeof tempProject>>;
  beforeAll(async () => (project = await tempProject()));
  afterAll(async () => project.remove());

  it('has the example this test runs', async () => {
    expect([...(await readmeBlocks('docs/event-sourcing.md')).keys()]).toEqual(['decider-example.ts']);
  });

  it('the decider example handles concurrent commands on a file store and prints what the doc says', async () => {
    const result = await runDocExample(project, 'docs/event-sourcing.md', 'decider-example.ts');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('{"state":{"items":20,"checkedOut":true},"version":11}\n11 cart.checked-out 11\n');
  });
});
