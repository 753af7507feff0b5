import { access } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UnilogError } from '../errors.ts';
import { isUnilogConfig, type UnilogConfig } from './defineConfig.ts';

/** The file names looked for, in order, when no `--config` is given. */
export const configFileNames = ['unilog.config.ts', 'unilog.config.mts', 'unilog.config.js', 'unilog.config.mjs'] as const;

/** Finds the config file: `file` when given, else the first of {@link configFileNames} in `cwd`. */
export async function findConfigFile(cwd: string, file?: string): Promise<string | undefined> {
  const candidates = file === undefined ? configFileNames.map((name) => path.join(cwd, name)) : [path.resolve(cwd, file)];
  for (const candidate of candidates) {
    try {
      await access(candidate);
      return candidate;
    } catch {
      // Not there: try the next name.
    }
  }
  if (file !== undefined) throw new UnilogError('ConfigNotFound', `The config file ${candidates[0] ?? file} does not exist: check --config.`, { searched: candidates });
  return undefined;
}

/**
 * Loads the config that `file` (or the first config file in `cwd`) default-exports. TypeScript configs
 * need a TypeScript loader in the process; the `unilog` command registers one.
 */
export async function loadConfig(cwd: string, file?: string): Promise<UnilogConfig> {
  const found = await findConfigFile(cwd, file);
  if (found === undefined) {
    throw new UnilogError('ConfigNotFound', `No unilog config in ${cwd}: create unilog.config.ts that default-exports defineConfig({ events: [...] }), or pass --config FILE.`, {
      searched: configFileNames.map((name) => path.join(cwd, name)),
    });
  }
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(found).href)) as { default?: unknown };
  } catch (cause) {
    throw new UnilogError('ConfigInvalid', `Loading ${found} failed: ${(cause as Error).message}`, { file: found, reason: (cause as Error).message }, { cause });
  }
  if (!isUnilogConfig(loaded.default)) {
    throw new UnilogError('ConfigInvalid', `${found} must default-export defineConfig({ events: [...] }) (import defineConfig from 'unilog').`, { file: found, reason: 'no defineConfig default export' });
  }
  return loaded.default;
}
