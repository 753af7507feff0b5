/**
 * unilog/service: the event-log HTTP service (Hono), for Node and AWS Lambda, and its API keys. A subpath of its own,
 * so that embedded users of `unilog` never load Hono, pino or prom-client.
 * @module
 */
export { listenService, startService } from './server.ts';
export type { ListenServiceOptions, StartServiceOptions, RunningService } from './server.ts';
export { createEventLogService } from './service.ts';
export type { EventLogService, EventLogServiceOptions } from './service.ts';
export { createLambdaHandler } from './lambda.ts';
export { createKey, listKeys, revokeKey, createKeyVerifier } from './keys.ts';
export type { FileKeyVerifier, KeyScopes, KeyInfo, KeyVerifier, Principal } from './keys.ts';
export type { Problem } from './problems.ts';
export { maxBatchEvents, maxBodyBytes, maxJsonDepth } from './requestBody.ts';
export { idRetentionMs, idRetentionCount } from './idIndex.ts';
export type { AppendedId, ClientId, IdClaim, IdIndex } from './idIndex.ts';
export { openSqliteIdIndex } from './sqlite/sqliteIdIndex.ts';
