import { createKey, listKeys, revokeKey } from '../../service/keys.ts';
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

async function folder(options: GlobalOptions): Promise<string> {
  localOnly(options, 'keys');
  return dataDir(options, await optionalConfig(options));
}

/** `unilog keys create`: prints the new key once; only its salted hash is stored. */
export async function keysCreateCommand(options: KeysCreateOptions, io: Io): Promise<number> {
  if (options.producer === undefined) throw usageError('unilog keys create: give --producer NAME (the service the key speaks for).');
  const types = (options.types ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (types.length === 0 && options.read !== true && options.admin !== true) throw usageError('unilog keys create: give --types a,b (or *) to publish, and/or --read or --admin; a key with none can do nothing.');
  const { key, info } = createKey(await folder(options), { producer: options.producer, types, read: options.read === true, admin: options.admin === true });
  if (io.json) await write(io.stdout, `${JSON.stringify({ ...info, key })}\n`);
  else await write(io.stdout, `key id ${info.id} for producer ${info.producer}\n${key}\nThis key is shown once: store it now. Revoke it with unilog keys revoke ${info.id}.\n`);
  return 0;
}

/** `unilog keys list`: ids and scopes, never keys. */
export async function keysListCommand(options: GlobalOptions, io: Io): Promise<number> {
  const keys = listKeys(await folder(options));
  if (io.json) {
    await write(io.stdout, `${JSON.stringify({ keys })}\n`);
    return 0;
  }
  if (keys.length === 0) {
    await write(io.stdout, 'no keys: create one with unilog keys create --producer NAME --types TYPE,...\n');
    return 0;
  }
  const rows = keys.map((k) => [k.id, k.producer, k.types.join(',') || '-', [k.read ? 'read' : '', k.admin ? 'admin' : ''].filter(Boolean).join(',') || '-', k.createdAt, k.revokedAt ?? '']);
  await write(io.stdout, formatTable(['ID', 'PRODUCER', 'TYPES', 'SCOPES', 'CREATED', 'REVOKED'], rows));
  return 0;
}

/** `unilog keys revoke ID`: a running service refuses the key from its next request. */
export async function keysRevokeCommand(id: string, options: GlobalOptions, io: Io): Promise<number> {
  const info = revokeKey(await folder(options), id);
  await write(io.stdout, io.json ? `${JSON.stringify(info)}\n` : `revoked key ${info.id} (producer ${info.producer}) at ${info.revokedAt ?? ''}\n`);
  return 0;
}
