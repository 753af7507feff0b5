import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const live = new Set<string>();
let handlersInstalled = false;

function removeAll(): void {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
  live.clear();
}

/** Removes every temp root still alive when the process is interrupted, then exits as the signal would. */
function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      removeAll();
      process.exit(code);
    });
  }
}

/** A folder of scratch files and folders. */
export interface TempRoot {
  readonly path: string;
  /** A path inside this folder not used before (not created: the caller creates a file or folder there). */
  fresh(name: string): string;
  /** A new subfolder (created), for files to be removed together. */
  folder(name: string): TempFolder;
}

export interface TempFolder extends TempRoot {
  /** Removes the folder and everything in it. */
  remove(): void;
}

function tempFolder(dir: string): TempFolder {
  let counter = 0;
  const folder: TempFolder = {
    path: dir,
    fresh(name) {
      counter++;
      return path.join(dir, `${String(counter).padStart(3, '0')}-${name}`);
    },
    folder(name) {
      const sub = folder.fresh(name);
      mkdirSync(sub);
      return tempFolder(sub);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return folder;
}

/** A fresh folder under os.tmpdir(), removed when `fn` settles (and on Ctrl-C). */
export async function withTempRoot<T>(prefix: string, fn: (root: TempRoot) => Promise<T>): Promise<T> {
  installHandlers();
  const root = tempFolder(mkdtempSync(path.join(os.tmpdir(), prefix)));
  live.add(root.path);
  try {
    return await fn(root);
  } finally {
    root.remove();
    live.delete(root.path);
  }
}
