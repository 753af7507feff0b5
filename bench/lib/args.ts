/** A bad command line: the runner prints the message and the usage, and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The options every suite gets. */
export interface SuiteArgs {
  /** Print one single-line JSON object to stdout instead of the table. */
  readonly json: boolean;
  /** `--events N`: scales the suite's sizes (each suite says how); undefined for its defaults. */
  readonly events: number | undefined;
  /** Arguments the runner does not know, for the suite to take or reject. */
  readonly rest: readonly string[];
}

export interface RunnerArgs {
  /** The suites named, in order; none means every suite. */
  readonly suites: readonly string[];
  readonly help: boolean;
  readonly args: SuiteArgs;
}

/** The smallest `--events` accepted: below it the batch cases have too few batches to mean anything. */
export const minEvents = 1000;

/**
 * Splits the command line into suite names, the runner's flags and the rest. A word right after a flag the runner does
 * not know (`--rounds 2`) is that flag's value, not a suite.
 */
export function parseArgs(argv: readonly string[]): RunnerArgs {
  const suites: string[] = [];
  let help = false;
  let json = false;
  let events: number | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') {
      json = true;
    } else if (arg === '--help' || arg === '-h') {
      help = true;
    } else if (arg === '--events' || arg.startsWith('--events=')) {
      const value = arg === '--events' ? argv[++i] : arg.slice('--events='.length);
      events = parseCount(value, '--events');
    } else if (!arg.startsWith('-') && !takesValue(argv[i - 1])) {
      suites.push(arg);
    } else {
      rest.push(arg);
    }
  }
  return { suites, help, args: { json, events, rest } };
}

/** Whether `previous` is a suite's own flag without `=value`, so that the next word is its value. */
function takesValue(previous: string | undefined): boolean {
  return previous !== undefined && /^--[a-z-]+$/.test(previous) && !['--json', '--help', '--events', '--large'].includes(previous);
}

/** A whole number of at least {@link minEvents}; `_` and `,` may group digits (`200_000`). */
function parseCount(value: string | undefined, flag: string): number {
  if (value === undefined) throw new UsageError(`${flag} needs a number.`);
  const digits = value.replace(/[_,]/g, '');
  const n = /^\d+$/.test(digits) ? Number(digits) : NaN;
  if (!Number.isSafeInteger(n) || n < minEvents) throw new UsageError(`${flag} must be a whole number of at least ${minEvents}, not ${JSON.stringify(value)}.`);
  return n;
}

/** A suite's own whole-number flag: its name, default and allowed range. */
export interface NumberFlag {
  readonly name: string;
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

/** Parses a suite's own flags (`--name N` or `--name=N`), each a whole number in its range; anything else is a usage error. */
export function parseNumberFlags<const F extends readonly NumberFlag[]>(suite: string, rest: readonly string[], flags: F): { [K in F[number]['name']]: number } {
  const values: Record<string, number> = Object.fromEntries(flags.map((flag) => [flag.name, flag.default]));
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const flag = match ? flags.find((f) => f.name === match[1]) : undefined;
    if (!match || !flag) throw new UsageError(`The ${suite} suite takes no argument ${JSON.stringify(arg)}.`);
    const value = match[2] ?? rest[++i];
    if (value === undefined) throw new UsageError(`--${flag.name} needs a number.`);
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!(n >= flag.min && n <= flag.max)) throw new UsageError(`--${flag.name} must be a whole number from ${flag.min} to ${flag.max}, not ${JSON.stringify(value)}.`);
    values[flag.name] = n;
  }
  return values as { [K in F[number]['name']]: number };
}
