/**
 * The local AWS stack for development (`npm run local:aws`): kinesalite, DynamoDB Local (`-sharedDb`) and s3rver
 * on loopback, with the stream, tables and buckets of `awsResources()` created by `ensureAwsResources`, the code
 * `unilog aws init` runs. It prints the environment that points the AWS SDK (and so `unilog serve --backend aws`)
 * at it, as `export` lines, and runs until Ctrl-C or `npm run local:aws -- --stop`. Tests call
 * {@link startLocalAwsStack} in-process, on free ports.
 * @see docs/aws.md#running-against-local-servers
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createAwsClients } from '../../src/aws/clients.ts';
import { ensureAwsResources, viewProjections, type EnsuredResource } from '../../src/aws/init.ts';
import { awsResources, type AwsResources, type ProjectionShape } from '../../src/aws/resources.ts';
import { startDynamoDbLocal } from './dynamoDbLocal.ts';
import { startKinesalite } from './kinesalite.ts';
import { freePort } from './processes.ts';
import { startS3rver } from './s3rver.ts';

/** Options of {@link startLocalAwsStack}. */
export interface LocalAwsStackOptions {
  /** kinesalite listens on this port, DynamoDB Local on the next, s3rver on the one after; 0 picks three free ports. @default 4567 */
  readonly portBase?: number;
  /** Keep the servers' data here (`kinesis/`, `dynamodb/`, `s3/`) across restarts. @default in memory (s3rver: a temporary folder, removed on stop) */
  readonly dataDir?: string;
  /** The prefix of table and bucket names, as `awsResources` takes it. @default "unilog-" */
  readonly prefix?: string;
  /** @default `<prefix>events` */
  readonly streamName?: string;
  /** Projections whose view tables to create. @default none */
  readonly projections?: readonly ProjectionShape[];
  /** Shards of the stream (kinesalite has no on-demand mode). @default 2 */
  readonly shards?: number;
  /** @default "us-east-1" */
  readonly region?: string;
}

/** A running local stack. */
export interface LocalAwsStack {
  /** The environment for the AWS SDK: endpoints, region, the servers' key pair, S3 checksums as s3rver needs them. */
  readonly env: Readonly<Record<string, string>>;
  readonly endpoints: { readonly kinesis: string; readonly dynamodb: string; readonly s3: string };
  readonly resources: AwsResources;
  /** What creating the resources did (all `existed` on a restart with the same data folder). */
  readonly ensured: readonly EnsuredResource[];
  /** The DynamoDB Local JVM's process id (kinesalite and s3rver run in this process). */
  readonly dynamodbPid: number | undefined;
  /** Stops the three servers. */
  stop(): Promise<void>;
}

/** s3rver accepts only its own key pair; kinesalite accepts any, DynamoDB Local any of letters and digits. */
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * Starts kinesalite, DynamoDB Local and s3rver on 127.0.0.1 (DynamoDB Local has no bind option: every interface)
 * and creates the deployment's resources in them.
 * @example const stack = await startLocalAwsStack({ portBase: 0 }); Object.assign(process.env, stack.env); … await stack.stop();
 */
