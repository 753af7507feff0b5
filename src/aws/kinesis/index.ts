export { createKinesisEventLog, type KinesisEventLogOptions } from './kinesisEventLog.ts';
export type { RetryOptions as KinesisRetryOptions } from './appender.ts';
