import { createKey, listKeys, revokeKey, type KeyInfo, type KeyScopes } from '../../service/keys.ts';
import { localOnly } from '../client.ts';
import { dataDir, optionalConfig, usageError, type GlobalOptions } from '../context.ts';
import { write, type Io } from '../output.ts';
import { formatTable } from '../table.ts';

/** Options of `unilog keys create`. */
export interface KeysCreateOptions extends GlobalOptions {
  readonly producer?: string;
  readonly types?: string;
  readonly read?: boolean;
  readonly admin?: boolean;
}

/** The keys `unilog keys` manages: the data folder's `keys.json`, or the service-keys table with `--backend aws`. */
export interface CliKeyStore {
  /** The flags that name this store in a printed command, such as ` --backend aws`; empty for the data folder. */
  readonly flags: string;
  /** Creates a key; returns the key itself, which is shown this once and never stored. */
  create(scopes: KeyScopes): Promise<{ readonly key: string; readonly info: KeyInfo }>;
  /** Every key, without secrets or hashes. */
  list(): Promise<readonly KeyInfo[]>;
  /** Revokes a key; throws `KeyNotFound` for an unknown id. */
  revoke(id: string): Promise<KeyInfo>;
}

async function fileKeyStore(options: GlobalOptions): Promise<CliKeyStore> {
  localOnly(options, 'keys');
  const folder = dataDir(options, await optionalConfig(options));
  return {
    flags: '',
    create: (scopes) => Promise.resolve(createKey(folder, scopes)),
    list: () => Promise.resolve(listKeys(folder)),
    revoke: (id) => Promise.resolve(revokeKey(folder, id)),
  };
}

/** The scopes `unilog keys create` was given; a usage error when there is no producer or the key could do nothing. */
export function keyScopesOf(options: KeysCreateOptions): KeyScopes {
  if (options.producer === undefined) throw usageError('unilog keys create: give --producer NAME (the service the key speaks for).');
  const types = (options.types ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (types.length === 0 && options.read !== true && options.admin !== true) throw usageError('unilog keys create: give --types a,b (or *) to publish, and/or --read or --admin; a key with none can do nothing.');
  return { producer: options.producer, types, read: options.read === true, admin: options.admin === true };
}

/** Creates a key in `store` and prints it once. */
export async function printCreatedKey(store: CliKeyStore, scopes: KeyScopes, io: Io): Promise<number> {
  const { key, info } = await store.create(scopes);
  if (io.json) await write(io.stdout, `${JSON.stringify({ ...info, key })}\n`);
  else await write(io.stdout, `key id ${info.id} for producer ${info.producer}\n${key}\nThis key is shown once: store it now. Revoke it with unilog keys revoke${store.flags} ${info.id}.\n`);
  return 0;
}

/** Prints the keys of `store`: a table, or `{"keys"}` with `--json`. */
export async function printKeys(store: CliKeyStore, io: Io): Promise<number> {
  const keys = await store.list();
  if (io.json) {
    await write(io.stdout, `${JSON.stringify({ keys })}\n`);
    return 0;
  }
  if (keys.length === 0) {
    await write(io.stdout, `no keys: create one with unilog keys create${store.flags} --producer NAME --types TYPE,...\n`);
    return 0;
  }
  const rows = keys.map((k) => [k.id, k.producer, k.types.join(',') || '-', [k.read ? 'read' : '', k.admin ? 'admin' : ''].filter(Boolean).join(',') || '-', k.createdAt, k.revokedAt ?? '']);
  await write(io.stdout, formatTable(['ID', 'PRODUCER', 'TYPES', 'SCOPES', 'CREATED', 'REVOKED'], rows));
  return 0;
}

/** Revokes a key of `store` and says so. */
export async function printRevokedKey(store: CliKeyStore, id: string, io: Io): Promise<number> {
  const info = await store.revoke(id);
  await write(io.stdout, io.json ? `${JSON.stringify(info)}\n` : `revoked key ${info.id} (producer ${info.producer}) at ${info.revokedAt ?? ''}\n`);
  return 0;
}

/** `unilog keys create`: prints the new key once; only its salted hash is stored. */
export async function keysCreateCommand(options: KeysCreateOptions, io: Io): Promise<number> {
  const scopes = keyScopesOf(options);
  return printCreatedKey(await fileKeyStore(options), scopes, io);
}

/** `unilog keys list`: ids and scopes, never keys. */
export async function keysListCommand(options: GlobalOptions, io: Io): Promise<number> {
  return printKeys(await fileKeyStore(options), io);
}

/** `unilog keys revoke ID`: a running service refuses the key from its next request. */
export async function keysRevokeCommand(id: string, options: GlobalOptions, io: Io): Promise<number> {
  return printRevokedKey(await fileKeyStore(options), id, io);
}
