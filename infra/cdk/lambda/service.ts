/**
 * The Lambda entry of the event-log service behind API Gateway: the service of `unilog serve --backend aws` over the
 * Kinesis log, with client ids in the service-ids table (so a repeated id is answered by any container) and the
 * producer keys in Secrets Manager (read through the AWS Parameters and Secrets Lambda Extension) or in the
 * service-keys table, whichever the stack set up.
 * @see docs/deploy.md
 * @module
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import pino from 'pino';
import { helloRetailEvents } from '../../../sample-app/events.ts';
import { createDynamoIdIndex, createDynamoKeyStore, createKinesisEventLog } from '../../../src/aws/index.ts';
import { UnilogError } from '../../../src/errors.ts';
import { createCatalog } from '../../../src/events/catalog.ts';
import { createKeyVerifier, type KeyVerifier } from '../../../src/service/keys.ts';
import { createLambdaHandler } from '../../../src/service/lambda.ts';
import { createEventLogService } from '../../../src/service/service.ts';

type ServiceHandler = ReturnType<typeof createLambdaHandler>;

/** The variables UnilogService sets: exactly one of KEYS_SECRET_ARN and KEYS_TABLE_NAME says where the keys are. */
type Variable = 'STREAM_NAME' | 'IDS_TABLE_NAME' | 'KEYS_SECRET_ARN' | 'KEYS_TABLE_NAME';

function optional(name: Variable): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

function required(name: Variable): string {
  const value = optional(name);
  if (value === undefined) {
    throw new UnilogError('InvalidArgument', `${name} is not set: deploy the service with UnilogService, which sets it.`, { argument: name, reason: 'missing' });
  }
  return value;
}

// The Lambda's only writable folder: the producer keys of the secret are copied here for the key verifier.
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

/** How long a repeated client id waits for the request that claimed it to finish appending, then 503. */
const maxClaimWaitMs = 20_000;

let service: Promise<ServiceHandler> | undefined;

async function openService(): Promise<ServiceHandler> {
  const logger = pino({ name: 'unilog' });
  // Region, credentials (the function's role) and endpoint come from the environment, as the SDK reads it.
  const dynamodb = new DynamoDBClient({});
  const keysTable = optional('KEYS_TABLE_NAME');
  const keys: KeyVerifier = keysTable === undefined ? createKeyVerifier(dataDir) : createDynamoKeyStore({ client: dynamodb, tableName: keysTable });
  const { app } = await createEventLogService({
    log: createKinesisEventLog({ streamName: required('STREAM_NAME') }),
    catalog: createCatalog(helloRetailEvents),
    ids: createDynamoIdIndex({
      client: dynamodb,
      tableName: required('IDS_TABLE_NAME'),
      // Below the function's 29 s timeout, so a repeat that waits on another request's claim answers 503 itself.
      maxWaitMs: maxClaimWaitMs,
      report: (message, details) => { logger.warn(details, message); },
    }),
    keys,
    consumersElsewhere: 'consumers do not run in the service Lambda; each projection is a Lambda function of its own on the Kinesis stream (see docs/deploy.md).',
    logger,
  });
  return createLambdaHandler(app);
}

/** The API Gateway (HTTP API, payload 2.0) handler. */
export const handler: ServiceHandler = async (event, context) => {
  // With the keys in the table every request reads its key there; a secret is copied to /tmp first.
  if (optional('KEYS_TABLE_NAME') === undefined) await refreshKeys(required('KEYS_SECRET_ARN'));
  // Opened once per container; a failed open is forgotten, so the next request tries again.
  service ??= openService().catch((error: unknown) => {
    service = undefined;
    throw error;
  });
  return (await service)(event, context);
};
