import type { Readable, Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { isUnilogError } from '../errors.ts';
import { awsInitCommand, awsKeysCreateCommand, awsKeysListCommand, awsKeysRevokeCommand, byBackend } from './commands/aws.ts';
import { dlqDropCommand, dlqListCommand, dlqRetryCommand } from './commands/dlq.ts';
import { keysCreateCommand, keysListCommand, keysRevokeCommand } from './commands/keys.ts';
import { publishCommand } from './commands/publish.ts';
import { readCommand } from './commands/read.ts';
import { rebuildCommand } from './commands/rebuild.ts';
import { schemasExportCommand } from './commands/schemas.ts';
import { workCommand } from './commands/work.ts';
import { serveCommand } from './commands/serve.ts';
import { statusCommand } from './commands/status.ts';
import { tailCommand } from './commands/tail.ts';
import { verifyCommand } from './commands/verify.ts';
import { printError, type Io } from './output.ts';

/** Standard streams, injectable for tests. */
export interface CliStreams {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/** Exit codes: 0 done, 1 the command failed, 2 the command line was wrong. */
export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const;

const rootHelp = `
Where commands work:
  On the data folder (--dir, UNILOG_DIR, the config's backend.dir, else ./.unilog), or, given --url (UNILOG_URL),
  through a running service with --api-key (UNILOG_API_KEY). serve, verify and keys work on the data folder only;
  serve and keys also on AWS with --backend aws (endpoints, region and credentials from the AWS SDK's environment).

Exit codes: 0 done, 1 the command failed, 2 the command line was wrong.

Examples:
  unilog keys create --producer product-service --types product.created
  unilog serve --port 8080
  unilog aws init --table-prefix shop- && unilog serve --backend aws --table-prefix shop-
  unilog publish product.created --payload '{"id":"p1","name":"Boots"}'
  unilog tail --follow --type product.created
  unilog status --url http://127.0.0.1:8080 --api-key "$KEY"
  unilog rebuild product-catalog
`;

/** Runs the `unilog` command line with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: readonly string[], streams: CliStreams = process): Promise<number> {
  let exitCode: number = exitCodes.ok;
  const io = (options: { json?: boolean }): Io => ({ stdout: streams.stdout, stderr: streams.stderr, json: options.json === true });
  const output = { writeOut: (s: string) => streams.stdout.write(s), writeErr: (s: string) => streams.stderr.write(s) };
  const program = new Command('unilog')
    .description('The unified event log: publish, read and tail events, serve the HTTP API, operate consumers.')
    .option('--dir <dir>', 'the data folder (env UNILOG_DIR)', undefined)
    .option('--config <file>', 'the config file (default: unilog.config.ts|.mts|.js|.mjs in the current folder)')
    .option('--url <url>', 'work through a running service at this URL (env UNILOG_URL)')
    .option('--api-key <key>', 'the API key for --url (env UNILOG_API_KEY)')
    .option('--json', 'print results and errors as JSON')
    .exitOverride()
    .configureOutput(output)
    .addHelpText('after', rootHelp);

  // Commander calls an action with the positional arguments, the options and the command last.
  const run = (action: (options: Record<string, unknown> & { json?: boolean }) => Promise<number>) => async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const options: { json?: boolean } & Record<string, unknown> = command.optsWithGlobals();
      try {
        exitCode = await action(options);
      } catch (error) {
        printError(io(options), error);
        exitCode = isUnilogError(error, 'InvalidArgument') && error.details.argument === 'usage' ? exitCodes.usage : exitCodes.failure;
      }
    };
  const command = (parent: Command, spec: string, description: string) => parent.command(spec).description(description).exitOverride().configureOutput(output);

  const awsOptions = (cmd: Command, stream: boolean) => {
    cmd.option('--backend <backend>', 'file (the data folder) or aws (Kinesis and DynamoDB)', 'file').option('--table-prefix <prefix>', 'with --backend aws: the prefix of the DynamoDB table names (default: unilog-)');
    if (stream) cmd.option('--stream <name>', 'with --backend aws: the Kinesis stream (default: <prefix>events)');
    return cmd;
  };
  awsOptions(command(program, 'serve', 'run the HTTP service on the data folder (or AWS) until Ctrl-C (needs a key, or --insecure)'), true)
    .option('--port <port>', 'the port to listen on; 0 picks a free one', '8080')
    .option('--host <host>', 'the address to listen on', '127.0.0.1')
    .option('--insecure', 'accept requests without keys (every request may do everything); prints a warning')
    .addHelpText('after', '\nLogs go to stderr as JSON lines. Without keys (unilog keys create) and without --insecure, serve refuses to start.\nWith --backend aws the log is the Kinesis stream and keys and client ids are in DynamoDB (create them with unilog aws init);\nprojections do not run there, and the consumer routes answer 404.\n')
    .action(run((o) => serveCommand(o, io(o))));

  command(program, 'publish [type]', 'validate and append one event (--payload) or NDJSON lines from stdin (--stdin)')
    .option('--payload <json>', 'the event data, as JSON')
    .option('--key <key>', 'the partition key (default: from the event type)')
    .option('--id <id>', 'a client-chosen event id (default: a new ULID); the service answers a repeated id with the original position')
    .option('--source <source>', 'the producer stamped on the events (data folder only; through --url the API key names the producer)', 'unilog-cli')
    .option('--stdin', 'read NDJSON lines { "type", "data", "key"?, "id"? } from stdin')
    .addHelpText('after', '\nPrints {"position","id"} per appended event.\nExample: unilog publish product.created --payload \'{"id":"p1","name":"Boots"}\'\n')
    .action((type: string | undefined, _options: unknown, cmd: Command) => run((o) => publishCommand(type, o, io(o), streams.stdin))(cmd));

  command(program, 'read', 'print events as NDJSON {"position","event"}, oldest first')
    .option('--from <position>', 'the first position to print, inclusive')
    .option('--limit <n>', 'at most this many events (default: all)')
    .action(run((o) => readCommand(o, io(o))));

  command(program, 'tail', 'print the last events, and with --follow new ones as they are appended')
    .option('--from <position>', 'start at this position instead of the last --lines events')
    .option('--lines <n>', 'how many of the newest events to print first (through --url on Kinesis: found by reading the retained stream)', '10')
    .option('--type <types>', 'only these event types (comma-separated)')
    .option('--follow', 'keep printing new events until Ctrl-C')
    .addHelpText('after', '\nOne event per line: position, time, type, key, source, data (--json: NDJSON {"position","event"}).\n')
    .action(run((o) => tailCommand(o, io(o))));

  command(program, 'status', 'a table of consumers: state, position, lag, dead letters')
    .addHelpText('after', '\nOn the data folder, reads the views\' checkpoints (works while a service runs); through --url, asks the service.\n')
    .action(run((o) => statusCommand(o, io(o))));

  command(program, 'rebuild <projection>', 'rebuild a projection\'s view from the start of the log, with a progress bar')
    .addHelpText('after', '\nThe old copy keeps serving until the new one has caught up; then they switch and the old one is dropped.\nOn the data folder the service must be stopped (or use --url).\n')
    .action((name: string, _options: unknown, cmd: Command) => run((o) => rebuildCommand(name, o, io(o)))(cmd));

  const dlq = command(program, 'dlq', 'list, retry or drop a consumer\'s dead letters');
  command(dlq, 'list <consumer>', 'list dead letters: position, type, key, attempts, error').action((name: string, _options: unknown, cmd: Command) => run((o) => dlqListCommand(name, o, io(o)))(cmd));
  command(dlq, 'retry <consumer> <position>', 'apply a dead letter again (after fixing the handler), then the events parked behind it; exit 1 if it fails again').action(
    (name: string, position: string, _options: unknown, cmd: Command) => run((o) => dlqRetryCommand(name, position, o, io(o)))(cmd),
  );
  command(dlq, 'drop <consumer> <position>', 'forget a dead letter and release the events parked behind it').action((name: string, position: string, _options: unknown, cmd: Command) =>
    run((o) => dlqDropCommand(name, position, o, io(o)))(cmd),
  );

  command(program, 'verify', 'check every record of the log; --repair cuts it after the last good batch')
    .option('--repair', 'cut the log after its last whole, intact batch')
    .action(run((o) => verifyCommand(o, io(o))));

  const schemas = command(program, 'schemas', 'event schemas');
  command(schemas, 'export', 'write the JSON Schema of every event type (to stdout, or one file per type with --out)')
    .option('--out <dir>', 'write <type>.v<version>.schema.json files into this folder')
    .action(run((o) => schemasExportCommand(o, io(o))));

  const aws = command(program, 'aws', 'AWS resources of the aws backend (for local and development use; production uses the CDK app)');
  awsOptions(command(aws, 'init', 'create the Kinesis stream, DynamoDB tables and S3 buckets that are missing (idempotent)'), true)
    .option('--shards <n>', 'create the stream with this many shards (kinesalite needs it; default: on-demand)')
    .addHelpText('after', '\nEndpoints, region and credentials come from the AWS SDK\'s environment (AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL_DYNAMODB,\nAWS_ENDPOINT_URL_S3, AWS_REGION, AWS_ACCESS_KEY_ID, ...). View tables: one per projection of the config, when there is one.\nExample: unilog aws init --table-prefix shop-\n')
    .action(run((o) => awsInitCommand(o, io(o))));

  awsOptions(command(program, 'work', 'run distributed workers of the config\'s projections on Kinesis (shard leases in DynamoDB) until Ctrl-C'), true)
    .option('--projections <names>', 'only these projections (comma-separated; default: all of the config)')
    .option('--worker-id <id>', 'this worker\'s id in the lease table (default: <hostname>-<pid>-<random>)')
    .option('--lease-ms <ms>', 'a dead worker\'s shards are taken over after this long (default: 10000)')
    .addHelpText('after', '\nNeeds --backend aws. Run one per process or machine: the workers of a projection share the stream\'s shards.\nExample: unilog work --backend aws --table-prefix shop- --config unilog.config.ts\n')
    .action(run((o) => workCommand(o, io(o))));

  const keys = command(program, 'keys', 'API keys of the service (stored hashed in the data folder, or in DynamoDB with --backend aws)');
  awsOptions(command(keys, 'create', 'create a key and print it once'), false)
    .option('--producer <name>', 'the producer the key speaks for (stamped as the events\' source)')
    .option('--types <types>', 'event types it may publish, comma-separated (* for all)')
    .option('--read', 'it may read events, consumers and dead letters')
    .option('--admin', 'it may rebuild consumers and retry or drop dead letters')
    .addHelpText('after', '\nExample: unilog keys create --producer product-service --types product.created,product.updated\n')
    .action(run((o) => byBackend(o, 'keys', () => keysCreateCommand(o, io(o)), () => awsKeysCreateCommand(o, io(o)))));
  awsOptions(command(keys, 'list', 'list keys: id, producer, types, scopes (never the keys)'), false).action(run((o) => byBackend(o, 'keys', () => keysListCommand(o, io(o)), () => awsKeysListCommand(o, io(o)))));
  awsOptions(command(keys, 'revoke <id>', 'revoke a key; a running service refuses it from its next request'), false).action((id: string, _options: unknown, cmd: Command) =>
    run((o) => byBackend(o, 'keys', () => keysRevokeCommand(id, o, io(o)), () => awsKeysRevokeCommand(id, o, io(o))))(cmd),
  );

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    throw error;
  }
  return exitCode;
}
