/**
 * unilog: one typed, durable, append-only event log. This entry is the embedded backend (no AWS SDK is loaded).
 * @module
 */
export { UnilogError, isUnilogError, errorCodes } from './errors.ts';
export type { ErrorCode, ErrorDetails, ValidationIssue } from './errors.ts';

export { defineEvent } from './events/defineEvent.ts';
export type { EventDefinition, AnyEventDefinition, EventData, EventInput, DefineEventOptions, EventSchema } from './events/defineEvent.ts';
export { createCatalog } from './events/catalog.ts';
export type { EventCatalog, EventOf } from './events/catalog.ts';
export { eventEnvelopeSchema } from './events/envelope.ts';
export type { EventEnvelope, TypedEventEnvelope } from './events/envelope.ts';
export { createPublisher } from './events/publisher.ts';
export type { Publisher, PublisherOptions, PublishOptions, PublishItem, PublishResult } from './events/publisher.ts';

export type {
  EventLog,
  EventLogCapabilities,
  Position,
  StoredEvent,
  AppendResult,
  ReadOptions,
  ReadResult,
  SubscribeOptions,
  Subscription,
} from './log/eventLog.ts';
export { createMemoryEventLog } from './log/memory/index.ts';
export type { MemoryEventLogOptions } from './log/memory/index.ts';
export { openFileEventLog } from './log/file/fileEventLog.ts';
export type { FileEventLog, FileEventLogOptions, FileLogOpenReport } from './log/file/fileEventLog.ts';
export { verifyFileLog, repairFileLog } from './log/file/verify.ts';
export type { VerifyReport, RepairReport } from './log/file/verify.ts';

export { defineConfig } from './config/defineConfig.ts';
export type { UnilogConfig, BackendConfig, FileBackendConfig, DefineConfigInput } from './config/defineConfig.ts';
export { loadConfig } from './config/loadConfig.ts';
