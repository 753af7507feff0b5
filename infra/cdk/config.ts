/**
 * The settings of a unilog deployment, read from CDK context (`cdk deploy -c unilog:shards=4`, or `context` in
 * infra/cdk.json), with the defaults of docs/deploy.md. Pure data: no construct is made here.
 * @see docs/deploy.md
 * @module
 */
import { z } from 'zod';
import { UnilogError } from '../../src/errors.ts';

/** How the Kinesis stream is sized. */
export interface StreamSettings {
  /** `on-demand` scales by itself; `provisioned` has `shards` shards. @default 'on-demand' */
  readonly mode: 'on-demand' | 'provisioned';
  /** Shards of a provisioned stream (ignored on demand). @default 1 */
  readonly shards: number;
  /** How long records stay readable, 24 to 8760 hours; past 24 costs extra. @default 24 */
  readonly retentionHours: number;
}

/** How each projection Lambda reads the stream: the settings of its Kinesis event source mapping. */
export interface ConsumerSettings {
  /** Records per invocation, 1 to 10,000. @default 100 */
  readonly batchSize: number;
  /**
   * Concurrent batches per shard. Only 1 is accepted: the handler's checkpoint is one sequence number per shard, so
   * two batches of one shard in flight would skip each other's records. @default 1
   */
  readonly parallelizationFactor: number;
  /** Split a failing batch in two and retry each half, to isolate a bad record. @default true */
  readonly bisectBatchOnError: boolean;
  /**
   * Retries of a failing batch before it goes to the on-failure queue, 0 to 10,000. Poison events never get here (the
   * handler dead-letters them in the view); these retries ride out DynamoDB throttling and outages. @default 100
   */
  readonly retryAttempts: number;
  /**
   * Records older than this go to the on-failure queue unprocessed: 60 to 604,800 s, or -1 for never. A finite age
   * below the stream's retention would drop old records from a replay. @default -1
   */
  readonly maxRecordAgeSeconds: number;
  /** Waits up to this long to fill a batch, 0 to 300 s; 0 keeps latency lowest. @default 0 */
  readonly batchingWindowSeconds: number;
  /** Memory of a projection Lambda (MB); CPU grows with it. @default 256 */
  readonly memoryMb: number;
  /** Timeout of one invocation (s). @default 60 */
  readonly timeoutSeconds: number;
  /**
   * Raise it to make the projection start again from the oldest record (a new function and mapping replace the old):
   * the replay step of a rebuild, see docs/deploy.md. @default 0
   */
  readonly replayGeneration: number;
}

/** The event source mapping and function settings a projection uses unless told otherwise. */
export const defaultConsumerSettings: ConsumerSettings = {
  batchSize: 100,
  parallelizationFactor: 1,
  bisectBatchOnError: true,
  retryAttempts: 100,
  maxRecordAgeSeconds: -1,
  batchingWindowSeconds: 0,
  memoryMb: 256,
  timeoutSeconds: 60,
  replayGeneration: 0,
};

/** When the alarms fire and whom they tell. */
export interface AlarmSettings {
  /** A projection is this far behind the stream (Lambda `IteratorAge`, maximum over a minute, 3 of 5 minutes). @default 60 */
  readonly iteratorAgeSeconds: number;
  /** API 5xx responses per 5 minutes before the service alarm fires. @default 5 */
  readonly service5xxPerFiveMinutes: number;
  /** An address subscribed to the alarm topic (it must confirm the subscription). @default none */
  readonly email?: string;
}

/** The event-log service: a Lambda behind an API Gateway HTTP API. */
export interface ServiceSettings {
  /** Steady requests per second the API stage allows. @default 1000 */
  readonly rateLimit: number;
  /** Burst of requests the API stage allows. @default 2000 */
  readonly burstLimit: number;
  /** Memory of the service Lambda (MB). @default 512 */
  readonly memoryMb: number;
  /**
   * Where the service finds producer keys: `secret`, the keys.json of `unilog keys create` in a Secrets Manager
   * secret; or `table`, the service-keys table that `unilog keys create --backend aws` writes. @default 'secret'
   */
  readonly keySource: 'secret' | 'table';
}

/** Everything a deployment can be told. */
export interface UnilogConfig {
  /** Prefix of every stream, table, bucket and secret name (see `awsResources`). @default 'hello-retail-' */
  readonly prefix: string;
  readonly stream: StreamSettings;
  /** Settings every projection shares; `replayGeneration` is per projection, in `replay`. */
  readonly consumer: Omit<ConsumerSettings, 'replayGeneration'>;
  /** Replay generation by projection name (`-c unilog:replay=catalog=1,carts=2`). @default {} */
  readonly replay: Readonly<Record<string, number>>;
  readonly alarms: AlarmSettings;
  readonly service: ServiceSettings;
}

