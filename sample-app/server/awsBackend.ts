// The demo on AWS (or the local AWS stack, `npm run local:aws`): the Kinesis stream as the log, views, entity
// streams, timers and API keys in DynamoDB, photos in S3. Loaded only when the demo starts with `--backend aws`, so
// the embedded demo never loads the AWS SDK.
import type { Logger } from 'pino';
import {
  awsResources,
  createAwsClients,
  createDynamoEventStore,
  createDynamoIdIndex,
  createDynamoKeyStore,
  createDynamoTimerStore,
  createDynamoViewStorage,
  createKinesisEventLog,
  createOutboxRelay,
  createS3BlobStore,
  eventStoreTableName,
  outboxTableName,
  serviceIdsTableName,
  serviceKeysTableName,
  timerTableName,
  type AwsClients,
} from '../../src/aws/index.ts';
import { checkResources } from '../../src/aws/service/startAwsService.ts';
import { createCatalog, isUnilogError } from '../../src/index.ts';
import { createEventLogService } from '../../src/service/index.ts';
import { helloRetailEvents } from '../events.ts';
import { closerList, operatorScopes, rememberedKey, type DemoBackend, type HelloRetailStore } from './backend.ts';

/** Options of {@link openAwsBackend}. */
export interface AwsBackendOptions {
  /** The prefix of the deployment's table and bucket names, as `npm run local:aws` and `unilog aws init` use it. @default "unilog-" */
  readonly prefix?: string;
  /** @default `<prefix>events` */
  readonly streamName?: string;
  /** SDK clients; not destroyed on close. @default clients from the environment (`AWS_ENDPOINT_URL_*` for local servers) */
  readonly clients?: AwsClients;
  /** A local folder for the operator's API key in plain text (the key table holds only hashes). */
  readonly dir: string;
}

/** The Kinesis record limit (1 MiB with the partition key), which the log enforces too. */
const maxEventBytes = 1024 * 1024;

/** Opens the AWS backend; fails early, saying what to run, when the stream or a table is missing. */
export async function openAwsBackend(options: AwsBackendOptions, logger: Logger): Promise<DemoBackend> {
  const prefix = options.prefix ?? 'unilog-';
  const resources = awsResources({ prefix, ...(options.streamName === undefined ? {} : { streamName: options.streamName }) });
  const closers = closerList(logger);
  const clients = options.clients ?? (await createAwsClients());
  if (options.clients === undefined) {
    closers.push(() => {
      clients.destroy();
      return Promise.resolve();
    });
  }
  try {
    const tables = [eventStoreTableName(prefix), outboxTableName(prefix), timerTableName(prefix), serviceKeysTableName(prefix), serviceIdsTableName(prefix)];
    await checkResources(clients, resources.streamName, tables, prefix);
    const catalog = createCatalog(helloRetailEvents);
    // Idle subscriptions poll each shard every 2 s: the demo's seven consumers then use 3.5 of the 5 reads per second
    // AWS allows a shard. Its own appends wake them at once, whatever the interval.
    const log = createKinesisEventLog({ client: clients.kinesis, streamName: resources.streamName, pollIntervalMs: 2000 });
    closers.push(() => log.close());
    // Entity streams are written to DynamoDB with an outbox entry in the same transaction; the relay publishes them to
    // the stream. Each append waits for a relay pass, so a command's events are in the log when it returns (the
    // embedded store's read-your-writes); the background passes publish what a crash left behind.
    const relay = createOutboxRelay({ client: clients.dynamodb, outboxTableName: outboxTableName(prefix), log });
    await relay.pump();
    relay.start((error) => {
      logger.error({ err: error }, 'the outbox relay failed a pass; it tries again');
    });
    closers.push(() => relay.close());
    const keys = createDynamoKeyStore({ client: clients.dynamodb, tableName: serviceKeysTableName(prefix) });
    const timers = createDynamoTimerStore({ dynamodb: clients.dynamodb, tableName: timerTableName(prefix) });
    closers.push(() => timers.close());
    const blobs = createS3BlobStore({ client: clients.s3, bucket: resources.buckets.blobs });
    closers.push(() => blobs.close());
    return {
      kind: 'aws',
      describe: `AWS: stream ${resources.streamName}, tables and buckets prefixed ${prefix}`,
      log,
      storage: createDynamoViewStorage({ client: clients.dynamodb, tablePrefix: prefix }),
      timers,
      blobs,
      openStore(_name, source) {
        const store = createDynamoEventStore({ client: clients.dynamodb, tableName: eventStoreTableName(prefix), outboxTableName: outboxTableName(prefix), catalog, source });
        const published: HelloRetailStore = {
          appendToStream: async (streamId, events, appendOptions) => {
            const result = await store.appendToStream(streamId, events, appendOptions);
            // Committed: a failed pass must not fail the command (a retry would apply it twice); the background passes
            // publish it, and the page shows "catching up" meanwhile.
            await relay.pump().catch((error: unknown) => {
              logger.error({ err: error, streamId }, 'the outbox relay could not publish a command at once; it tries again in the background');
            });
            return result;
          },
          readStream: (streamId, readOptions) => store.readStream(streamId, readOptions),
          aggregateStream: (streamId, aggregateOptions) => store.aggregateStream(streamId, aggregateOptions),
          close: () => store.close(),
        };
        closers.push(() => store.close());
        return Promise.resolve(published);
      },
      async openService(consumers, serviceLogger) {
        const apiKey = await rememberedKey(
          options.dir,
          async (key) => {
            try {
              await keys.verify(`Bearer ${key}`);
              return true;
            } catch (error) {
              if (!isUnilogError(error, 'Unauthorized')) throw error;
              return false;
            }
          },
          async () => (await keys.create(operatorScopes)).key,
          `demo-api-key-${prefix}aws.txt`,
        );
        const ids = createDynamoIdIndex({ client: clients.dynamodb, tableName: serviceIdsTableName(prefix), report: (message, details) => { serviceLogger.warn(details, message); } });
        const service = await createEventLogService({ log, catalog, ids, keys, consumers, logger: serviceLogger, maxEventBytes });
        closers.push(() => service.close());
        return { service, apiKey };
      },
      close: () => closers.closeAll(),
    };
  } catch (error) {
    await closers.closeAll();
    throw error;
  }
}
