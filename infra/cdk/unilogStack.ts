import { Annotations, Aws, CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AlarmStatusWidget, Dashboard, GraphWidget, type IMetric, MathExpression } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, StorageClass } from 'aws-cdk-lib/aws-s3';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { awsResources, type ProjectionShape, type TablePurpose } from '../../src/aws/resources.ts';
import { UnilogError } from '../../src/errors.ts';
import type { UnilogConfig } from './config.ts';
import { UnilogProjection } from './constructs/unilogProjection.ts';
import { UnilogService } from './constructs/unilogService.ts';
import { UnilogStream } from './constructs/unilogStream.ts';
import { createUnilogTable } from './constructs/unilogTable.ts';

/** Props of {@link UnilogStack}. */
export interface UnilogStackProps extends StackProps {
  readonly config: UnilogConfig;
  /** The projections to run as Lambdas, each with its own view table. */
  readonly projections: readonly ProjectionShape[];
  /** The Lambda entry of the projections. @default infra/cdk/lambda/projection.ts */
  readonly projectionEntry?: string;
}

/** Construct ids of the shared tables, by purpose (stable ids keep CloudFormation from replacing tables). */
const tableIds: Readonly<Record<Exclude<TablePurpose, 'view'>, string>> = {
  leases: 'LeaseTable',
  'event-store': 'EventStoreTable',
  outbox: 'OutboxTable',
  'service-keys': 'ServiceKeysTable',
  'service-ids': 'ServiceIdsTable',
  timers: 'TimerTable',
};

/** `-<account>-<region>` (at most 28 characters) keeps bucket names unique across accounts, as S3 requires. */
const bucketSuffixLength = 28;

/**
 * A whole unilog deployment: the stream, every table and bucket of `awsResources()`, one Lambda per projection, the
 * event-log service behind an HTTP API, alarms (to an SNS topic) and a dashboard. Environment-agnostic: it names no
 * account or region and looks nothing up, so it synthesizes without credentials.
 * @see docs/deploy.md
 */
export class UnilogStack extends Stack {
  readonly stream: UnilogStream;
  readonly tables: ReadonlyMap<string, Table>;
  readonly projections: readonly UnilogProjection[];
  readonly service: UnilogService;
  readonly buckets: { readonly archive: Bucket; readonly blobs: Bucket };
  readonly alarmTopic: Topic;

  constructor(scope: Construct, id: string, props: UnilogStackProps) {
    super(scope, id, props);
    const { config } = props;
    const resources = awsResources({ prefix: config.prefix, projections: props.projections });

    // Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS managed SNS key, and alarms carry no data.
    this.alarmTopic = new Topic(this, 'Alarms', { topicName: `${config.prefix}alarms`, displayName: 'unilog alarms' });
    if (config.alarms.email !== undefined) this.alarmTopic.addSubscription(new EmailSubscription(config.alarms.email));
    const alarmAction = new SnsAction(this.alarmTopic);

    this.stream = new UnilogStream(this, 'Events', { streamName: resources.streamName, ...config.stream, alarmAction });

    const tables = new Map<string, Table>();
    for (const definition of resources.tables) {
      if (definition.purpose === 'view') continue;
      tables.set(definition.name, createUnilogTable(this, tableIds[definition.purpose], definition));
    }

    this.projections = props.projections.map((projection) => new UnilogProjection(this, `Projection-${projection.name}`, {
      prefix: config.prefix,
      projection,
      stream: this.stream.stream,
      ...(props.projectionEntry === undefined ? {} : { entry: props.projectionEntry }),
      consumer: { ...config.consumer, replayGeneration: config.replay[projection.name] ?? 0 },
      iteratorAgeAlarm: Duration.seconds(config.alarms.iteratorAgeSeconds),
      alarmAction,
    }));
    for (const projection of this.projections) tables.set(projection.table.tableName, projection.table);
    const unknown = Object.keys(config.replay).filter((name) => !props.projections.some((p) => p.name === name));
    if (unknown.length > 0) {
      throw new UnilogError('InvalidArgument', `unilog:replay names ${unknown.join(', ')}, which this stack does not run (it runs ${props.projections.map((p) => p.name).join(', ')}).`, { argument: 'unilog:replay', reason: 'unknown projection' });
    }
    const { maxRecordAgeSeconds } = config.consumer;
    if (maxRecordAgeSeconds !== -1 && maxRecordAgeSeconds < config.stream.retentionHours * 3600) {
      Annotations.of(this).addWarningV2('unilog:maxRecordAge', `unilog:maxRecordAgeSeconds (${maxRecordAgeSeconds}) is below the stream's retention: a replay skips records older than that (to the dead-letter queues).`);
    }
    this.tables = tables;

    this.buckets = { archive: this.bucket('ArchiveBucket', resources.buckets.archive, true), blobs: this.bucket('BlobsBucket', resources.buckets.blobs, false) };

    const serviceTable = (purpose: 'service-keys' | 'service-ids'): Table => {
      const name = resources.tables.find((t) => t.purpose === purpose)?.name;
      const table = name === undefined ? undefined : tables.get(name);
      if (table === undefined) throw new UnilogError('InvalidArgument', `awsResources() gave no ${purpose} table.`, { argument: 'prefix', reason: `no ${purpose} table` });
      return table;
    };
    this.service = new UnilogService(this, 'Service', {
      prefix: config.prefix,
      stream: this.stream.stream,
      keysTable: serviceTable('service-keys'),
      idsTable: serviceTable('service-ids'),
      ...config.service,
      alarmAction,
      serverErrorAlarm: config.alarms.service5xxPerFiveMinutes,
    });

    this.dashboard(config.prefix);

    new CfnOutput(this, 'StreamName', { value: this.stream.stream.streamName });
    new CfnOutput(this, 'ApiUrl', { value: this.service.api.apiEndpoint, description: 'The event-log service: POST /events, GET /events, /health, /openapi.json' });
    if (this.service.keys !== undefined) new CfnOutput(this, 'ProducerKeysSecret', { value: this.service.keys.secretName, description: 'Put the keys.json of `unilog keys create` here' });
    new CfnOutput(this, 'ArchiveBucketName', { value: this.buckets.archive.bucketName });
    new CfnOutput(this, 'BlobsBucketName', { value: this.buckets.blobs.bucketName });
    new CfnOutput(this, 'AlarmTopic', { value: this.alarmTopic.topicArn });
  }

