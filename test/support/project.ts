import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from './tempDir.ts';

const repo = path.resolve(import.meta.dirname, '../..');

/** A throwaway project folder where `unilog`, `zod` and `tsx` resolve to this repository. */
export async function tempProject(): Promise<{ dir: string; remove: () => Promise<void>; write: (file: string, text: string) => Promise<void> }> {
  const { dir, remove } = await tempDir('unilog-project-');
  await mkdir(path.join(dir, 'node_modules'));
  await symlink(repo, path.join(dir, 'node_modules', 'unilog'));
  for (const name of ['zod', 'tsx']) await symlink(path.join(repo, 'node_modules', name), path.join(dir, 'node_modules', name));
  await writeFile(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  return { dir, remove, write: (file, text) => writeFile(path.join(dir, file), text) };
}

/** What a finished command printed. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command in `cwd` with `input` on stdin; the environment has no UNILOG_DIR unless `env` sets one. */
export function run(command: string, args: readonly string[], options: { cwd: string; input?: string; env?: Record<string, string> }): Promise<RunResult> {
  const env = { ...process.env, ...options.env };
  if (!options.env?.['UNILOG_DIR']) delete env['UNILOG_DIR'];
  const child = spawn(command, args, { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => { resolve({ code, stdout, stderr }); });
  });
}

/** Runs the `unilog` command of this repository. */
export function unilog(args: readonly string[], options: { cwd: string; input?: string; env?: Record<string, string> }): Promise<RunResult> {
  return run(process.execPath, [path.join(repo, 'bin', 'unilog.js'), ...args], options);
}

/** The fenced code blocks of a document (README.md by default) marked `<!-- test: FILE -->`, by file name. */
export async function readmeBlocks(document = 'README.md'): Promise<Map<string, string>> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(path.join(repo, document), 'utf8');
  const blocks = new Map<string, string>();
  for (const match of text.matchAll(/<!-- test: (\S+) -->\n```\w*\n([\s\S]*?)```/g)) blocks.set(match[1]!, match[2]!);
  return blocks;
}

/** Writes the block of `document` marked `<!-- test: FILE -->` into `project` and runs it with tsx. */
export async function runDocExample(project: { dir: string; write: (file: string, text: string) => Promise<void> }, document: string, file: string): Promise<RunResult> {
  const code = (await readmeBlocks(document)).get(file);
  if (code === undefined) throw new Error(`${document} has no block marked <!-- test: ${file} -->`);
  await project.write(file, code);
  return run(process.execPath, ['--import', 'tsx', file], { cwd: project.dir });
}

/** A long-running `unilog` (serve, tail --follow): its output so far, a wait for a pattern on stdout, and a stop by SIGTERM. */
export interface LongRunningUnilog {
  readonly child: ChildProcessWithoutNullStreams;
  output(): string;
  errors(): string;
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  stop(): Promise<number | null>;
}

/** Starts the `unilog` of this repository with `args` in `cwd`; the environment has no UNILOG_DIR unless `env` sets one. */
export function startUnilog(args: readonly string[], options: { cwd: string; env?: Record<string, string> }): LongRunningUnilog {
  const env = { ...process.env, ...options.env };
  if (!options.env?.['UNILOG_DIR']) delete env['UNILOG_DIR'];
  const child = spawn(process.execPath, [path.join(repo, 'bin', 'unilog.js'), ...args], { cwd: options.cwd, env });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    child,
    output: () => stdout,
    errors: () => stderr,
    async waitFor(pattern) {
      for (;;) {
        const match = pattern.exec(stdout);
        if (match) return match;
        if (child.exitCode !== null) throw new Error(`unilog ${args.join(' ')} exited ${child.exitCode}: ${stderr}`);
        await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), exited]);
      }
    },
    stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
