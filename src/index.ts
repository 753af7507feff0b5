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

export { defineProjection } from './views/defineProjection.ts';
export type {
  Projection,
  AnyProjection,
  ProjectionHeader,
  ProjectionHandlers,
  ProjectionHandler,
  ProjectionEvent,
  HandlerContext,
  TableDefinition,
  AnyTableDefinition,
  TableTransaction,
  TableReader,
  ViewTransaction,
  ViewReader,
  RowOf,
} from './views/defineProjection.ts';
export type { ViewStore, ViewStorage, ViewChanges, ViewLayout, TableLayout, Checkpoint, DeadLetter, ParkedEvent, DeadLetterAudit, QueryOptions, Row } from './views/viewStore.ts';
export { createMemoryViewStorage } from './views/memory/index.ts';
export { openSqliteViewStorage } from './views/sqlite/index.ts';
export type { SqliteViewStorageOptions } from './views/sqlite/index.ts';

export { createConsumer } from './consumers/consumer.ts';
export type { Consumer, ConsumerOptions, ConsumerStatus, ConsumerState, RebuildProgress, RetryResult } from './consumers/consumer.ts';
export { defineReactor } from './consumers/defineReactor.ts';
export type { Reactor, AnyReactor, ReactorHandler, ReactorHandlers, ReactorContext } from './consumers/defineReactor.ts';
export { permanentError } from './consumers/retry.ts';
export type { RetryPolicy } from './consumers/retry.ts';
export { stopOnSignals } from './consumers/stopOnSignals.ts';
export type { Stoppable } from './consumers/stopOnSignals.ts';

export type { EventStore, ExpectedVersion, StreamEventInput, StreamEvent, StreamEnvelope, ReadStreamOptions, AggregateOptions, SnapshotOptions, AppendToStreamResult } from './store/eventStore.ts';
export { createMemoryEventStore } from './store/memory/index.ts';
export type { MemoryEventStoreOptions } from './store/memory/index.ts';
export { openFileEventStore } from './store/file/index.ts';
export type { FileEventStoreOptions } from './store/file/index.ts';
export { defineDecider, createCommandHandler, deciderSpec } from './store/decider.ts';
export type { Decider, DeciderInput, DeciderEvent, CommandHandlerOptions, CommandResult, ExpectedFailure } from './store/decider.ts';
export { openEventStore } from './store/openEventStore.ts';
export type { StoreConfig } from './config/defineConfig.ts';

export type { BlobStore, PutBlobOptions, StoredBlob, DeleteBlobResult } from './blobs/blobStore.ts';
export { isBlobKey, checkBlobKey, maxBlobKeyLength } from './blobs/blobStore.ts';
export { createMemoryBlobStore } from './blobs/memory/index.ts';
export { openLocalBlobStore } from './blobs/local/index.ts';
export type { LocalBlobStoreOptions } from './blobs/local/index.ts';
export { createTimerScheduler, createMemoryTimerStore, openSqliteTimerStore, createManualClock, systemClock, timerEventId, timerEventSchema } from './consumers/timers/index.ts';
export type { Clock, ManualClock, TimerStore, TimerRecord, TimerEvent, TimerState, TimerScheduler, TimerSchedulerOptions, ScheduledEvent, SqliteTimerStoreOptions } from './consumers/timers/index.ts';
