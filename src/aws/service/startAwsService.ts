import pino, { type Logger } from 'pino';
import type { UnilogConfig } from '../../config/defineConfig.ts';
import { UnilogError } from '../../errors.ts';
import { createCatalog } from '../../events/catalog.ts';
import { listenOptionsOf, listenService, type RunningService } from '../../service/server.ts';
import { createEventLogService } from '../../service/service.ts';
import { createAwsClients, type AwsClients } from '../clients.ts';
import { createKinesisEventLog } from '../kinesis/index.ts';
import { awsResources, serviceIdsTableName, serviceKeysTableName } from '../resources.ts';
import { createDynamoIdIndex } from './dynamoIdIndex.ts';
import { createDynamoKeyStore } from './dynamoKeyStore.ts';

/** Options of {@link startAwsService}. */
export interface StartAwsServiceOptions {
  /** The events the service accepts (its projections are not run here: consumers on AWS are separate workers). */
  readonly config: UnilogConfig;
  /** The prefix of the deployment's table names, as given to `awsResources` and `unilog aws init`. */
  readonly tablePrefix: string;
  /** The Kinesis stream. @default `<tablePrefix>events` */
  readonly streamName?: string;
  /** SDK clients; the service does not destroy them. @default clients from the SDK's default settings (environment), destroyed on close */
  readonly clients?: AwsClients;
  /** @default 8080; 0 picks a free port */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** Accept requests without keys (every request may do everything, as producer `insecure`). */
  readonly insecure?: boolean;
  /** JSON-lines logger. @default pino to stderr */
  readonly logger?: Logger;
  /** Past this many events waiting to be appended, POSTs get 429. @default 20000 */
  readonly maxQueuedEvents?: number;
  /** A request (headers and body) that takes longer is cut off with 408. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** How long a verified key answers later requests (a revoke waits that long), 0 to 5000 ms. @default 0 */
  readonly keyCacheMs?: number;
}

/** Where consumers are operated when the service runs on AWS. */
const consumersElsewhere = 'consumers do not run in unilog serve --backend aws; they run as separate workers on the Kinesis stream (see docs/aws.md#configuration).';

/**
 * Runs the event-log service on AWS: the Kinesis stream as the log, API keys and client ids in the deployment's
 * DynamoDB tables, so several instances can serve one stream. The stream and tables must exist (`unilog aws init`).
 * @example const service = await startAwsService({ config, tablePrefix: 'shop-', port: 8080 });
 * @see docs/aws.md#configuration
 */
export async function startAwsService(options: StartAwsServiceOptions): Promise<RunningService> {
  const logger = options.logger ?? pino({ name: 'unilog' }, pino.destination(2));
  const { config, tablePrefix } = options;
  const resources = awsResources({ prefix: tablePrefix, ...(options.streamName === undefined ? {} : { streamName: options.streamName }) });
  const clients = options.clients ?? (await createAwsClients());
  const owned = options.clients === undefined;
  try {
    await checkResources(clients, resources.streamName, [serviceKeysTableName(tablePrefix), serviceIdsTableName(tablePrefix)], tablePrefix);
    const keys = createDynamoKeyStore({ client: clients.dynamodb, tableName: serviceKeysTableName(tablePrefix), ...(options.keyCacheMs === undefined ? {} : { cacheMs: options.keyCacheMs }) });
    if (options.insecure === true) {
      logger.warn('running with --insecure: every request may publish any type, read everything and operate consumers, without a key');
    } else if (!(await keys.hasKeys())) {
      throw new UnilogError('NoApiKeys', `No API keys in table ${serviceKeysTableName(tablePrefix)}: create one with unilog keys create --backend aws --table-prefix ${tablePrefix} --producer NAME --types TYPE,... (or run with --insecure on a trusted machine).`, { dir: `dynamodb:${serviceKeysTableName(tablePrefix)}` });
    }
    if (config.projections.length > 0) logger.warn({ projections: config.projections.length }, `the config's projections are not run by serve --backend aws: ${consumersElsewhere}`);
    const log = createKinesisEventLog({ streamName: resources.streamName, client: clients.kinesis });
    const ids = createDynamoIdIndex({ client: clients.dynamodb, tableName: serviceIdsTableName(tablePrefix), report: (message, details) => { logger.warn(details, message); } });
    const service = await createEventLogService({
      log,
      catalog: createCatalog(config.events),
      ids,
      keys: options.insecure === true ? 'insecure' : keys,
      consumersElsewhere,
      logger,
      ...(options.maxQueuedEvents === undefined ? {} : { maxQueuedEvents: options.maxQueuedEvents }),
      // The Kinesis record limit (1 MiB, with the partition key), which the log enforces too.
      maxEventBytes: 1024 * 1024,
    });
    try {
      return await listenService(service, {
        ...listenOptionsOf(options),
        logger,
        describe: { backend: 'aws', stream: resources.streamName, tablePrefix },
        onClose: async () => {
          await log.close();
          if (owned) clients.destroy();
        },
      });
    } catch (error) {
      await service.close();
      await log.close();
      throw error;
    }
  } catch (error) {
    if (owned) clients.destroy();
    throw error;
  }
}

/** Fails early, and says what to run, when the stream or a table is missing (internal: the service and the demo). */
export async function checkResources(clients: AwsClients, streamName: string, tables: readonly string[], prefix: string): Promise<void> {
  const [{ DescribeStreamSummaryCommand, ResourceNotFoundException: StreamNotFound }, { DescribeTableCommand, ResourceNotFoundException: TableNotFound }] = await Promise.all([
    import('@aws-sdk/client-kinesis'),
    import('@aws-sdk/client-dynamodb'),
  ]);
  const missing: string[] = [];
  try {
    await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
  } catch (error) {
    if (!(error instanceof StreamNotFound)) throw error;
    missing.push(`Kinesis stream ${streamName}`);
  }
  for (const table of tables) {
    try {
      await clients.dynamodb.send(new DescribeTableCommand({ TableName: table }));
    } catch (error) {
      if (!(error instanceof TableNotFound)) throw error;
      missing.push(`DynamoDB table ${table}`);
    }
  }
  if (missing.length > 0) {
    throw new UnilogError('LogNotFound', `${missing.join(', ')} not found: create the resources with unilog aws init --table-prefix ${prefix}${streamName === `${prefix}events` ? '' : ` --stream ${streamName}`} (or deploy the CDK app), and check the region and endpoints.`, {
      dir: missing.join(', '),
    });
  }
}
