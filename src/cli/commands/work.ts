import pino from 'pino';
import type { AnyProjection } from '../../views/defineProjection.ts';
import { localOnly } from '../client.ts';
import { requireConfig, usageError } from '../context.ts';
import { write, type Io } from '../output.ts';
import { untilSignal } from '../signals.ts';
import { awsTarget, type AwsBackendOptions } from './aws.ts';

/** Options of `unilog work`. */
export interface WorkCommandOptions extends AwsBackendOptions {
  /** Comma-separated projection names. @default every projection of the config */
  readonly projections?: string;
  /** This worker's id. @default `<hostname>-<pid>-<random>` */
  readonly workerId?: string;
  /** Lease duration in milliseconds. */
  readonly leaseMs?: string;
}

/**
 * `unilog work --backend aws`: runs a distributed worker (shard leases in DynamoDB) for each projection of the config
 * on the Kinesis stream until SIGINT or SIGTERM, then releases its leases and exits 0. Run it on as many machines as
 * you like: the workers of a projection share the shards.
 */
export async function workCommand(options: WorkCommandOptions, io: Io): Promise<number> {
  localOnly(options, 'work');
  if ((options.backend ?? 'file') !== 'aws') {
    throw usageError('unilog work: distributed workers run on --backend aws (Kinesis and DynamoDB); on the data folder, projections run in the process that serves or embeds them (unilog serve, createConsumer).');
  }
  const target = awsTarget(options, 'work');
  const leaseDurationMs = options.leaseMs === undefined ? undefined : Number(options.leaseMs);
  if (leaseDurationMs !== undefined && (!Number.isInteger(leaseDurationMs) || leaseDurationMs < 500)) {
    throw usageError(`unilog work: --lease-ms is a whole number of milliseconds from 500, not ${JSON.stringify(options.leaseMs)}.`);
  }
  const config = await requireConfig(options);
  const all = config.projections.filter((p): p is AnyProjection => typeof p === 'object' && p !== null && (p as { kind?: unknown }).kind === 'projection');
  const wanted = options.projections?.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = wanted?.filter((name) => !all.some((p) => p.name === name)) ?? [];
  if (unknown.length > 0) throw usageError(`unilog work: no projection ${unknown.join(', ')} in the config; it has: ${all.map((p) => p.name).join(', ') || '(none)'}.`);
  const projections = wanted === undefined ? all : all.filter((p) => wanted.includes(p.name));
  if (projections.length === 0) throw usageError('unilog work: the config has no projections to run.');

  const [{ createAwsClients }, aws, { createCatalog }] = await Promise.all([import('../../aws/clients.ts'), import('../../aws/index.ts'), import('../../events/catalog.ts')]);
  const logger = pino({ name: 'unilog-work' }, pino.destination({ dest: 2, sync: true }));
  const clients = await createAwsClients();
  const catalog = createCatalog(config.events);
  const streamName = target.streamName ?? aws.awsResources({ prefix: target.tablePrefix }).streamName;
  const storage = aws.createDynamoViewStorage({ client: clients.dynamodb, tablePrefix: target.tablePrefix });
  const workers = projections.map((projection) =>
    aws.createKinesisWorker({
      projection,
      storage,
      catalog,
      kinesis: clients.kinesis,
      dynamodb: clients.dynamodb,
      streamName,
      leaseTableName: aws.leaseTableName(target.tablePrefix),
      ...(options.workerId === undefined ? {} : { workerId: options.workerId }),
      ...(leaseDurationMs === undefined ? {} : { leaseDurationMs }),
      onError: (error, at) => { logger.error({ err: error, projection: projection.name, shard: at.shardId }, 'worker error; retrying from the checkpoint'); },
    }));
  await write(io.stdout, io.json
    ? `${JSON.stringify({ stream: streamName, projections: projections.map((p) => p.name), workerIds: workers.map((w) => w.workerId) })}\n`
    : `unilog work: ${projections.map((p) => p.name).join(', ')} on ${streamName} (stop with Ctrl-C)\n`);
  await untilSignal();
  await Promise.all(workers.map((worker) => worker.stop()));
  clients.destroy();
  return 0;
}
