import { readFileSync } from 'node:fs';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UnilogError } from '../../errors.ts';

/** The writer's lock: a file naming the holder's pid and process start time. */
export interface WriterLock {
  release(): Promise<void>;
}

const lockFileName = 'LOCK';

/** The start time of a process (clock ticks since boot, from /proc), so a reused pid is not mistaken for the holder. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may hold spaces, so count from the closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    // No /proc (macOS, Windows) or no such process: the pid check alone decides.
    return undefined;
  }
}

function isAlive(pid: number, startTime: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const current = processStartTime(pid);
  return startTime === undefined || current === undefined || current === startTime;
}

/** Reads the holder of a lock file, if any. */
export async function readLockHolder(dir: string): Promise<{ pid: number; alive: boolean } | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, lockFileName), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const [pidText, startTime] = text.trim().split(' ');
  const pid = Number(pidText);
  return { pid, alive: Number.isSafeInteger(pid) && pid > 0 && isAlive(pid, startTime) };
}

/**
 * Takes the single-writer lock of `dir`, or throws `LogLocked` naming the live holder's pid.
 * A lock left by a dead process (after a crash) is taken over.
 */
export async function acquireWriterLock(dir: string): Promise<WriterLock> {
  const lockPath = path.join(dir, lockFileName);
  const content = `${process.pid} ${processStartTime(process.pid) ?? ''}\n`;
  // Written aside and hard-linked into place: link fails if the lock exists, and readers never see it half written.
  const temp = path.join(dir, `${lockFileName}.${process.pid}.tmp`);
  await writeFile(temp, content);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(temp, lockPath);
        return {
          async release() {
            const holder = await readLockHolder(dir);
            if (holder?.pid === process.pid) await unlink(lockPath);
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readLockHolder(dir);
      if (holder?.alive) {
        throw new UnilogError('LogLocked', `The log in ${dir} is locked by process ${holder.pid}, which is writing to it: stop that process, or open this log read-only.`, { dir, pid: holder.pid });
      }
      // The holder is gone: remove its lock and try again (another process may win the race, which is fine).
      await unlink(lockPath).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      });
    }
    throw new UnilogError('LogLocked', `Could not take the lock of ${dir}: other processes keep taking it. Make sure only one writer opens this log.`, { dir, pid: 0 });
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