export async function startLocalAwsStack(options: LocalAwsStackOptions = {}): Promise<LocalAwsStack> {
  const region = options.region ?? 'us-east-1';
  const base = options.portBase ?? 4567;
  const ports = base === 0 ? [await freePort(), await freePort(), await freePort()] : [base, base + 1, base + 2];
  const [kinesisPort, dynamodbPort, s3Port] = ports as [number, number, number];
  const resources = awsResources({ prefix: options.prefix ?? 'unilog-', ...(options.streamName === undefined ? {} : { streamName: options.streamName }), projections: options.projections ?? [] });
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    const failures: unknown[] = [];
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, 'Stopping the local AWS stack failed: check for leftover kinesalite, DynamoDB Local or s3rver processes.');
  };
  try {
    if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
    const dataOf = async (name: string) => {
      if (options.dataDir === undefined) return undefined;
      const folder = path.resolve(options.dataDir, name);
      await mkdir(folder, { recursive: true });
      return folder;
    };
    const kinesisPath = await dataOf('kinesis');
    // A modest shard limit, as on a small AWS account, with room for resharding experiments.
    const kinesis = await startKinesalite({ port: kinesisPort, region, shardLimit: 100, ...(kinesisPath === undefined ? {} : { path: kinesisPath }) });
    stops.push(() => kinesis.stop());
    const dynamodbPath = await dataOf('dynamodb');
    const dynamodb = await startDynamoDbLocal({ port: dynamodbPort, sharedDb: true, ...(dynamodbPath === undefined ? {} : { dbPath: dynamodbPath }) });
    stops.push(() => dynamodb.stop());
    const s3Directory = await dataOf('s3');
    const s3 = await startS3rver({ port: s3Port, ...(s3Directory === undefined ? {} : { directory: s3Directory }) });
    stops.push(() => s3.stop());

    const endpoints = { kinesis: `http://127.0.0.1:${kinesisPort}`, dynamodb: `http://127.0.0.1:${dynamodbPort}`, s3: `http://127.0.0.1:${s3Port}` };
    const clients = await createAwsClients({ region, credentials, endpoints, env: {} });
    let ensured: EnsuredResource[];
    try {
      ensured = await ensureAwsResources(clients, resources, { shards: options.shards ?? 2 });
    } finally {
      clients.destroy();
    }
    const env = {
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      // For every SDK client, not only unilog's: s3rver rejects the SDK's default CRC checksums.
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    };
    return { env, endpoints, resources, ensured, dynamodbPid: dynamodb.pid, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The environment as shell lines, for `eval` or copying. */
export function exportLines(env: Readonly<Record<string, string>>): string {
  return Object.entries(env).map(([name, value]) => `export ${name}=${value}\n`).join('');
}

// ---- The command line: `npm run local:aws [-- --stop | --env | options]` ----

/** What a running stack leaves in its state folder, so that `--stop` and `--env` find it. */
interface StackState {
  readonly pid: number;
  readonly dynamodbPid: number | undefined;
  readonly env: Record<string, string>;
  readonly prefix: string;
  readonly startedAt: string;
}

const repo = path.resolve(import.meta.dirname, '../..');
const usage = `Usage: npm run local:aws [-- options]

Starts kinesalite, DynamoDB Local and s3rver on 127.0.0.1, creates the stream, tables and buckets (as unilog aws init),
prints the AWS environment as export lines, and runs until Ctrl-C.

  --stop               stop the stack started from this checkout (its pid is in the state folder)
  --env                print the export lines of the running stack again
  --port-base <n>      kinesalite on n, DynamoDB Local on n+1, s3rver on n+2 (default 4567; 0: free ports)
  --prefix <prefix>    table and bucket name prefix (default unilog-)
  --stream <name>      the Kinesis stream (default <prefix>events)
  --shards <n>         shards of the stream (default 2; kinesalite has no on-demand mode)
  --config <file>      view tables for this config's projections (default sample-app/unilog.config.ts; none: no view tables)
  --state-dir <dir>    pid file and data (default .local-aws in the repository)
  --reset              delete the data of earlier runs first
`;

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      stop: { type: 'boolean' },
      env: { type: 'boolean' },
      'port-base': { type: 'string' },
      prefix: { type: 'string' },
      stream: { type: 'string' },
      shards: { type: 'string' },
      config: { type: 'string' },
      'state-dir': { type: 'string' },
      reset: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write(usage);
    return 0;
  }
  const stateDir = path.resolve(values['state-dir'] ?? path.join(repo, '.local-aws'));
  const stateFile = path.join(stateDir, 'stack.json');
  const state = readState(stateFile);
  if (values.stop === true) return stop(stateFile, state);
  if (values.env === true) {
    if (!state || !alive(state.pid)) {
      process.stderr.write(`No local AWS stack runs from ${stateDir}: start one with npm run local:aws.\n`);
      return 1;
    }
    process.stdout.write(exportLines(state.env));
    return 0;
  }
  if (state && alive(state.pid)) {
    process.stderr.write(`A local AWS stack already runs (pid ${state.pid}): print its environment with npm run local:aws -- --env, or stop it with npm run local:aws -- --stop.\n`);
    return 1;
  }
  // A stack that was killed outright leaves its state, and perhaps its JVM: clean up before starting again.
  if (state) await stop(stateFile, state, true);

  const portBase = integerOption(values['port-base'], 'port-base', 0, 65_533) ?? 4567;
  const shards = integerOption(values.shards, 'shards', 1, 100) ?? 2;
  const prefix = values.prefix ?? 'unilog-';
  const projections = await projectionsOf(values.config);
  const dataDir = path.join(stateDir, 'data');
  if (values.reset === true) await rm(dataDir, { recursive: true, force: true });
  await mkdir(stateDir, { recursive: true });

  const stack = await startLocalAwsStack({ portBase, dataDir, prefix, shards, projections, ...(values.stream === undefined ? {} : { streamName: values.stream }) });
  const stateNow: StackState = { pid: process.pid, dynamodbPid: stack.dynamodbPid, env: { ...stack.env }, prefix, startedAt: new Date().toISOString() };
  await writeFile(stateFile, `${JSON.stringify(stateNow, null, 2)}\n`);
  const created = stack.ensured.filter((r) => r.action === 'created').length;
  process.stderr.write(
    `local AWS stack: kinesalite ${stack.endpoints.kinesis}, DynamoDB Local ${stack.endpoints.dynamodb}, s3rver ${stack.endpoints.s3}; ` +
      `stream ${stack.resources.streamName}, ${stack.resources.tables.length} tables, 2 buckets (${created} created now); data in ${dataDir}.\n` +
      'Stop it with Ctrl-C or npm run local:aws -- --stop.\n',
  );
  const prefixFlag = prefix === 'unilog-' ? '' : ` --table-prefix ${prefix}`;
  process.stdout.write(`${exportLines(stack.env)}# then: unilog keys create --backend aws${prefixFlag} --producer NAME --types '*'; unilog serve --backend aws${prefixFlag}\n`);

  await new Promise<void>((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
  try {
    await stack.stop();
  } finally {
    await rm(stateFile, { force: true });
  }
  process.stderr.write('local AWS stack stopped.\n');
  return 0;
}

function readState(file: string): StackState | undefined {
  if (!existsSync(file)) return undefined;
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<StackState>;
  if (typeof parsed.pid !== 'number' || typeof parsed.env !== 'object') throw new Error(`${file} is not a local AWS stack's state: delete it (and stop any kinesalite, DynamoDB Local or s3rver yourself).`);
  return parsed as StackState;
}

/** Stops the stack of `state` (SIGTERM, then SIGKILL after 20 s) and a DynamoDB Local it left behind. */
async function stop(stateFile: string, state: StackState | undefined, quiet = false): Promise<number> {
  if (!state) {
    process.stderr.write(`No local AWS stack to stop (no ${stateFile}).\n`);
    return 0;
  }
  if (alive(state.pid)) await terminate(state.pid);
  // Only when the stack died without stopping it; the pid is checked to still be DynamoDB Local, since pids are reused.
  if (state.dynamodbPid !== undefined && alive(state.dynamodbPid) && (await commandLine(state.dynamodbPid)).includes('DynamoDBLocal')) await terminate(state.dynamodbPid);
  await rm(stateFile, { force: true });
  if (!quiet) process.stderr.write(`Stopped the local AWS stack (pid ${state.pid}).\n`);
  return 0;
}

async function terminate(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: it exists, as another user's process.
    return true;
  }
}

async function commandLine(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
  } catch {
    // No /proc (not Linux) or the process is gone: do not kill what cannot be identified.
    return '';
  }
}

function integerOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) throw new Error(`--${name} is a whole number from ${min} to ${max}, not ${JSON.stringify(value)}.`);
  return number;
}

/** The projections of a config (the demo's by default), for their view tables. */
async function projectionsOf(config: string | undefined): Promise<ProjectionShape[]> {
  if (config === 'none') return [];
  const file = config ?? path.join(repo, 'sample-app', 'unilog.config.ts');
  if (config === undefined && !existsSync(file)) return [];
  const { loadConfig } = await import('../../src/config/loadConfig.ts');
  const loaded = await loadConfig(process.cwd(), file);
  return viewProjections(loaded.projections);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`local AWS stack: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
