import type { SuiteArgs } from './args.ts';

/** One table of results: the runner prints it when `--json` is not given. */
export interface ReportTable {
  readonly headers: readonly string[];
  /** Which columns hold numbers (right-aligned). */
  readonly numeric: readonly boolean[];
  readonly rows: readonly (readonly string[])[];
}

/** What a suite hands back to the runner. */
export interface SuiteReport {
  readonly suite: string;
  /** Lines printed above the table (sizes, counts). */
  readonly preface: readonly string[];
  readonly table: ReportTable;
  /** Lines printed below the table. */
  readonly notes: readonly string[];
  /** Measured over baseline (or over another case); the JSON output carries these. */
  readonly ratios: Readonly<Record<string, number>>;
  /** Raw figures (events/s, MB); the JSON output carries these. */
  readonly figures: Readonly<Record<string, number>>;
}

/** A bench/suites/<name>.ts module. */
export interface SuiteModule {
  run(args: SuiteArgs): Promise<SuiteReport>;
}

export function isSuiteModule(value: unknown): value is SuiteModule {
  return typeof value === 'object' && value !== null && typeof (value as { run?: unknown }).run === 'function';
}
