/**
 * The Lambda entry of the event-log service behind API Gateway: the service of `unilog serve` over the Kinesis log,
 * with the producer keys read from Secrets Manager (through the AWS Parameters and Secrets Lambda Extension).
 * @see docs/deploy.md
 * @module
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { helloRetailEvents } from '../../../sample-app/events.ts';
import { createKinesisEventLog } from '../../../src/aws/index.ts';
import { UnilogError } from '../../../src/errors.ts';
import { createCatalog } from '../../../src/events/catalog.ts';
import { createEventLogService, createKeyVerifier, createLambdaHandler } from '../../../src/service/index.ts';

type ServiceHandler = ReturnType<typeof createLambdaHandler>;

function required(name: 'STREAM_NAME' | 'KEYS_SECRET_ARN'): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new UnilogError('InvalidArgument', `${name} is not set: deploy the service with UnilogService, which sets it.`, { argument: name, reason: 'missing' });
  }
  return value;
}

// The Lambda's only writable folder. @debt: the client-id index lives here, so it dedupes within one container only,
// until the service can keep it in the service-ids table.
const dataDir = '/tmp/unilog';
const refreshMs = Number(process.env.KEYS_REFRESH_SECONDS ?? '30') * 1000;

let keysText: string | undefined;
let keysReadAt = -Infinity;

/** The secret's value, from the extension's local cache (it fetches from Secrets Manager with the function's role). */
async function readSecret(secretArn: string): Promise<string> {
  const port = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? '2773';
  const url = `http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(secretArn)}`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { 'X-Aws-Parameters-Secrets-Token': process.env.AWS_SESSION_TOKEN ?? '' } });
  } catch (error) {
    throw new UnilogError('ServiceUnavailable', 'The producer keys cannot be read: the Parameters and Secrets extension does not answer; check that the function has its layer.', { reason: 'secrets extension unreachable' }, { cause: error });
  }
  const body: unknown = await response.json().catch(() => undefined);
  const secret = typeof body === 'object' && body !== null ? (body as { SecretString?: unknown }).SecretString : undefined;
  if (!response.ok || typeof secret !== 'string') {
    throw new UnilogError('ServiceUnavailable', `The producer keys cannot be read from ${secretArn} (HTTP ${response.status}): check that the secret exists and the function may read it.`, { reason: `secret read failed (${response.status})` });
  }
  return secret;
}

/**
 * Copies the producer keys to `<dataDir>/keys.json` when they changed, at most every KEYS_REFRESH_SECONDS; the key
 * verifier re-reads the file when it changes, so a revoked key stops working within two refreshes.
 */
async function refreshKeys(secretArn: string): Promise<void> {
  if (Date.now() - keysReadAt < refreshMs) return;
  const text = await readSecret(secretArn);
  keysReadAt = Date.now();
  if (text === keysText) return;
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'keys.json');
  // Written whole and renamed, so the verifier never reads half a file.
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  keysText = text;
}

let service: Promise<ServiceHandler> | undefined;

async function openService(): Promise<ServiceHandler> {
  const log = createKinesisEventLog({ streamName: required('STREAM_NAME') });
  const { app } = await createEventLogService({ log, catalog: createCatalog(helloRetailEvents), dir: dataDir, keys: createKeyVerifier(dataDir) });
  return createLambdaHandler(app);
}

/** The API Gateway (HTTP API, payload 2.0) handler. */
export const handler: ServiceHandler = async (event, context) => {
  await refreshKeys(required('KEYS_SECRET_ARN'));
  // Opened once per container; a failed open is forgotten, so the next request tries again.
  service ??= openService().catch((error: unknown) => {
    service = undefined;
    throw error;
  });
  return (await service)(event, context);
};
