import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IAlarmAction, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { Construct } from 'constructs';
import type { StreamSettings } from '../config.ts';

/** Props of {@link UnilogStream}. */
export interface UnilogStreamProps extends StreamSettings {
  /** The stream's name, from `awsResources({ prefix }).streamName`. */
  readonly streamName: string;
  /** Told when writes are throttled. @default no action */
  readonly alarmAction?: IAlarmAction;
}

/**
 * The unified log: a Kinesis stream encrypted with the AWS managed key (aws/kinesis), on demand or with a fixed
 * number of shards, kept when the stack is deleted (it is the system of record), with an alarm on throttled writes.
 * @example new UnilogStream(this, 'Events', { streamName: 'shop-events', mode: 'on-demand', shards: 1, retentionHours: 24 })
 * @see docs/deploy.md
 */
export class UnilogStream extends Construct {
  /** The Kinesis stream. */
  readonly stream: Stream;
  /** Fires when producers are throttled (a provisioned stream needs shards; an on-demand one is scaling). */
  readonly writeThrottleAlarm: Alarm;

  constructor(scope: Construct, id: string, props: UnilogStreamProps) {
    super(scope, id);
    const provisioned = props.mode === 'provisioned';
    this.stream = new Stream(this, 'Stream', {
      streamName: props.streamName,
      streamMode: provisioned ? StreamMode.PROVISIONED : StreamMode.ON_DEMAND,
      ...(provisioned ? { shardCount: props.shards } : {}),
      retentionPeriod: Duration.hours(props.retentionHours),
      encryption: StreamEncryption.MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.writeThrottleAlarm = new Alarm(this, 'WriteThrottles', {
      alarmDescription: `Writes to ${props.streamName} are throttled: ${provisioned ? 'add shards (docs/deploy.md, "Scaling")' : 'the on-demand stream is scaling; if it persists, check hot partition keys'}.`,
      metric: this.stream.metricWriteProvisionedThroughputExceeded({ statistic: 'Sum', period: Duration.minutes(1) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmAction !== undefined) this.writeThrottleAlarm.addAlarmAction(props.alarmAction);
  }
}
