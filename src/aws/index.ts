/**
 * The AWS adapters of unilog (`unilog/aws`): the only entry that loads `@aws-sdk/*`, so embedded users never do.
 * @see docs/aws.md
 * @module
 */
export { createKinesisEventLog } from './kinesis/index.ts';
export type { KinesisEventLogOptions, KinesisRetryOptions } from './kinesis/index.ts';
