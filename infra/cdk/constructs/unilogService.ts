import { Duration, RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import { HttpApi, type HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { type Alarm, ComparisonOperator, type IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { ParamsAndSecretsLayerVersion, ParamsAndSecretsVersions } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { bundling, functionArchitecture, functionEnvironment, functionRuntime, lambdaEntry, lockFile, repoRoot } from '../bundling.ts';
import type { ServiceSettings } from '../config.ts';
import { alarmMaker, functionAlarms } from './alarms.ts';

/** How often the service re-reads the producer keys: a revoked key stops working within about twice this. */
export const keysRefreshSeconds = 30;

/** Props of {@link UnilogService}. */
export interface UnilogServiceProps extends ServiceSettings {
  /** Names the producer-keys secret: `<prefix>producer-keys`. */
  readonly prefix: string;
  /** The log the service appends to and reads from. */
  readonly stream: IStream;
  /** The producer-keys table (`service-keys` of `awsResources`), read when `keySource` is `table`. */
  readonly keysTable: Table;
  /** The client-id table (`service-ids` of `awsResources`, time to live on `ttl`): the service's id index. */
  readonly idsTable: Table;
  /** Told when an alarm fires. @default no action */
  readonly alarmAction?: IAlarmAction;
  /** API 5xx responses per 5 minutes that fire the alarm. @default 5 */
  readonly serverErrorAlarm?: number;
}

/**
 * The event-log service (`POST /events`, `GET /events`, ...) as a Lambda behind an API Gateway HTTP API, throttled at
 * the stage. Client ids are claimed in the service-ids table, so a repeat is recognised by every container. Producer
 * keys (the hashed key file of `unilog keys create`) live in a Secrets Manager secret that the function reads through
 * the AWS Parameters and Secrets Lambda Extension, or, with `keySource: 'table'`, in the service-keys table.
 * @see docs/deploy.md
 */
export class UnilogService extends Construct {
  readonly function: NodejsFunction;
  readonly api: HttpApi;
  readonly stage: HttpStage;
  /** The producer keys: `{ "version": 1, "keys": [...] }`, as `unilog keys create` writes keys.json; none with `keySource: 'table'`. */
  readonly keys: Secret | undefined;
  readonly alarms: { readonly errors: Alarm; readonly throttles: Alarm; readonly serverErrors: Alarm };

  constructor(scope: Construct, id: string, props: UnilogServiceProps) {
    super(scope, id);
    this.keys = props.keySource === 'secret'
      ? new Secret(this, 'ProducerKeys', {
        secretName: `${props.prefix}producer-keys`,
        description: 'unilog producer keys: the keys.json of `unilog keys create` (salted SHA-256 hashes, never the keys)',
        // An empty key list is not secret, and the service refuses every key until an operator puts real ones here.
        secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ version: 1, keys: [] })),
        removalPolicy: RemovalPolicy.DESTROY,
      })
      : undefined;
    const logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.function = new NodejsFunction(this, 'Function', {
      description: 'unilog event-log service (HTTP API)',
      entry: lambdaEntry('service'),
      handler: 'handler',
      runtime: functionRuntime,
      architecture: functionArchitecture,
      memorySize: props.memoryMb,
      // API Gateway HTTP APIs give up after 30 s.
      timeout: Duration.seconds(29),
      projectRoot: repoRoot,
      depsLockFilePath: lockFile,
      bundling,
      logGroup,
      ...(this.keys === undefined
        ? {}
        : {
          paramsAndSecrets: ParamsAndSecretsLayerVersion.fromVersion(ParamsAndSecretsVersions.V1_0_103, {
            cacheSize: 10,
            secretsManagerTtl: Duration.seconds(keysRefreshSeconds),
          }),
        }),
      environment: {
        ...functionEnvironment,
        STREAM_NAME: props.stream.streamName,
        IDS_TABLE_NAME: props.idsTable.tableName,
        ...(this.keys === undefined
          ? { KEYS_TABLE_NAME: props.keysTable.tableName }
          : { KEYS_SECRET_ARN: this.keys.secretArn, KEYS_REFRESH_SECONDS: String(keysRefreshSeconds) }),
      },
    });
    props.stream.grantReadWrite(this.function);
    // Exactly what the DynamoDB id index sends (conditional claims, renewals, positions, releases): no Query, Scan or batch.
    props.idsTable.grant(this.function, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    // The key store verifies a request with one GetItem; creating and revoking keys is the operator's (unilog keys).
    if (this.keys === undefined) props.keysTable.grant(this.function, 'dynamodb:GetItem');
    else this.keys.grantRead(this.function);

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

    const alarm = alarmMaker(this, 'event-log service', props.alarmAction);
    this.alarms = {
      ...functionAlarms(alarm, this.function, { errors: 'Errors', throttles: 'Throttles' }),
      serverErrors: alarm('ServerErrors', 'the API answered 5xx', {
        metric: this.api.metricServerError({ statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: props.serverErrorAlarm ?? 5,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
    };
  }
}
