import type { Readable, Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { publishCommand } from './commands/publish.ts';
import { readCommand } from './commands/read.ts';
import { verifyCommand } from './commands/verify.ts';
import { printError, type Io } from './output.ts';

/** Standard streams, injectable for tests. */
export interface CliStreams {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/** Runs the `unilog` command line with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: readonly string[], streams: CliStreams = process): Promise<number> {
  let exitCode = 0;
  const io = (options: { json?: boolean }): Io => ({ stdout: streams.stdout, stderr: streams.stderr, json: options.json === true });
  const program = new Command('unilog')
    .description('The unified event log: publish, read and verify events.')
    .option('--dir <dir>', 'the data folder (env UNILOG_DIR)', undefined)
    .option('--config <file>', 'the config file (default: unilog.config.ts|.mts|.js|.mjs in the current folder)')
    .option('--json', 'print results and errors as JSON')
    .exitOverride()
    .configureOutput({ writeOut: (s) => streams.stdout.write(s), writeErr: (s) => streams.stderr.write(s) });

  const run = (action: (options: Record<string, unknown>) => Promise<number>) => async (command: Command) => {
    const options: { json?: boolean } & Record<string, unknown> = command.optsWithGlobals();
    try {
      exitCode = await action(options);
    } catch (error) {
      printError(io(options), error);
      exitCode = 1;
    }
  };

  program
    .command('publish [type]')
    .description('validate and append one event (--payload) or NDJSON lines from stdin (--stdin)')
    .option('--payload <json>', 'the event data, as JSON')
    .option('--key <key>', 'the partition key (default: from the event type)')
    .option('--id <id>', 'a client-chosen event id (default: a new ULID)')
    .option('--source <source>', 'the producer stamped on the events', 'unilog-cli')
    .option('--stdin', 'read NDJSON lines { "type", "data", "key"? } from stdin')
    .action((type: string | undefined, _options: unknown, command: Command) => run((o) => publishCommand(type, o, io(o), streams.stdin))(command));

  program
    .command('read')
    .description('print events as NDJSON, oldest first')
    .option('--from <position>', 'the first position to print, inclusive')
    .option('--limit <n>', 'at most this many events (default: all)')
    .action((_options: unknown, command: Command) => run((o) => readCommand(o, io(o)))(command));

  program
    .command('verify')
    .description('check every record of the log; --repair cuts it after the last good batch')
    .option('--repair', 'cut the log after its last whole, intact batch')
    .action((_options: unknown, command: Command) => run((o) => verifyCommand(o, io(o)))(command));

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return exitCode;
}
