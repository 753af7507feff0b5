/**
 * A throwaway PostgreSQL server for the peers bench: Debian's PostgreSQL (installed with apt-get when missing and the
 * bench runs as root), a fresh cluster in a temp folder made by initdb, started by pg_ctl on 127.0.0.1 on a free port
 * with the default settings (fsync and synchronous_commit on), and stopped and removed afterwards.
 * As root, initdb and pg_ctl run as the `postgres` user (PostgreSQL refuses to run as root).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../infra/local/processes.ts';
import { progress } from './progress.ts';

/** A started server: how to connect, what it is, and how to stop it. */
export interface LocalPostgres {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  readonly connectionString: string;
  readonly port: number;
  /** `PostgreSQL 15.x ...`, from `postgres --version`. */
  readonly version: string;
  /** Where the cluster lives (under os.tmpdir(), the disk the other systems write to). */
  readonly dataDir: string;
  readonly startupMs: number;
  /** A connection string to another database of the same server. */
  urlOf(database: string): string;
  /** Stops the server (fast shutdown) and removes its folder. */
  stop(): Promise<void>;
}

const postgresUser = 'postgres';

/** The newest /usr/lib/postgresql/<major>/bin with initdb, pg_ctl and postgres, or undefined. */
function findBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  for (const major of majors) {
    const bin = path.join(root, major, 'bin');
    if (['initdb', 'pg_ctl', 'postgres'].every((tool) => existsSync(path.join(bin, tool)))) return bin;
  }
  return undefined;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Installs Debian's postgresql package (root only); the package's own cluster is not used. */
function install(): void {
  if (!isRoot()) {
    throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin). Install it with `sudo apt-get install -y postgresql`, or run the bench as root to let it install it.');
  }
  progress('PostgreSQL not found: apt-get update && apt-get install -y postgresql');
  for (const args of [['update'], ['install', '-y', 'postgresql']]) {
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status ?? result.signal ?? '?'}`})`);
  }
}

/** Runs a PostgreSQL tool, as the postgres user when we are root; throws with its output when it fails. */
function runTool(bin: string, tool: string, args: readonly string[]): string {
  const command = path.join(bin, tool);
  const [file, argv] = isRoot() ? ['runuser', ['-u', postgresUser, '--', command, ...args]] : [command, [...args]];
  try {
    return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (error) {
    const output = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${output.message}\n${output.stdout ?? ''}${output.stderr ?? ''}`.trim(), { cause: error });
  }
}

/** Installs PostgreSQL if needed, makes a fresh cluster in a temp folder and starts it on 127.0.0.1. */
export async function startPostgres(): Promise<LocalPostgres> {
  const began = performance.now();
  let bin = findBinDir();
  if (bin === undefined) {
    install();
    bin = findBinDir();
    if (bin === undefined) throw new Error('apt-get installed postgresql, but no /usr/lib/postgresql/<version>/bin/initdb was found');
  }
  const version = runTool(bin, 'postgres', ['--version']).trim();
  const root = mkdtempSync(path.join(os.tmpdir(), 'unilog-bench-pg-'));
  const dataDir = path.join(root, 'data');
  const logFile = path.join(root, 'server.log');
  let started = false;
  const remove = (): void => {
    rmSync(root, { recursive: true, force: true });
  };
  try {
    if (isRoot()) {
      const uid = Number(execFileSync('id', ['-u', postgresUser], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', postgresUser], { encoding: 'utf8' }).trim());
      chownSync(root, uid, gid);
    }
    // Trust authentication is safe here: the server listens on 127.0.0.1 and its socket sits in a private folder.
    runTool(bin, 'initdb', ['-D', dataDir, '-U', postgresUser, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-instructions']);
    const port = await freePort();
    // Only where it listens is set: every other setting is initdb's default (fsync on, synchronous_commit on).
    const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${root}`;
    runTool(bin, 'pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', options]);
    started = true;
    const stop = async (): Promise<void> => {
      if (!started) return;
      started = false;
      process.off('exit', stopAtExit);
      runTool(bin, 'pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60']);
      remove();
      await Promise.resolve();
    };
    // Ctrl-C or a crash of the bench must not leave a server running.
    const stopAtExit = (): void => {
      if (!started) return;
      started = false;
      try {
        runTool(bin, 'pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '30']);
      } finally {
        remove();
      }
    };
    process.on('exit', stopAtExit);
    const base = `postgresql://${postgresUser}@127.0.0.1:${port}`;
    return {
      connectionString: `${base}/postgres`,
      port,
      version,
      dataDir,
      startupMs: Math.round(performance.now() - began),
      urlOf: (database) => `${base}/${database}`,
      stop,
    };
  } catch (error) {
    if (started) runTool(bin, 'pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '30']);
    remove();
    throw error;
  }
}
