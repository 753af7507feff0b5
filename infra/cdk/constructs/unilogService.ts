import { Duration, RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import { HttpApi, type HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, type IAlarmAction, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { ParamsAndSecretsLayerVersion, ParamsAndSecretsVersions } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { functionEnvironment, lambdaEntry, lockFile, nativeServiceBundling, repoRoot } from '../bundling.ts';
import type { ServiceSettings } from '../config.ts';

/** How often the service re-reads the producer keys: a revoked key stops working within about twice this. */
export const keysRefreshSeconds = 30;

/** Props of {@link UnilogService}. */
export interface UnilogServiceProps extends ServiceSettings {
  /** Names the producer-keys secret: `<prefix>producer-keys`. */
  readonly prefix: string;
  /** The log the service appends to and reads from. */
  readonly stream: IStream;
  /** The service's producer-key and client-id tables (`service-keys`, `service-ids` of `awsResources`). */
  readonly keysTable: Table;
  readonly idsTable: Table;
  /** Told when an alarm fires. @default no action */
  readonly alarmAction?: IAlarmAction;
  /** API 5xx responses per 5 minutes that fire the alarm. @default 5 */
  readonly serverErrorAlarm?: number;
}

/**
 * The event-log service (`POST /events`, `GET /events`, ...) as a Lambda behind an API Gateway HTTP API, throttled at
 * the stage. Producer keys (the hashed key file of `unilog keys create`) live in a Secrets Manager secret that the
 * function reads through the AWS Parameters and Secrets Lambda Extension.
 * @see docs/deploy.md
 */
export class UnilogService extends Construct {
  readonly function: NodejsFunction;
  readonly api: HttpApi;
  readonly stage: HttpStage;
  /** The producer keys: `{ "version": 1, "keys": [...] }`, as `unilog keys create` writes keys.json. */
  readonly keys: Secret;
  readonly alarms: { readonly errors: Alarm; readonly throttles: Alarm; readonly serverErrors: Alarm };

  constructor(scope: Construct, id: string, props: UnilogServiceProps) {
    super(scope, id);
    this.keys = new Secret(this, 'ProducerKeys', {
      secretName: `${props.prefix}producer-keys`,
      description: 'unilog producer keys: the keys.json of `unilog keys create` (salted SHA-256 hashes, never the keys)',
      // An empty key list is not secret, and the service refuses every key until an operator puts real ones here.
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ version: 1, keys: [] })),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const { runtime, architecture, ...bundling } = nativeServiceBundling();
    const logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.function = new NodejsFunction(this, 'Function', {
      description: 'unilog event-log service (HTTP API)',
      entry: lambdaEntry('service'),
      handler: 'handler',
      runtime,
      architecture,
      memorySize: props.memoryMb,
      // API Gateway HTTP APIs give up after 30 s.
      timeout: Duration.seconds(29),
      projectRoot: repoRoot,
      depsLockFilePath: lockFile,
      bundling,
      logGroup,
      paramsAndSecrets: ParamsAndSecretsLayerVersion.fromVersion(ParamsAndSecretsVersions.V1_0_103, {
        cacheSize: 10,
        secretsManagerTtl: Duration.seconds(keysRefreshSeconds),
      }),
      environment: {
        ...functionEnvironment,
        STREAM_NAME: props.stream.streamName,
        KEYS_SECRET_ARN: this.keys.secretArn,
        KEYS_REFRESH_SECONDS: String(keysRefreshSeconds),
        TABLE_PREFIX: props.prefix,
      },
    });
    props.stream.grantReadWrite(this.function);
    this.keys.grantRead(this.function);
    props.keysTable.grantReadData(this.function);
    props.idsTable.grantReadWriteData(this.function);

    this.api = new HttpApi(this, 'Api', {
      description: 'unilog event-log service',
      defaultIntegration: new HttpLambdaIntegration('Service', this.function),
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = this.api.addStage('Stage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });

    const alarm = (alarmId: string, description: string, options: Omit<ConstructorParameters<typeof Alarm>[2], 'alarmDescription'>) => {
      const made = new Alarm(this, alarmId, { alarmDescription: `event-log service: ${description}`, treatMissingData: TreatMissingData.NOT_BREACHING, ...options });
      if (props.alarmAction !== undefined) made.addAlarmAction(props.alarmAction);
      return made;
    };
    this.alarms = {
      errors: alarm('Errors', 'invocations failed (see the function logs)', {
        metric: this.function.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      }),
      throttles: alarm('Throttles', 'invocations were throttled (account concurrency)', {
        metric: this.function.metricThrottles({ statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      }),
      serverErrors: alarm('ServerErrors', 'the API answered 5xx', {
        metric: this.api.metricServerError({ statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: props.serverErrorAlarm ?? 5,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
    };
  }
}
