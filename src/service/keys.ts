import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UnilogError } from '../errors.ts';

/** What a key may do: publish its allowed types as its producer, read the log and views, operate consumers. */
export interface KeyScopes {
  /** The producer the key speaks for: stamped as the CloudEvents `source` of everything it publishes. */
  readonly producer: string;
  /** Event types it may publish; `*` allows every type. Empty: it may not publish. */
  readonly types: readonly string[];
  /** Whether it may read events, schemas-independent data such as consumers and views. */
  readonly read: boolean;
  /** Whether it may rebuild consumers and retry or drop dead letters. */
  readonly admin: boolean;
}

const producerPattern = /^[A-Za-z0-9._:/-]{1,128}$/;
const typePattern = /^(\*|[a-z0-9][a-z0-9._-]{0,127})$/i;

const storedKeySchema = z.object({
  id: z.string().regex(/^[0-9a-f]{12}$/),
  producer: z.string().regex(producerPattern),
  types: z.array(z.string().regex(typePattern)),
  read: z.boolean(),
  admin: z.boolean(),
  salt: z.string(),
  hash: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
});
const keyFileSchema = z.object({ version: z.literal(1), keys: z.array(storedKeySchema) });

/** A key as stored (hashed) and listed: never the secret. */
export type StoredKey = z.output<typeof storedKeySchema>;
/** A key as `keys list` shows it. */
export type KeyInfo = Omit<StoredKey, 'salt' | 'hash'>;

/** The file that holds a data folder's keys, hashed. */
export function keyFile(dataFolder: string): string {
  return path.join(dataFolder, 'keys.json');
}

const keyPrefix = 'ulk_';

function hashSecret(salt: Buffer, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret).digest();
}

function readKeyFile(file: string): StoredKey[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const parsed = keyFileSchema.safeParse(safeJson(text));
  if (!parsed.success) {
    throw new UnilogError('ConfigInvalid', `The key file ${file} is damaged: restore it from a backup, or delete it and create new keys with unilog keys create.`, { file, reason: parsed.error.issues[0]?.message ?? 'invalid' });
  }
  return parsed.data.keys;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Writes the key file whole, durably, and replaces the old one in one rename. */
function writeKeyFile(file: string, keys: readonly StoredKey[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ version: 1, keys }, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}

/** Throws `InvalidArgument` unless the producer name and event types are well formed. */
function checkScopes(scopes: KeyScopes): void {
  if (!producerPattern.test(scopes.producer)) {
    throw new UnilogError('InvalidArgument', `A producer name is 1 to 128 characters of letters, digits and . _ : / -, not ${JSON.stringify(scopes.producer)}.`, { argument: 'producer', reason: 'invalid' });
  }
  for (const type of scopes.types) {
    if (!typePattern.test(type)) throw new UnilogError('InvalidArgument', `${JSON.stringify(type)} is not an event type (or *).`, { argument: 'types', reason: 'invalid type' });
  }
}

/** A newly made key: what to store (salted hash) and the key itself, to show once. */
export interface MintedKey {
  readonly stored: StoredKey;
  readonly key: string;
}

/** Makes a key with a fresh random id and secret; stores (file, DynamoDB) keep only `stored`. */
export function mintKey(scopes: KeyScopes): MintedKey {
  checkScopes(scopes);
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16);
  const stored: StoredKey = {
    id,
    producer: scopes.producer,
    types: [...scopes.types],
    read: scopes.read,
    admin: scopes.admin,
    salt: salt.toString('base64'),
    hash: hashSecret(salt, secret).toString('base64'),
    createdAt: new Date().toISOString(),
  };
  return { stored, key: `${keyPrefix}${id}.${secret}` };
}

/** Creates a key in the data folder; returns its id and the key itself, which is shown this once and never stored. */
export function createKey(dataFolder: string, scopes: KeyScopes): { readonly id: string; readonly key: string; readonly info: KeyInfo } {
  const file = keyFile(dataFolder);
  const keys = readKeyFile(file);
  let minted = mintKey(scopes);
  while (keys.some((k) => k.id === minted.stored.id)) minted = mintKey(scopes);
  writeKeyFile(file, [...keys, minted.stored]);
  return { id: minted.stored.id, key: minted.key, info: publicInfo(minted.stored) };
}

/** The data folder's keys, without secrets or hashes. */
export function listKeys(dataFolder: string): KeyInfo[] {
  return readKeyFile(keyFile(dataFolder)).map(publicInfo);
}

/** Revokes a key: a running service refuses it from its next request. */
export function revokeKey(dataFolder: string, id: string): KeyInfo {
  const file = keyFile(dataFolder);
  const keys = readKeyFile(file);
  const found = keys.find((k) => k.id === id);
  if (!found) throw new UnilogError('KeyNotFound', `No key with id ${JSON.stringify(id)} in ${file}: list them with unilog keys list.`, { id });
  const revoked: StoredKey = found.revokedAt === undefined ? { ...found, revokedAt: new Date().toISOString() } : found;
  writeKeyFile(file, keys.map((k) => (k.id === id ? revoked : k)));
  return publicInfo(revoked);
}

