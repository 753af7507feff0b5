// `npm start` as a user runs it: a child process on a data folder and a free port, stopped with SIGTERM. Started
// twice on one folder, it seeds once: the second start publishes nothing and the views hold the same counts.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileEventLog } from '../../src/index.ts';
import { seedPhotographers, seedProducts } from '../../sample-app/seed.ts';
import { tempDir } from '../support/tempDir.ts';

const repo = path.resolve(import.meta.dirname, '../..');

interface Run {
  readonly url: string;
  readonly stdout: string;
  readonly code: number | null;
  /** The pages fetched while it ran. */
  readonly pages: Record<string, string>;
}

/** Runs `tsx sample-app/start.ts` until it prints its URL, fetches `paths`, then stops it with SIGTERM. */
async function startOnce(dir: string, paths: readonly string[]): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'sample-app/start.ts'], { cwd: repo, env: { ...process.env, UNILOG_DIR: dir, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => { reject(new Error(`npm start exited ${String(code)} before it printed its URL:\n${stdout}\n${stderr}`)); });
  });
  const pages: Record<string, string> = {};
  try {
    for (const p of paths) {
      const response = await fetch(`${url}${p}`);
      expect(response.status, `GET ${p}`).toBe(200);
      pages[p] = await response.text();
    }
  } finally {
    child.kill('SIGTERM');
  }
  const code = await exited;
  return { url, stdout, code, pages };
}

describe('npm start (sample-app/start.ts)', () => {
  let dir: string;
  let remove: () => Promise<void>;
  let first: Run;
  let second: Run;

  beforeAll(async () => {
    ({ dir, remove } = await tempDir('hello-retail-start-'));
    first = await startOnce(dir, ['/', '/photographers', '/scores']);
    second = await startOnce(dir, ['/', '/photographers', '/scores']);
  });
  afterAll(async () => {
    await remove();
  });

  it('binds to 127.0.0.1 on the PORT given, prints the URL, and stops cleanly on SIGTERM', () => {
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.stdout).toContain('Stopped.');
    expect(first.code, 'exit code after SIGTERM').toBe(0);
    expect(second.code, 'exit code after SIGTERM').toBe(0);
  });

  it('seeds on the first start only', async () => {
    expect(first.stdout).toContain(`seeded ${seedProducts.length} products and ${seedPhotographers.length} photographers`);
    expect(second.stdout).not.toContain('seeded');
    const log = await openFileEventLog({ dir: path.join(dir, 'log') });
    try {
      const { events } = await log.read({ from: '0', limit: 10_000 });
      const seeded = events.filter((e) => e.event.source === 'demo-seed').map((e) => e.event.type);
      expect(seeded.filter((t) => t === 'product.created')).toHaveLength(seedProducts.length);
      expect(seeded.filter((t) => t === 'photographer.registered')).toHaveLength(seedPhotographers.length);
    } finally {
      await log.close();
    }
  });

  it('shows the same seed on both starts', () => {
    for (const run of [first, second]) {
      for (const product of seedProducts) expect(run.pages['/']).toContain(product.name);
      for (const photographer of seedPhotographers) expect(run.pages['/photographers']).toContain(photographer.name);
    }
    const count = (html: string | undefined) => (html?.match(/class="card"/g) ?? []).length;
    expect(count(second.pages['/'])).toBe(count(first.pages['/']));
    expect(count(second.pages['/photographers'])).toBe(count(first.pages['/photographers']));
    expect(second.pages['/scores']).toBe(first.pages['/scores']);
  });
});

describe('npm start with bad backend settings', () => {
  /** Runs start.ts to its exit with `args`, with no AWS settings in the environment. */
  const runToExit = (args: readonly string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
      const child = spawn(process.execPath, ['--import', 'tsx', 'sample-app/start.ts', ...args], { cwd: repo, env: { ...env, UNILOG_DIR: path.join(repo, '.unilog-never-made'), PORT: '0', NODE_NO_WARNINGS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => { resolve({ code, stderr }); });
    });

  it('refuses an unknown backend with the usage (exit 2)', async () => {
    const run = await runToExit(['--backend', 'mainframe']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--backend must be embedded or aws, not "mainframe"');
    expect(run.stderr).toContain('Usage: npm start');
  });

  it('says how to reach the local AWS stack when AWS is not configured (exit 1)', async () => {
    const run = await runToExit(['--backend', 'aws']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('The AWS backend could not start');
    expect(run.stderr).toContain('npm run local:aws');
  });
});