/** The CDK context keys, each with its default: the one list docs/deploy.md documents. */
export const contextKeys = {
  prefix: 'unilog:prefix',
  streamMode: 'unilog:streamMode',
  shards: 'unilog:shards',
  retentionHours: 'unilog:retentionHours',
  batchSize: 'unilog:batchSize',
  parallelizationFactor: 'unilog:parallelizationFactor',
  bisectBatchOnError: 'unilog:bisectBatchOnError',
  retryAttempts: 'unilog:retryAttempts',
  maxRecordAgeSeconds: 'unilog:maxRecordAgeSeconds',
  batchingWindowSeconds: 'unilog:batchingWindowSeconds',
  projectionMemoryMb: 'unilog:projectionMemoryMb',
  projectionTimeoutSeconds: 'unilog:projectionTimeoutSeconds',
  replay: 'unilog:replay',
  iteratorAgeAlarmSeconds: 'unilog:iteratorAgeAlarmSeconds',
  service5xxAlarm: 'unilog:service5xxAlarm',
  alarmEmail: 'unilog:alarmEmail',
  serviceRateLimit: 'unilog:serviceRateLimit',
  serviceBurstLimit: 'unilog:serviceBurstLimit',
  serviceMemoryMb: 'unilog:serviceMemoryMb',
  serviceKeys: 'unilog:serviceKeys',
} as const;

type ContextKey = keyof typeof contextKeys;

// Context given on the command line arrives as strings, from cdk.json as JSON: numbers and booleans accept both.
const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);
const bool = (fallback: boolean) =>
  z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(fallback);

const contextSchema = z.object({
  prefix: z.string().regex(/^([a-z0-9][a-z0-9-]{0,30})?$/, 'lower-case letters, digits and - (at most 31), e.g. shop-').default('hello-retail-'),
  streamMode: z.enum(['on-demand', 'provisioned']).default('on-demand'),
  shards: int(1, 10_000, 1),
  retentionHours: int(24, 8760, 24),
  batchSize: int(1, 10_000, defaultConsumerSettings.batchSize),
  parallelizationFactor: z.coerce.number().int().min(1).max(10).default(defaultConsumerSettings.parallelizationFactor),
  bisectBatchOnError: bool(defaultConsumerSettings.bisectBatchOnError),
  retryAttempts: int(0, 10_000, defaultConsumerSettings.retryAttempts),
  maxRecordAgeSeconds: z.coerce.number().int().refine((v) => v === -1 || (v >= 60 && v <= 604_800), '-1 (never) or 60 to 604800 seconds').default(defaultConsumerSettings.maxRecordAgeSeconds),
  batchingWindowSeconds: int(0, 300, defaultConsumerSettings.batchingWindowSeconds),
  projectionMemoryMb: int(128, 10_240, defaultConsumerSettings.memoryMb),
  projectionTimeoutSeconds: int(1, 900, defaultConsumerSettings.timeoutSeconds),
  replay: z.union([
    z.record(z.string(), z.coerce.number().int().min(0)),
    z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*=\d+(,[A-Za-z][A-Za-z0-9_-]*=\d+)*$/, 'name=generation pairs, e.g. catalog=1,carts=2')
      .transform((text): Record<string, number> => Object.fromEntries(text.split(',').map((pair) => {
        const [name = '', generation = '0'] = pair.split('=');
        return [name, Number(generation)] as const;
      }))),
  ]).default({}),
  iteratorAgeAlarmSeconds: int(1, 604_800, 60),
  service5xxAlarm: int(1, 1_000_000, 5),
  alarmEmail: z.email().optional(),
  serviceRateLimit: int(1, 1_000_000, 1000),
  serviceBurstLimit: int(1, 1_000_000, 2000),
  serviceMemoryMb: int(128, 10_240, 512),
  serviceKeys: z.enum(['secret', 'table']).default('secret'),
});

/**
 * Reads the deployment's settings from CDK context; `tryGetContext` is `app.node.tryGetContext`.
 * Throws `ConfigInvalid` naming every bad value and its context key.
 * @example readUnilogConfig((key) => app.node.tryGetContext(key))
 */
export function readUnilogConfig(tryGetContext: (key: string) => unknown): UnilogConfig {
  const raw = Object.fromEntries(
    (Object.entries(contextKeys) as [ContextKey, string][])
      .map(([field, key]) => [field, tryGetContext(key)] as const)
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = contextSchema.safeParse(raw);
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((issue) => `${contextKeys[issue.path[0] as ContextKey]}: ${issue.message}`);
    throw new UnilogError('ConfigInvalid', `The CDK context of the unilog stack is invalid (${reasons.join('; ')}): fix it in infra/cdk.json or the -c options (see docs/deploy.md).`, { file: 'infra/cdk.json', reason: reasons.join('; ') });
  }
  const c = parsed.data;
  return {
    prefix: c.prefix,
    stream: { mode: c.streamMode, shards: c.shards, retentionHours: c.retentionHours },
    consumer: {
      batchSize: c.batchSize,
      parallelizationFactor: c.parallelizationFactor,
      bisectBatchOnError: c.bisectBatchOnError,
      retryAttempts: c.retryAttempts,
      maxRecordAgeSeconds: c.maxRecordAgeSeconds,
      batchingWindowSeconds: c.batchingWindowSeconds,
      memoryMb: c.projectionMemoryMb,
      timeoutSeconds: c.projectionTimeoutSeconds,
    },
    replay: c.replay,
    alarms: { iteratorAgeSeconds: c.iteratorAgeAlarmSeconds, service5xxPerFiveMinutes: c.service5xxAlarm, ...(c.alarmEmail === undefined ? {} : { email: c.alarmEmail }) },
    service: { rateLimit: c.serviceRateLimit, burstLimit: c.serviceBurstLimit, memoryMb: c.serviceMemoryMb, keySource: c.serviceKeys },
  };
}
