import path from 'node:path';
import { UnilogError } from '../errors.ts';
import type { UnilogConfig } from '../config/defineConfig.ts';
import { findConfigFile, loadConfig } from '../config/loadConfig.ts';
import { openFileEventLog, type FileEventLog } from '../log/file/fileEventLog.ts';

/** The options every command takes. */
export interface GlobalOptions {
  readonly dir?: string;
  readonly config?: string;
  readonly json?: boolean;
  /** A running service to work through instead of the data folder (env UNILOG_URL). */
  readonly url?: string;
  /** The API key for `--url` (env UNILOG_API_KEY). */
  readonly apiKey?: string;
}

/** An error that means the command line was wrong: the CLI exits with 2. */
export function usageError(message: string): UnilogError<'InvalidArgument'> {
  return new UnilogError('InvalidArgument', message, { argument: 'usage', reason: message });
}

/** Resolves the data folder: `--dir`, then `UNILOG_DIR`, then the config's backend dir, then `./.unilog`. */
export function dataDir(options: GlobalOptions, config?: UnilogConfig): string {
  return path.resolve(options.dir ?? process.env['UNILOG_DIR'] ?? config?.backend.dir ?? '.unilog');
}

/** The folder of the event log inside a data folder. */
export function logDir(dataFolder: string): string {
  return path.join(dataFolder, 'log');
}

/** Loads the config, which commands that validate events require. */
export function requireConfig(options: GlobalOptions): Promise<UnilogConfig> {
  return loadConfig(process.cwd(), options.config);
}

/** Loads the config when there is one: reading works without, but then events are not upcast. */
export async function optionalConfig(options: GlobalOptions): Promise<UnilogConfig | undefined> {
  if (options.config === undefined && (await findConfigFile(process.cwd())) === undefined) return undefined;
  return loadConfig(process.cwd(), options.config);
}

/** Opens the log of the data folder for writing. */
export function openWriter(options: GlobalOptions, config: UnilogConfig): Promise<FileEventLog> {
  const { segmentBytes, maxEventBytes } = config.backend;
  return openFileEventLog({
    dir: logDir(dataDir(options, config)),
    ...(segmentBytes === undefined ? {} : { segmentBytes }),
    ...(maxEventBytes === undefined ? {} : { maxEventBytes }),
  });
}