  /** An encrypted, private, versioned bucket named `<name>-<account>-<region>`, kept when the stack is deleted. */
  private bucket(id: string, name: string, archive: boolean): Bucket {
    if (name.length + bucketSuffixLength > 63) {
      throw new UnilogError('InvalidArgument', `The bucket name ${name}-<account>-<region> can exceed S3's 63 characters: use a prefix of at most ${63 - bucketSuffixLength - 'archive'.length} characters.`, { argument: 'prefix', reason: 'bucket name too long' });
    }
    return new Bucket(this, id, {
      bucketName: Fn.join('-', [name, Aws.ACCOUNT_ID, Aws.REGION]),
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
        { id: 'expire-old-versions', noncurrentVersionExpiration: Duration.days(30) },
        // Archived stream segments are read only to replay past the stream's retention: cheaper tiers after a month.
        ...(archive
          ? [{
            id: 'to-cheaper-storage',
            transitions: [
              { storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
              { storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(90) },
            ],
          }]
          : []),
      ],
    });
  }

  private dashboard(prefix: string): void {
    const byProjection = (metric: (p: UnilogProjection) => IMetric) => this.projections.map(metric);
    const stream = this.stream.stream;
    const api = this.service.api;
    new Dashboard(this, 'Dashboard', {
      dashboardName: `${prefix}unilog`,
      widgets: [
        [
          new AlarmStatusWidget({
            title: 'Alarms',
            width: 24,
            alarms: [
              this.stream.writeThrottleAlarm,
              ...this.projections.flatMap((p) => Object.values(p.alarms)),
              ...Object.values(this.service.alarms),
            ],
          }),
        ],
        [
          new GraphWidget({ title: 'Stream: records in', width: 8, left: [stream.metricIncomingRecords({ statistic: 'Sum', period: Duration.minutes(1) })] }),
          new GraphWidget({ title: 'Stream: bytes in', width: 8, left: [stream.metricIncomingBytes({ statistic: 'Sum', period: Duration.minutes(1) })] }),
          new GraphWidget({ title: 'Stream: throttled writes', width: 8, left: [stream.metricWriteProvisionedThroughputExceeded({ statistic: 'Sum', period: Duration.minutes(1) })] }),
        ],
        [
          new GraphWidget({ title: 'Projections: lag (iterator age, ms)', width: 12, left: byProjection((p) => p.function.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1), label: p.node.id })) }),
          new GraphWidget({ title: 'Projections: batches in the dead-letter queues', width: 12, left: byProjection((p) => p.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1), label: p.node.id })) }),
        ],
        [
          new GraphWidget({ title: 'Projections: errors', width: 8, left: byProjection((p) => p.function.metricErrors({ statistic: 'Sum', period: Duration.minutes(5), label: p.node.id })) }),
          new GraphWidget({ title: 'Projections: throttles', width: 8, left: byProjection((p) => p.function.metricThrottles({ statistic: 'Sum', period: Duration.minutes(5), label: p.node.id })) }),
          new GraphWidget({ title: 'Projections: duration (p99, ms)', width: 8, left: byProjection((p) => p.function.metricDuration({ statistic: 'p99', period: Duration.minutes(5), label: p.node.id })) }),
        ],
        [
          new GraphWidget({ title: 'API: requests and 5xx', width: 8, left: [api.metricCount({ statistic: 'Sum', period: Duration.minutes(1) }), api.metricServerError({ statistic: 'Sum', period: Duration.minutes(1) }), api.metricClientError({ statistic: 'Sum', period: Duration.minutes(1) })] }),
          new GraphWidget({ title: 'API: latency (p99, ms)', width: 8, left: [api.metricLatency({ statistic: 'p99', period: Duration.minutes(1) })] }),
          new GraphWidget({
            title: 'Service: errors per invocation',
            width: 8,
            left: [new MathExpression({ expression: 'IF(i > 0, e / i, 0)', usingMetrics: { e: this.service.function.metricErrors({ statistic: 'Sum' }), i: this.service.function.metricInvocations({ statistic: 'Sum' }) }, period: Duration.minutes(5), label: 'error rate' })],
          }),
        ],
      ],
    });
  }
}
