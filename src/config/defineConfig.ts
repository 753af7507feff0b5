import { UnilogError } from '../errors.ts';
import type { AnyEventDefinition } from '../events/defineEvent.ts';

/** The embedded backend: the file log (and, with projections, SQLite views) in the data folder. */
export interface FileBackendConfig {
  readonly kind: 'file';
  /** The data folder; `--dir` and `UNILOG_DIR` take precedence. @default ".unilog" */
  readonly dir?: string;
  /** @default 67108864 (64 MiB) */
  readonly segmentBytes?: number;
  /** @default 1048576 (1 MiB) */
  readonly maxEventBytes?: number;
}

/** Where the log lives. */
export type BackendConfig = FileBackendConfig;

/** The event store (entity streams over the log). */
export interface StoreConfig {
  /** The producer stamped as the source of stream events. @default "event-store" */
  readonly source?: string;
}

/** What `unilog.config.ts` default-exports. */
export interface UnilogConfig<TDefs extends AnyEventDefinition = AnyEventDefinition> {
  /** The newest definition of every event type the application publishes or reads. */
  readonly events: readonly TDefs[];
  /** Projections (see the projections guide). @default [] */
  readonly projections: readonly unknown[];
  /** @default { kind: 'file' } */
  readonly backend: BackendConfig;
  /** @default {} */
  readonly store: StoreConfig;
}

/** The input of {@link defineConfig}. */
export interface DefineConfigInput<TDefs extends AnyEventDefinition> {
  readonly events: readonly TDefs[];
  readonly projections?: readonly unknown[];
  readonly backend?: BackendConfig;
  readonly store?: StoreConfig;
}

const configMarker = Symbol.for('unilog.config');

/**
 * Declares an application's events, projections and backend, for the CLI and the service; does no I/O.
 * @example
 * export default defineConfig({ events: [ProductCreated] });
 */
export function defineConfig<const TDefs extends AnyEventDefinition>(input: DefineConfigInput<TDefs>): UnilogConfig<TDefs> {
  const events: unknown = (input as { events?: unknown }).events;
  if (!Array.isArray(events) || events.some((e) => typeof e !== 'object' || e === null || typeof (e as { type?: unknown }).type !== 'string')) {
    throw new UnilogError('ConfigInvalid', 'defineConfig needs events: an array of definitions made with defineEvent.', { file: '', reason: 'events is not an array of event definitions' });
  }
  const backend = input.backend ?? { kind: 'file' };
  if ((backend as { kind?: unknown }).kind !== 'file') {
    throw new UnilogError('ConfigInvalid', `Unknown backend kind ${JSON.stringify((backend as { kind?: unknown }).kind)}: use { kind: 'file' }.`, { file: '', reason: 'unknown backend' });
  }
  return Object.freeze({ events: input.events, projections: input.projections ?? [], backend, store: input.store ?? {}, [configMarker]: true });
}

/** True when `value` was made by `defineConfig`. */
export function isUnilogConfig(value: unknown): value is UnilogConfig {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[configMarker] === true;
}
