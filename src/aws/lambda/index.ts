export { createKinesisHandler } from './kinesisHandler.ts';
export type { KinesisBatchResponse, KinesisHandlerOptions, KinesisStreamEvent, KinesisStreamRecord } from './kinesisHandler.ts';
