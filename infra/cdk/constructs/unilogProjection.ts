import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { type Alarm, ComparisonOperator, type IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { type EventSourceMapping, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { awsResources, type ProjectionShape } from '../../../src/aws/resources.ts';
import { UnilogError } from '../../../src/errors.ts';
import { bundling, functionArchitecture, functionEnvironment, functionRuntime, lambdaEntry, lockFile, repoRoot } from '../bundling.ts';
import { type ConsumerSettings, defaultConsumerSettings } from '../config.ts';
import { createUnilogTable } from './unilogTable.ts';
import { alarmMaker, functionAlarms } from './alarms.ts';

/** Props of {@link UnilogProjection}. */
export interface UnilogProjectionProps {
  /** The deployment's name prefix: the view table is `awsResources({ prefix, projections: [projection] })`'s. */
  readonly prefix: string;
  /** The projection (any `defineProjection` result): its name, version and declared tables and indexes. */
  readonly projection: ProjectionShape;
  /** The stream the projection reads. */
  readonly stream: IStream;
  /**
   * The Lambda entry file: it exports `handler`, e.g. `createProjectionLambdaHandler([myProjection])`.
   * @default infra/cdk/lambda/projection.ts (the Hello Retail projections, picked by PROJECTION_NAME)
   */
  readonly entry?: string;
  /** Event source mapping and function settings. @default {@link defaultConsumerSettings} */
  readonly consumer?: Partial<ConsumerSettings>;
  /** The iterator age (lag) that fires the lag alarm. @default 60 seconds */
  readonly iteratorAgeAlarm?: Duration;
  /** Told when any of the projection's alarms fires. @default no action */
  readonly alarmAction?: IAlarmAction;
}

/**
 * One projection on AWS: its own DynamoDB view table, a Lambda (bundled from TypeScript) with a Kinesis event source
 * mapping that reports batch item failures, an encrypted SQS queue for batches that run out of retries, and alarms on
 * lag, errors, throttles and that queue. The function may read and write its own table only.
 * @example
 * new UnilogProjection(stack, 'Orders', { prefix: 'shop-', projection: ordersProjection, stream: events.stream, entry: 'lambda/orders.ts' });
 * @see docs/deploy.md
 */
export class UnilogProjection extends Construct {
  readonly table: Table;
  readonly function: NodejsFunction;
  /** Where Lambda sends a batch (its shard and sequence numbers, not the records) after the last retry. */
  readonly deadLetterQueue: Queue;
  /** The Kinesis event source mapping (replaced with the function, and so restarted from the oldest record, when `replayGeneration` changes). */
  readonly mapping: EventSourceMapping;
  readonly alarms: { readonly iteratorAge: Alarm; readonly errors: Alarm; readonly throttles: Alarm; readonly deadLetters: Alarm };

  constructor(scope: Construct, id: string, props: UnilogProjectionProps) {
    super(scope, id);
    const { projection } = props;
    const settings = { ...defaultConsumerSettings, ...props.consumer };
    if (settings.parallelizationFactor !== 1) {
      throw new UnilogError('InvalidArgument', `Projection ${projection.name}: parallelizationFactor ${settings.parallelizationFactor} would run several batches of one shard at once, and the Lambda handler keeps one checkpoint per shard, so they would skip each other's records. Use 1 and add shards to go faster.`, { argument: 'parallelizationFactor', reason: 'must be 1' });
    }
    const definition = awsResources({ prefix: props.prefix, projections: [projection] }).tables.find((t) => t.purpose === 'view');
    if (definition === undefined) throw new UnilogError('InvalidArgument', `awsResources() gave no view table for projection ${projection.name}.`, { argument: 'projection', reason: 'no view table' });
    this.table = createUnilogTable(this, 'Table', definition);

    const logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    // A new replay generation replaces the function, and with it its mapping, which then starts at the oldest record:
    // Lambda refuses a second mapping of one function to one stream, so CloudFormation could not replace the mapping alone.
    this.function = new NodejsFunction(this, settings.replayGeneration === 0 ? 'Function' : `Function-replay${settings.replayGeneration}`, {
      description: `unilog projection ${projection.name} v${projection.version}: keeps ${definition.name} from the stream`,
      entry: props.entry ?? lambdaEntry('projection'),
      handler: 'handler',
      runtime: functionRuntime,
      architecture: functionArchitecture,
      memorySize: settings.memoryMb,
      timeout: Duration.seconds(settings.timeoutSeconds),
      projectRoot: repoRoot,
      depsLockFilePath: lockFile,
      bundling,
      logGroup,
      environment: { ...functionEnvironment, PROJECTION_NAME: projection.name, TABLE_PREFIX: props.prefix },
    });
    // GetItem, Query, BatchGetItem, TransactWriteItems (Put/Delete/ConditionCheck), BatchWriteItem on this table only.
    this.table.grantReadWriteData(this.function);

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    props.stream.grantRead(this.function);
    this.mapping = this.function.addEventSourceMapping('Mapping', {
      eventSourceArn: props.stream.streamArn,
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: settings.batchSize,
      parallelizationFactor: settings.parallelizationFactor,
      bisectBatchOnError: settings.bisectBatchOnError,
      retryAttempts: settings.retryAttempts,
      // Left out for -1: Lambda's default is to never expire records, and the construct accepts only 60 s to 7 days.
      ...(settings.maxRecordAgeSeconds === -1 ? {} : { maxRecordAge: Duration.seconds(settings.maxRecordAgeSeconds) }),
      maxBatchingWindow: Duration.seconds(settings.batchingWindowSeconds),
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(this.deadLetterQueue),
    });

    const alarm = alarmMaker(this, projection.name, props.alarmAction);
    const lag = props.iteratorAgeAlarm ?? Duration.seconds(60);
    this.alarms = {
      iteratorAge: alarm('IteratorAgeAlarm', `the view is more than ${lag.toSeconds()} s behind the stream (docs/deploy.md, "Lag")`, {
        metric: this.function.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
        threshold: lag.toMilliseconds(),
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
      }),
      ...functionAlarms(alarm, this.function, { errors: 'ErrorsAlarm', throttles: 'ThrottlesAlarm' }),
      deadLetters: alarm('DeadLettersAlarm', 'a batch ran out of retries: its records are missing from the view (docs/deploy.md, "Dead letters")', {
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      }),
    };
  }
}