/** A stored key as listed: without its salt and hash. */
export function publicInfo(key: StoredKey): KeyInfo {
  return { id: key.id, producer: key.producer, types: key.types, read: key.read, admin: key.admin, createdAt: key.createdAt, ...(key.revokedAt === undefined ? {} : { revokedAt: key.revokedAt }) };
}

/** Parses a stored key read from elsewhere (a DynamoDB item); undefined when it is not one. */
export function parseStoredKey(value: unknown): StoredKey | undefined {
  const parsed = storedKeySchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** The producer and scopes a request authenticated as. */
export interface Principal extends KeyScopes {
  readonly keyId: string;
}

/**
 * Checks bearer keys: the port the service authenticates through. The data folder's verifier answers at once; a
 * verifier over a remote store (DynamoDB, on `unilog/aws`) answers with promises.
 */
export interface KeyVerifier {
  /** Whether any key (revoked or not) exists. */
  hasKeys(): boolean | Promise<boolean>;
  /** The principal of an `Authorization` header value; throws (or rejects with) `Unauthorized`. */
  verify(authorization: string | undefined): Principal | Promise<Principal>;
}

/** The data folder's verifier: synchronous, as it reads a local file. */
export interface FileKeyVerifier extends KeyVerifier {
  hasKeys(): boolean;
  verify(authorization: string | undefined): Principal;
}

/** Splits an `Authorization` header into a key id and secret; throws `Unauthorized` when it names no unilog key. */
export function parseAuthorization(authorization: string | undefined): { readonly id: string; readonly secret: string } {
  if (authorization === undefined || authorization === '') throw unauthorized('no Authorization header', 'Send Authorization: Bearer <api key> (create one with unilog keys create).');
  // The scheme name is case-insensitive (RFC 9110).
  const match = /^Bearer +([A-Za-z0-9_.-]{1,200})$/i.exec(authorization);
  if (!match) throw unauthorized('malformed Authorization header', 'Send Authorization: Bearer <api key>.');
  const token = match[1] as string;
  const dot = token.indexOf('.');
  if (!token.startsWith(keyPrefix) || dot < 0) throw unauthorized('not a unilog key', 'Use a key printed by unilog keys create.');
  return { id: token.slice(keyPrefix.length, dot), secret: token.slice(dot + 1) };
}

/** The principal of a secret checked against the stored key of its id (undefined: no such key); throws `Unauthorized`. */
export function checkSecret(stored: StoredKey | undefined, secret: string): Principal {
  // The same work for an unknown id as for a wrong secret, so that timing does not tell which ids exist.
  const salt = stored ? Buffer.from(stored.salt, 'base64') : Buffer.alloc(16);
  const expected = stored ? Buffer.from(stored.hash, 'base64') : Buffer.alloc(32);
  const actual = hashSecret(salt, secret);
  const matches = expected.length === actual.length && timingSafeEqual(expected, actual);
  if (!stored || !matches) throw unauthorized('unknown key', 'Check the key; keys are shown once, by unilog keys create.');
  if (stored.revokedAt !== undefined) throw unauthorized('revoked key', 'This key was revoked: create a new one with unilog keys create.');
  return { keyId: stored.id, producer: stored.producer, types: stored.types, read: stored.read, admin: stored.admin };
}

/** A verifier over the data folder's key file, re-reading it whenever it changes (so a revoke applies at once). */
export function createKeyVerifier(dataFolder: string): FileKeyVerifier {
  const file = keyFile(dataFolder);
  let signature = '';
  let byId = new Map<string, StoredKey>();
  // One stat per request: cheap next to the request, and what makes `keys revoke` take effect without a restart.
  const current = (): Map<string, StoredKey> => {
    let next: string;
    try {
      const stat = statSync(file, { bigint: true });
      next = `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      next = 'none';
    }
    if (next !== signature) {
      byId = new Map(readKeyFile(file).map((k) => [k.id, k]));
      signature = next;
    }
    return byId;
  };
  return {
    hasKeys: () => current().size > 0,
    verify(authorization) {
      const { id, secret } = parseAuthorization(authorization);
      return checkSecret(current().get(id), secret);
    },
  };
}

function unauthorized(reason: string, advice: string): UnilogError<'Unauthorized'> {
  return new UnilogError('Unauthorized', `${reason.charAt(0).toUpperCase()}${reason.slice(1)}: ${advice}`, { reason });
}

/** Whether a principal may publish `type`. */
export function mayPublish(principal: KeyScopes, type: string): boolean {
  return principal.types.includes('*') || principal.types.includes(type);
}
