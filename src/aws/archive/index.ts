export { createKinesisArchiver, type ArchiveRunResult, type KinesisArchiver, type KinesisArchiverOptions } from './kinesisArchiver.ts';
export { createArchivedKinesisEventLog, type ArchivedKinesisEventLogOptions } from './archivedKinesisEventLog.ts';
