import type { EnsuredResource } from '../../aws/init.ts';
import { localOnly } from '../client.ts';
import { optionalConfig, usageError, type GlobalOptions } from '../context.ts';
import { write, type Io } from '../output.ts';
import { keyScopesOf, printCreatedKey, printKeys, printRevokedKey, type CliKeyStore, type KeysCreateOptions } from './keys.ts';

/** The table prefix when `--table-prefix` is not given: the one `npm run local:aws` uses too. */
export const defaultTablePrefix = 'unilog-';

/** The options of commands that can work on AWS. */
export interface AwsBackendOptions extends GlobalOptions {
  /** `file` (the data folder) or `aws`. */
  readonly backend?: string;
  readonly tablePrefix?: string;
  readonly stream?: string;
}

/** Runs `file` or `aws` by `--backend`; flags of the AWS backend without it are a usage error. */
export function byBackend<T>(options: AwsBackendOptions, command: string, file: () => T, aws: () => T): T {
  const backend = options.backend ?? 'file';
  if (backend === 'aws') return aws();
  if (backend !== 'file') throw usageError(`unilog ${command}: --backend is file (the data folder) or aws, not ${JSON.stringify(backend)}.`);
  if (options.tablePrefix !== undefined || options.stream !== undefined) throw usageError(`unilog ${command}: --table-prefix and --stream need --backend aws.`);
  return file();
}

/** The resource options of an AWS command, checked: the table prefix (default `unilog-`) and the stream. */
export function awsTarget(options: AwsBackendOptions, command: string): { readonly tablePrefix: string; readonly streamName?: string } {
  const tablePrefix = options.tablePrefix ?? defaultTablePrefix;
  // The same rule as awsResources, checked here so that a bad flag is a usage error (exit 2).
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(tablePrefix.replace(/-$/, '') || 'x')) {
    throw usageError(`unilog ${command}: --table-prefix is lower-case letters, digits and '-' (at most 31), such as shop-, not ${JSON.stringify(tablePrefix)}.`);
  }
  if (options.stream !== undefined && !/^[a-zA-Z0-9_.-]{1,128}$/.test(options.stream)) {
    throw usageError(`unilog ${command}: --stream is a Kinesis stream name (1 to 128 letters, digits and _ . -), not ${JSON.stringify(options.stream)}.`);
  }
  return { tablePrefix, ...(options.stream === undefined ? {} : { streamName: options.stream }) };
}

/** Options of `unilog aws init`. */
export interface AwsInitOptions extends AwsBackendOptions {
  readonly shards?: string;
}

/** `unilog aws init`: creates the stream, tables and buckets of `awsResources` that are missing; prints each. */
export async function awsInitCommand(options: AwsInitOptions, io: Io): Promise<number> {
  localOnly(options, 'aws init');
  const target = awsTarget(options, 'aws init');
  let shards: number | undefined;
  if (options.shards !== undefined) {
    shards = Number(options.shards);
    if (!Number.isInteger(shards) || shards < 1 || shards > 10_000) throw usageError(`unilog aws init: --shards is a whole number from 1 (a provisioned stream), not ${JSON.stringify(options.shards)}; leave it out for on-demand.`);
  }
  const config = await optionalConfig(options);
  const [{ awsResources }, { createAwsClients }, { ensureAwsResources, viewProjections }] = await Promise.all([import('../../aws/resources.ts'), import('../../aws/clients.ts'), import('../../aws/init.ts')]);
  // View tables: one per projection of the config.
  const projections = viewProjections(config?.projections ?? []);
  const resources = awsResources({ prefix: target.tablePrefix, ...(target.streamName === undefined ? {} : { streamName: target.streamName }), projections });
  const clients = await createAwsClients();
  try {
    const line = (r: EnsuredResource) => `${r.action === 'created' ? 'created' : 'exists '}  ${r.kind.padEnd(12)}  ${r.name}\n`;
    const done = await ensureAwsResources(clients, resources, {
      ...(shards === undefined ? {} : { shards }),
      onResource: (resource) => {
        if (!io.json) io.stdout.write(line(resource));
      },
    });
    const created = done.filter((r) => r.action === 'created').length;
    await write(io.stdout, io.json ? `${JSON.stringify({ stream: resources.streamName, tablePrefix: target.tablePrefix, resources: done })}\n` : `${created} created, ${done.length - created} already there\n`);
  } finally {
    clients.destroy();
  }
  return 0;
}

/** Opens the service-keys table of `--table-prefix` as `unilog keys` sees it and runs `use` on it. */
async function withKeyStore(options: AwsBackendOptions, use: (store: CliKeyStore) => Promise<number>): Promise<number> {
  localOnly(options, 'keys');
  const { tablePrefix } = awsTarget(options, 'keys');
  const [{ createAwsClients }, { createDynamoKeyStore }, { serviceKeysTableName }] = await Promise.all([import('../../aws/clients.ts'), import('../../aws/service/dynamoKeyStore.ts'), import('../../aws/resources.ts')]);
  const clients = await createAwsClients();
  try {
    const keys = createDynamoKeyStore({ client: clients.dynamodb, tableName: serviceKeysTableName(tablePrefix) });
    // Printed commands name the table prefix when it is not the default, so they act on the same table.
    const flags = ` --backend aws${options.tablePrefix === undefined ? '' : ` --table-prefix ${tablePrefix}`}`;
    return await use({ flags, create: (scopes) => keys.create(scopes), list: () => keys.list(), revoke: (id) => keys.revoke(id) });
  } finally {
    clients.destroy();
  }
}

/** Options of `unilog keys create --backend aws`. */
export interface AwsKeysCreateOptions extends AwsBackendOptions, KeysCreateOptions {}

/** `unilog keys create --backend aws`: as on the data folder, in the service-keys table. */
export async function awsKeysCreateCommand(options: AwsKeysCreateOptions, io: Io): Promise<number> {
  const scopes = keyScopesOf(options);
  return withKeyStore(options, (store) => printCreatedKey(store, scopes, io));
}

/** `unilog keys list --backend aws`. */
export async function awsKeysListCommand(options: AwsBackendOptions, io: Io): Promise<number> {
  return withKeyStore(options, (store) => printKeys(store, io));
}

/** `unilog keys revoke --backend aws ID`: services refuse the key from their next request. */
export async function awsKeysRevokeCommand(id: string, options: AwsBackendOptions, io: Io): Promise<number> {
  return withKeyStore(options, (store) => printRevokedKey(store, id, io));
}
