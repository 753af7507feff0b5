import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CreateTableCommand, DynamoDBClient, ScanCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Stream } from 'aws-cdk-lib/aws-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildUnilogApp, stackName } from '../../infra/cdk/app.ts';
import { readUnilogConfig } from '../../infra/cdk/config.ts';
import { UnilogProjection } from '../../infra/cdk/constructs/unilogProjection.ts';
import { indexesMetadataKey } from '../../infra/cdk/constructs/unilogTable.ts';
import { helloRetailEvents, ProductCreated } from '../../sample-app/events.ts';
import { awsResources, type ProjectionShape, type TableDefinition } from '../../src/aws/resources.ts';
import { createDynamoKeyStore, createDynamoViewStorage, createKinesisEventLog, type KinesisStreamEvent } from '../../src/aws/index.ts';
import { createMemoryEventLog, createPublisher, defineEvent, defineProjection, isUnilogError } from '../../src/index.ts';
import { awsEndpoints } from '../aws/endpoints.ts';
import { createTestStream, kinesaliteClient } from '../aws/kinesisStreams.ts';

// One `npm run synth` for the whole file (it bundles the Lambdas and validates the template: tens of seconds), in a
// child process without any AWS_* or CDK_* variable and with an empty HOME, so no credentials or profile can be used.

const repo = fileURLToPath(new URL('../../', import.meta.url));
const prefix = readUnilogConfig(() => undefined).prefix;

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
}
interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string; input?: string }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => { resolve({ code, stdout, stderr }); });
    child.stdin.end(options.input ?? '');
  });
}

/** Logical ids a piece of template refers to (`Ref`, `Fn::GetAtt`), anywhere inside it. */
function refs(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) refs(item, into);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') into.add(inner);
      else if (key === 'Fn::GetAtt' && Array.isArray(inner) && typeof inner[0] === 'string') into.add(inner[0]);
      else refs(inner, into);
    }
  }
  return into;
}

/** Every `defineProjection` result exported by projections/*.ts, found by reading the folder, not the stack's list. */
async function discoverProjections(): Promise<ProjectionShape[]> {
  const found = new Map<string, ProjectionShape>();
  const folder = path.join(repo, 'projections');
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.ts')).sort()) {
    const module = (await import(pathToFileURL(path.join(folder, file)).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      if (typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'projection') {
        const projection = value as ProjectionShape;
        found.set(projection.name, projection);
      }
    }
  }
  return [...found.values()];
}

let outdir: string;
let home: string;
let synth: RunResult;
let synthEnv: NodeJS.ProcessEnv;
let template: CfnTemplate;
let assertions: Template;
let discovered: ProjectionShape[];

const resourcesOf = (type: string): [string, CfnResource][] => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const props = (resource: CfnResource | undefined): Record<string, unknown> => resource?.Properties ?? {};
const tableIdByName = (): Map<string, string> => new Map(resourcesOf('AWS::DynamoDB::Table').map(([id, r]) => [props(r)['TableName'] as string, id]));

/** The projection functions of the template, by PROJECTION_NAME. */
function projectionFunctions(): Map<string, [string, CfnResource]> {
  const byName = new Map<string, [string, CfnResource]>();
  for (const [id, fn] of resourcesOf('AWS::Lambda::Function')) {
    const name = (props(fn)['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables?.['PROJECTION_NAME'];
    if (typeof name === 'string') byName.set(name, [id, fn]);
  }
  return byName;
}

/** The service function: the one whose environment names the stream. */
function serviceFunction(): [string, CfnResource] {
  const found = resourcesOf('AWS::Lambda::Function').filter(([, fn]) => ((props(fn)['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {})['STREAM_NAME'] !== undefined);
  expect(found, 'one service function (with STREAM_NAME)').toHaveLength(1);
  return found[0] as [string, CfnResource];
}

/** The IAM statements attached to a function's role. */
function statementsOf(fn: CfnResource): { Action: string | string[]; Resource: unknown; Effect: string }[] {
  const [role] = [...refs(props(fn)['Role'])];
  return resourcesOf('AWS::IAM::Policy')
    .filter(([, policy]) => refs(props(policy)['Roles']).has(role ?? ''))
    .flatMap(([, policy]) => (props(policy)['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown; Effect: string }[] }).Statement);
}

beforeAll(async () => {
  mkdirSync(path.join(repo, 'infra', 'cdk.out'), { recursive: true });
  // Inside infra/cdk.out (ignored by git), so that a bundle run from here resolves @aws-sdk from the repository.
  outdir = mkdtempSync(path.join(repo, 'infra', 'cdk.out', 'test-'));
  home = mkdtempSync(path.join(os.tmpdir(), 'unilog-synth-home-'));
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') && !key.startsWith('CDK_')));
  synthEnv = { ...env, HOME: home, CDK_OUTDIR: outdir };
  synth = await run('npm', ['run', 'synth'], { cwd: repo, env: synthEnv });
  expect(synth.code, `npm run synth failed:\n${synth.stdout}\n${synth.stderr}`).toBe(0);
  template = JSON.parse(readFileSync(path.join(outdir, 'Unilog.template.json'), 'utf8')) as CfnTemplate;
  assertions = Template.fromJSON(template);
  discovered = await discoverProjections();
}, 300_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

describe('npm run synth (offline, no AWS credentials)', () => {
  it('writes the template and the Lambda bundles without any AWS_* variable', () => {
    expect(Object.keys(synthEnv).filter((k) => k.startsWith('AWS_')), 'AWS variables given to the synth').toEqual([]);
    expect(existsSync(path.join(outdir, 'manifest.json')), 'the cloud assembly manifest').toBe(true);
    const manifest = JSON.parse(readFileSync(path.join(outdir, 'Unilog.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string; packaging?: string } }> };
    const bundles = Object.values(manifest.files).filter((f) => f.source.packaging === 'zip');
    // The six projections share one entry and bundling, hence one bundle; the service has its own.
    expect(bundles.length, 'one bundle for the projections, one for the service').toBe(2);
    for (const bundle of bundles) expect(existsSync(path.join(outdir, bundle.source.path, 'index.js')), `${bundle.source.path}/index.js`).toBe(true);
    expect(resourcesOf('AWS::Lambda::Function').length, 'a function per projection of projections/*.ts, and the service').toBe(discovered.length + 1);
  });

  it('passes CloudFormation validation without findings, whatever Node synthesizes (no function on a deprecated runtime)', () => {
    const reportFile = path.join(outdir, 'validation-report.json');
    if (!existsSync(reportFile)) return;
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { pluginReports: { violations: { ruleName: string; description: string }[] }[] };
    const violations = report.pluginReports.flatMap((r) => r.violations);
    expect(violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
  });

  it('every function, the service included, runs on nodejs22.x and arm64', () => {
    const functions = resourcesOf('AWS::Lambda::Function');
    expect(functions.length).toBe(discovered.length + 1);
    for (const [id, fn] of functions) expect({ runtime: props(fn)['Runtime'], architectures: props(fn)['Architectures'] }, id).toEqual({ runtime: 'nodejs22.x', architectures: ['arm64'] });
  });

  it('the bundles carry no native code: better-sqlite3 is the stand-in that throws, and nothing lies beside index.js', () => {
    const manifest = JSON.parse(readFileSync(path.join(outdir, 'Unilog.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string; packaging?: string } }> };
    const bundles = Object.values(manifest.files).filter((f) => f.source.packaging === 'zip').map((f) => path.join(outdir, f.source.path));
    expect(bundles).toHaveLength(2);
    const standIns = new Set<string>();
    for (const bundle of bundles) {
      expect(readdirSync(bundle, { recursive: true }).map(String).sort(), `${bundle}: its files`).toEqual(['index.js', 'index.js.map']);
      const code = readFileSync(path.join(bundle, 'index.js'), 'utf8');
      expect(code.match(/better_sqlite3\.node|require\(["']better-sqlite3["']\)|require\(["']bindings["']\)/g), `${bundle}: better-sqlite3 or its addon loader`).toBeNull();
      if (code.includes('This Lambda bundle has no SQLite')) standIns.add(bundle);
    }
    // The service's SQLite id index stays reachable (it is createEventLogService's default): the stand-in took its place.
    const [, service] = serviceFunction();
    const serviceBundle = bundles.find((b) => b.endsWith((props(service)['Code'] as { S3Key: string }).S3Key.replace(/\.zip$/, '')));
    expect(serviceBundle, 'the service bundle').toBeDefined();
    expect(standIns.has(serviceBundle ?? ''), 'the stand-in in the service bundle').toBe(true);
  });
});

describe('the Kinesis stream', () => {
  it('is on demand by default, encrypted with the AWS managed key, 24 h retention, kept on delete', () => {
    const [[, stream] = ['', undefined]] = resourcesOf('AWS::Kinesis::Stream');
    expect(resourcesOf('AWS::Kinesis::Stream')).toHaveLength(1);
    expect(props(stream)).toMatchObject({
      Name: awsResources({ prefix }).streamName,
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      RetentionPeriodHours: 24,
    });
    expect(props(stream)['ShardCount'], 'no shard count on demand').toBeUndefined();
    expect(stream?.DeletionPolicy).toBe('Retain');
  });
});

describe('DynamoDB tables', () => {
  it('every table of awsResources() for every projection in projections/*.ts is in the template, as defined', () => {
    expect(discovered.length, 'projections found in projections/*.ts').toBeGreaterThanOrEqual(6);
    const expected = awsResources({ prefix, projections: discovered }).tables;
    const byName = tableIdByName();
    const missing = expected.filter((t) => !byName.has(t.name)).map((t) => t.name);
    expect(missing, 'tables of awsResources() missing from the template (a projection without its table?)').toEqual([]);
    expect(byName.size, 'no table the definitions do not name').toBe(expected.length);
    for (const definition of expected) {
      const table = props(template.Resources[byName.get(definition.name) ?? '']);
      const keys = [definition.partitionKey, ...(definition.sortKey === undefined ? [] : [definition.sortKey])];
      expect(table['KeySchema'], definition.name).toEqual(keys.map((k, i) => ({ AttributeName: k.name, KeyType: i === 0 ? 'HASH' : 'RANGE' })));
      expect(table['AttributeDefinitions'], definition.name).toEqual(keys.map((k) => ({ AttributeName: k.name, AttributeType: k.type })));
      expect(table['TimeToLiveSpecification'], definition.name).toEqual(definition.timeToLiveAttribute === undefined ? undefined : { AttributeName: definition.timeToLiveAttribute, Enabled: true });
      expect(table['GlobalSecondaryIndexes'], `${definition.name}: indexes are items, not GSIs`).toBeUndefined();
    }
  });

  it('are on demand, with point-in-time recovery and encryption, and kept when the stack is deleted', () => {
    const tables = resourcesOf('AWS::DynamoDB::Table');
    expect(tables.length).toBeGreaterThan(0);
    for (const [id, table] of tables) {
      expect(props(table), id).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      });
      expect(table.DeletionPolicy, id).toBe('Retain');
    }
  });

  it('each view table lists its projection\'s declared secondary indexes in its metadata', () => {
    const byName = tableIdByName();
    for (const definition of awsResources({ prefix, projections: discovered }).tables.filter((t): t is TableDefinition & { projection: NonNullable<TableDefinition['projection']> } => t.projection !== undefined)) {
      const table = template.Resources[byName.get(definition.name) ?? ''];
      expect(table?.Metadata?.[indexesMetadataKey], definition.name).toEqual(definition.projection.indexes);
    }
    // The catalog is looked up by category and merchant: a check that the metadata is not just empty lists.
    expect(template.Resources[byName.get(`${prefix}view-catalog`) ?? '']?.Metadata?.[indexesMetadataKey]).toEqual({ products: ['category', 'merchantId'] });
  });
});

describe('projection Lambdas', () => {
  it('every projection in projections/*.ts has a function, reading the stream through an event source mapping', () => {
    const functions = projectionFunctions();
    expect([...functions.keys()].sort()).toEqual(discovered.map((p) => p.name).sort());
    const mappings = resourcesOf('AWS::Lambda::EventSourceMapping');
    const [streamId] = resourcesOf('AWS::Kinesis::Stream').map(([id]) => id);
    for (const [name, [fnId]] of functions) {
      const own = mappings.filter(([, m]) => refs(props(m)['FunctionName']).has(fnId));
      expect(own, `${name}: one event source mapping`).toHaveLength(1);
      expect([...refs(props(own[0]?.[1])['EventSourceArn'])], `${name}: reads the stream`).toEqual([streamId]);
    }
  });

  it('event source mappings report batch item failures, bisect, bound retries and age, and send failures to an encrypted queue', () => {
    const queues = new Map(resourcesOf('AWS::SQS::Queue'));
    const mappings = resourcesOf('AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(discovered.length);
    for (const [id, mapping] of mappings) {
      expect(props(mapping), id).toMatchObject({
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 100,
        ParallelizationFactor: 1,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 100,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      // Absent is Lambda's -1: records never expire, so a replay over a long retention skips nothing.
      expect(props(mapping)['MaximumRecordAgeInSeconds'], `${id}: no record age limit`).toBeUndefined();
      const [queueId] = [...refs(props(mapping)['DestinationConfig'])];
      expect(queues.has(queueId ?? ''), `${id}: on-failure destination is one of the stack's queues`).toBe(true);
      expect(props(queues.get(queueId ?? '')), `${id}: its queue is encrypted`).toMatchObject({ SqsManagedSseEnabled: true });
    }
  });

  it('each projection may read and write its own view table and no other table', () => {
    const byName = tableIdByName();
    const tableIds = new Set(byName.values());
    for (const [name, [, fn]] of projectionFunctions()) {
      const touched = new Set(statementsOf(fn).flatMap((s) => [...refs(s.Resource)]).filter((id) => tableIds.has(id)));
      expect([...touched], `${name}'s tables`).toEqual([byName.get(`${prefix}view-${name}`)]);
      const writes = statementsOf(fn).filter((s) => refs(s.Resource).has(byName.get(`${prefix}view-${name}`) ?? '')).flatMap((s) => [s.Action].flat());
      expect(writes, `${name} commits with TransactWriteItems (Put/Delete/ConditionCheck) and reads with Query/GetItem`).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem', 'dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:BatchGetItem']));
    }
  });
});

describe('least privilege', () => {
  it('no IAM statement grants wildcard actions, or data actions on every resource', () => {
    const statements = resourcesOf('AWS::IAM::Policy').flatMap(([id, policy]) => (props(policy)['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement.map((s) => [id, s] as const));
    expect(statements.length).toBeGreaterThan(0);
    for (const [id, statement] of statements) {
      const actions = [statement.Action].flat();
      expect(actions.filter((a) => a.includes('*')), `${id}: wildcard actions`).toEqual([]);
      const resources = [statement.Resource].flat();
      if (resources.includes('*')) {
        expect(actions.filter((a) => /^(dynamodb|kinesis|s3|sqs|secretsmanager|kms):/.test(a)), `${id}: data actions on Resource "*"`).toEqual([]);
      }
    }
  });

  it('the service may use the stream, its secret and service-ids; no view table, nor service-keys while the keys are in the secret', () => {
    const statements = statementsOf(serviceFunction()[1]);
    const byName = tableIdByName();
    const referenced = new Set(statements.flatMap((s) => [...refs(s.Resource)]));
    const tables = new Set(byName.values());
    expect([...referenced].filter((id) => tables.has(id)), 'the tables the service may touch').toEqual([byName.get(awsResources({ prefix }).tables.find((t) => t.purpose === 'service-ids')?.name ?? '')]);
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['kinesis:PutRecords', 'kinesis:GetRecords', 'secretsmanager:GetSecretValue']));
    const [secretId] = resourcesOf('AWS::SecretsManager::Secret').map(([id]) => id);
    expect(referenced.has(secretId ?? ''), 'reads the producer-keys secret').toBe(true);
  });

  it('on service-ids the service may get, put, update and delete items, nothing else, and finds the table by IDS_TABLE_NAME', () => {
    const [, service] = serviceFunction();
    const idsName = awsResources({ prefix }).tables.find((t) => t.purpose === 'service-ids')?.name ?? '';
    const idsTable = tableIdByName().get(idsName);
    expect(idsTable, `${idsName} in the template`).toBeDefined();
    const onIds = statementsOf(service).filter((s) => refs(s.Resource).has(idsTable ?? ''));
    expect(onIds.every((s) => s.Effect === 'Allow')).toBe(true);
    // The id index's requests: conditional PutItem (claim, take-over), UpdateItem (renew, position), GetItem, DeleteItem (release).
    expect(onIds.flatMap((s) => [s.Action].flat()).sort(), `actions on ${idsName}`).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    const variables = (props(service)['Environment'] as { Variables: Record<string, unknown> }).Variables;
    expect([...refs(variables['IDS_TABLE_NAME'])], 'IDS_TABLE_NAME').toEqual([idsTable]);
  });
});

describe('S3 buckets', () => {
  it('archive and photo buckets are encrypted, private, versioned, TLS-only and kept on delete; the archive moves to cheaper storage', () => {
    const buckets = resourcesOf('AWS::S3::Bucket');
    expect(buckets).toHaveLength(2);
    for (const [id, bucket] of buckets) {
      expect(props(bucket), id).toMatchObject({
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        VersioningConfiguration: { Status: 'Enabled' },
      });
      expect(bucket.DeletionPolicy, id).toBe('Retain');
      const policies = resourcesOf('AWS::S3::BucketPolicy').filter(([, p]) => refs(props(p)['Bucket']).has(id));
      expect(JSON.stringify(policies), `${id}: denies requests without TLS`).toContain('aws:SecureTransport');
    }
    const names = buckets.map(([, b]) => JSON.stringify(props(b)['BucketName']));
    const { archive } = awsResources({ prefix }).buckets;
    const archiveBucket = buckets.find(([, b]) => JSON.stringify(props(b)['BucketName']).includes(archive));
    expect(archiveBucket, `a bucket named after ${archive} among ${names.join(', ')}`).toBeDefined();
    const rules = (props(archiveBucket?.[1])['LifecycleConfiguration'] as { Rules: { Transitions?: { StorageClass: string }[] }[] }).Rules;
    expect(rules.flatMap((r) => r.Transitions ?? []).map((t) => t.StorageClass)).toEqual(['STANDARD_IA', 'GLACIER_IR']);
  });
});

describe('the event-log service', () => {
  it('is a Lambda behind an HTTP API with a throttled stage', () => {
    assertions.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    assertions.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    assertions.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: '$default', AutoDeploy: true, DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 } });
    assertions.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    assertions.hasResourceProperties('AWS::SecretsManager::Secret', { Name: `${prefix}producer-keys` });
  });
});

describe('alarms and dashboard', () => {
  it('every projection has lag, error, throttle and dead-letter alarms; the service and the stream have theirs; all notify the topic', () => {
    const alarms = resourcesOf('AWS::CloudWatch::Alarm').map(([, a]) => props(a));
    const [topicId] = resourcesOf('AWS::SNS::Topic').map(([id]) => id);
    for (const alarm of alarms) expect([...refs(alarm['AlarmActions'])], String(alarm['AlarmDescription'])).toEqual([topicId]);
    const on = (metric: string, dimension: string) => alarms.filter((a) => a['MetricName'] === metric).map((a) => [...refs(a['Dimensions'])]).flat().filter((id) => id === dimension);
    for (const [name, [fnId]] of projectionFunctions()) {
      for (const metric of ['IteratorAge', 'Errors', 'Throttles']) expect(on(metric, fnId), `${name}: ${metric} alarm`).toHaveLength(1);
    }
    for (const [queueId] of resourcesOf('AWS::SQS::Queue')) expect(on('ApproximateNumberOfMessagesVisible', queueId), `dead-letter alarm on ${queueId}`).toHaveLength(1);
    const [streamId] = resourcesOf('AWS::Kinesis::Stream').map(([id]) => id);
    expect(on('WriteProvisionedThroughputExceeded', streamId ?? ''), 'stream write-throttle alarm').toHaveLength(1);
    expect(alarms.filter((a) => a['MetricName'] === '5xx'), 'API 5xx alarm').toHaveLength(1);
    const iteratorAge = alarms.find((a) => a['MetricName'] === 'IteratorAge');
    expect(iteratorAge, 'lag alarm at the default 60 s').toMatchObject({ Threshold: 60_000, Statistic: 'Maximum' });
    assertions.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('the bundled projection Lambda', () => {
  const endpoints = awsEndpoints();
  const dynamo = endpoints.dynamodb;
  it.skipIf('unavailable' in dynamo)(`applies a Kinesis batch to its table on DynamoDB Local, created from the template${'unavailable' in dynamo ? ` (skipped: ${dynamo.unavailable})` : ''}`, async () => {
    if ('unavailable' in dynamo) return;
    // The bundle as Lambda runs it: CommonJS, @aws-sdk from outside the bundle (the repository's, as the runtime's).
    const [, projectionFn] = projectionFunctions().get('catalog') ?? [];
    const key = (props(projectionFn)['Code'] as { S3Key: string }).S3Key;
    const assets = JSON.parse(readFileSync(path.join(outdir, 'Unilog.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }> };
    const asset = Object.values(assets.files).find((f) => Object.values(f.destinations).some((d) => d.objectKey === key));
    expect(asset, `the asset of ${key}`).toBeDefined();
    const bundle = path.join(outdir, 'projection.cjs');
    copyFileSync(path.join(outdir, asset?.source.path ?? '', 'index.js'), bundle);

    const tablePrefix = `t${Date.now().toString(36)}-`;
    const definition = props(template.Resources[tableIdByName().get(`${prefix}view-catalog`) ?? '']);
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: endpoints.region, credentials: endpoints.credentials, requestHandler: new NodeHttpHandler() });
    try {
      await client.send(new CreateTableCommand({
        TableName: `${tablePrefix}view-catalog`,
        KeySchema: definition['KeySchema'] as CreateTableCommandInput['KeySchema'],
        AttributeDefinitions: definition['AttributeDefinitions'] as CreateTableCommandInput['AttributeDefinitions'],
        BillingMode: definition['BillingMode'] as CreateTableCommandInput['BillingMode'],
      }));

      const log = createMemoryEventLog();
      const publisher = createPublisher({ log, catalog: helloRetailEvents, source: 'merchant-web' });
      const product = { id: 'p-1', brand: 'Acme', name: 'Anvil', description: 'Heavy.', category: 'tools', priceCents: 1999, merchantId: 'm-1', merchantName: 'Acme' };
      await publisher.publish(ProductCreated.type, product);
      await publisher.publish(ProductCreated.type, { ...product, id: 'p-2', name: 'Rope', category: 'outdoor' });
      const { events } = await log.read();
      const event: KinesisStreamEvent = {
        Records: events.map((stored, i) => ({
          eventID: `shardId-000000000000:4960000000000000000000000000000000000000000000000${i}`,
          eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/hello-retail-events',
          kinesis: { data: Buffer.from(JSON.stringify(stored.event)).toString('base64'), sequenceNumber: `4960000000000000000000000000000000000000000000000${i}`, partitionKey: stored.event.subject },
        })),
      };
      const invoke = `const { handler } = require(${JSON.stringify(bundle)});
        let input = ''; process.stdin.on('data', (c) => (input += c)).on('end', async () => {
          const event = JSON.parse(input);
          const first = await handler(event); const second = await handler(event);
          process.stdout.write(JSON.stringify([first, second]));
        });`;
      const env = { PATH: process.env['PATH'] ?? '', PROJECTION_NAME: 'catalog', TABLE_PREFIX: tablePrefix, AWS_REGION: endpoints.region, AWS_ACCESS_KEY_ID: endpoints.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: endpoints.credentials.secretAccessKey, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint };
      const result = await run(process.execPath, ['-e', invoke], { cwd: outdir, env, input: JSON.stringify(event) });
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout), 'both invocations report no failed records').toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);

      const storage = createDynamoViewStorage({ client, tablePrefix, createTable: false });
      const projection = discovered.find((p) => p.name === 'catalog');
      const copy = await storage.current('catalog');
      expect(copy, 'the Lambda made the view\'s first copy, of version 1').toMatch(/-v1$/);
      const store = await storage.open('catalog', copy ?? '', projection?.layout ?? {});
      const tools = await store.query('products', { index: 'category', value: 'tools' });
      expect(tools.map((row) => row['id'])).toEqual(['p-1']);
      expect((await store.scan('products', { limit: 10 })).map((row) => row['name'])).toEqual(['Anvil', 'Rope']);
      await store.close();
    } finally {
      client.destroy();
    }
  });
});

describe('the bundled service Lambda', () => {
  const endpoints = awsEndpoints();
  const dynamo = endpoints.dynamodb;
  it.skipIf('unavailable' in dynamo)(`answers a client id repeated in another container with the original position, through service-ids, and loads without better-sqlite3 or any native addon${'unavailable' in dynamo ? ` (skipped: ${dynamo.unavailable})` : ''}`, async () => {
    if ('unavailable' in dynamo) return;
    // The bundle alone in a folder outside the repository, with only the runtime's @aws-sdk beside it: no better-sqlite3 to find.
    const [, service] = serviceFunction();
    const key = (props(service)['Code'] as { S3Key: string }).S3Key;
    const assets = JSON.parse(readFileSync(path.join(outdir, 'Unilog.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }> };
    const asset = Object.values(assets.files).find((f) => Object.values(f.destinations).some((d) => d.objectKey === key));
    expect(asset, `the asset of ${key}`).toBeDefined();
    const folder = mkdtempSync(path.join(os.tmpdir(), 'unilog-service-bundle-'));
    const bundle = path.join(folder, 'service.cjs');
    copyFileSync(path.join(outdir, asset?.source.path ?? '', 'index.js'), bundle);
    mkdirSync(path.join(folder, 'node_modules'));
    symlinkSync(path.join(repo, 'node_modules', '@aws-sdk'), path.join(folder, 'node_modules', '@aws-sdk'), 'dir');

    const tablePrefix = `t${Date.now().toString(36)}-`;
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: endpoints.region, credentials: endpoints.credentials, requestHandler: new NodeHttpHandler() });
    const kinesis = kinesaliteClient();
    const { streamName, remove } = await createTestStream(kinesis, 1);
    const log = createKinesisEventLog({ streamName, client: kinesis });
    try {
      // The service's tables as the template defines them.
      const tables = new Map<string, string>();
      for (const purpose of ['service-ids', 'service-keys'] as const) {
        const definition = props(template.Resources[tableIdByName().get(awsResources({ prefix }).tables.find((t) => t.purpose === purpose)?.name ?? '') ?? '']);
        expect(definition['KeySchema'], `${purpose} in the template`).toBeDefined();
        const name = `${tablePrefix}${purpose}`;
        await client.send(new CreateTableCommand({
          TableName: name,
          KeySchema: definition['KeySchema'] as CreateTableCommandInput['KeySchema'],
          AttributeDefinitions: definition['AttributeDefinitions'] as CreateTableCommandInput['AttributeDefinitions'],
          BillingMode: definition['BillingMode'] as CreateTableCommandInput['BillingMode'],
        }));
        tables.set(purpose, name);
      }
      const { key: apiKey } = await createDynamoKeyStore({ client, tableName: tables.get('service-keys') ?? '' }).create({ producer: 'merchant-web', types: ['*'], read: true, admin: false });

      const product = { id: 'p-1', brand: 'Acme', name: 'Anvil', description: 'Heavy.', category: 'tools', priceCents: 1999, merchantId: 'm-1', merchantName: 'Acme' };
      const request = {
        version: '2.0',
        routeKey: '$default',
        rawPath: '/events',
        rawQueryString: '',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', host: 'example.execute-api.us-east-1.amazonaws.com' },
        requestContext: { accountId: '1', apiId: 'a', domainName: 'example', domainPrefix: 'example', http: { method: 'POST', path: '/events', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' }, requestId: 'r', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0 },
        body: JSON.stringify({ type: ProductCreated.type, data: product, id: 'p-1:created' }),
        isBase64Encoded: false,
      };
      // Each process is a fresh container: the first request of each opens the service. Loading a native addon fails it.
      const invoke = `process.dlopen = (module, file) => { throw new Error('native addon loaded: ' + file); };
        let sqlite = 'absent'; try { require.resolve('better-sqlite3'); sqlite = 'found'; } catch {}
        const { handler } = require(${JSON.stringify(bundle)});
        let input = ''; process.stdin.on('data', (c) => (input += c)).on('end', async () => {
          const response = await handler(JSON.parse(input), {});
          process.stdout.write('\\nRESULT ' + JSON.stringify({ sqlite, response }) + '\\n');
          process.exit(0);
        });`;
      const env = {
        PATH: process.env['PATH'] ?? '',
        STREAM_NAME: streamName,
        IDS_TABLE_NAME: tables.get('service-ids'),
        KEYS_TABLE_NAME: tables.get('service-keys'),
        AWS_REGION: endpoints.region,
        AWS_ACCESS_KEY_ID: endpoints.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: endpoints.credentials.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
      };
      const container = async () => {
        const result = await run(process.execPath, ['-e', invoke], { cwd: folder, env, input: JSON.stringify(request) });
        expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
        const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '));
        expect(line, `the container's answer in:\n${result.stdout}\n${result.stderr}`).toBeDefined();
        const { sqlite, response } = JSON.parse(line?.slice('RESULT '.length) ?? '{}') as { sqlite: string; response: { statusCode: number; body: string } };
        expect(sqlite, 'better-sqlite3 resolvable from the bundle\'s folder').toBe('absent');
        return { statusCode: response.statusCode, body: JSON.parse(response.body) as { events?: { position: string; id: string; duplicate: boolean }[] } };
      };

      const first = await container();
      expect(first.statusCode, JSON.stringify(first.body)).toBe(201);
      const position = first.body.events?.[0]?.position;
      expect(first.body.events).toEqual([{ position, id: 'p-1:created', duplicate: false }]);
      const second = await container();
      expect({ statusCode: second.statusCode, events: second.body.events }, 'the repeat in another container').toEqual({ statusCode: 200, events: [{ position, id: 'p-1:created', duplicate: true }] });

      const { events } = await log.read();
      expect(events.map((e) => e.event.id), 'the stream holds the event once').toEqual(['p-1:created']);
      const { Items = [] } = await client.send(new ScanCommand({ TableName: tables.get('service-ids'), ConsistentRead: true }));
      expect(Items.map((item) => item['position']?.S), 'the id\'s item in service-ids holds the position').toEqual([position]);
    } finally {
      await log.close();
      await remove();
      kinesis.destroy();
      client.destroy();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('configuration (synthesized in process, without bundling)', () => {
  const synthesize = (context: Record<string, unknown>) => buildUnilogApp(new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } }));

  it('a provisioned stream gets its shards and retention; every name takes the prefix', () => {
    const stack = synthesize({ 'unilog:prefix': 'shop-', 'unilog:streamMode': 'provisioned', 'unilog:shards': '4', 'unilog:retentionHours': '48', 'unilog:iteratorAgeAlarmSeconds': 300 });
    expect(stack.stackName).toBe(stackName('shop-'));
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Kinesis::Stream', { Name: 'shop-events', ShardCount: 4, StreamModeDetails: { StreamMode: 'PROVISIONED' }, RetentionPeriodHours: 48 });
    t.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'shop-view-catalog' });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'IteratorAge', Threshold: 300_000 });
  });

  it('record age, retries and batch size come from context; a replay generation replaces one projection\'s function and mapping', () => {
    const base = Template.fromStack(synthesize({}));
    const stack = synthesize({ 'unilog:maxRecordAgeSeconds': '3600', 'unilog:retryAttempts': '5', 'unilog:batchSize': '500', 'unilog:replay': 'catalog=1' });
    const t = Template.fromStack(stack);
    t.allResourcesProperties('AWS::Lambda::EventSourceMapping', { MaximumRecordAgeInSeconds: 3600, MaximumRetryAttempts: 5, BatchSize: 500 });
    // Lambda allows one mapping per function and stream: the replay replaces the function together with its mapping.
    for (const type of ['AWS::Lambda::EventSourceMapping', 'AWS::Lambda::Function']) {
      const ids = (tpl: Template) => Object.keys(tpl.findResources(type)).sort();
      const changed = ids(t).filter((id) => !ids(base).includes(id));
      expect(changed, `only the catalog's ${type} is new`).toHaveLength(1);
      expect(changed[0]).toMatch(/^Projectioncatalog/);
    }
    const warnings = stack.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data));
    expect(warnings.join('\n'), 'a record age below the retention is flagged').toMatch(/maxRecordAgeSeconds \(3600\) is below the stream's retention/);
  });

  it('unilog:serviceKeys=table: the keys are read from service-keys (GetItem only), with no secret and no extension layer', () => {
    const t = Template.fromStack(synthesize({ 'unilog:serviceKeys': 'table' }));
    const resources = t.toJSON() as CfnTemplate;
    t.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const tableId = (name: string) => Object.entries(resources.Resources).find(([, r]) => r.Type === 'AWS::DynamoDB::Table' && props(r)['TableName'] === name)?.[0] ?? '';
    const keysTable = tableId(`${prefix}service-keys`);
    const [[serviceId, service] = ['', undefined]] = Object.entries(resources.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function' && ((props(r)['Environment'] as { Variables?: Record<string, unknown> }).Variables ?? {})['STREAM_NAME'] !== undefined);
    const variables = (props(service)['Environment'] as { Variables: Record<string, unknown> }).Variables;
    expect([...refs(variables['KEYS_TABLE_NAME'])], 'KEYS_TABLE_NAME').toEqual([keysTable]);
    expect(Object.keys(variables).filter((v) => v.startsWith('KEYS_SECRET') || v.startsWith('PARAMETERS_SECRETS')), `${serviceId}: secret variables`).toEqual([]);
    expect(props(service)['Layers'], 'no Parameters and Secrets layer').toBeUndefined();
    const [role] = [...refs(props(service)['Role'])];
    const statements = Object.values(resources.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && refs(props(r)['Roles']).has(role ?? ''))
      .flatMap((r) => (props(r)['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement);
    expect(statements.filter((s) => refs(s.Resource).has(keysTable)).flatMap((s) => [s.Action].flat()), 'actions on service-keys').toEqual(['dynamodb:GetItem']);
    expect(statements.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('secretsmanager:')), 'secret actions').toEqual([]);
    expect(Object.keys(t.findOutputs('*')), 'no secret to output').not.toContain('ProducerKeysSecret');
  });

  it('refuses a parallelization factor above 1 (the handler keeps one checkpoint per shard)', () => {
    let thrown: unknown;
    try {
      synthesize({ 'unilog:parallelizationFactor': 2 });
    } catch (error) {
      thrown = error;
    }
    expect(isUnilogError(thrown, 'InvalidArgument'), String(thrown)).toBe(true);
    expect((thrown as Error).message).toMatch(/parallelizationFactor 2/);
  });

  it('names every invalid context value and its key', () => {
    let thrown: unknown;
    try {
      synthesize({ 'unilog:shards': '0', 'unilog:streamMode': 'fast', 'unilog:alarmEmail': 'nobody', 'unilog:serviceKeys': 'vault' });
    } catch (error) {
      thrown = error;
    }
    expect(isUnilogError(thrown, 'ConfigInvalid'), String(thrown)).toBe(true);
    for (const key of ['unilog:shards', 'unilog:streamMode', 'unilog:alarmEmail', 'unilog:serviceKeys']) expect((thrown as Error).message).toContain(key);
  });

  it('a user projection takes a few lines: its table, function and mapping, with its indexes', () => {
    const OrderPlaced = defineEvent({ type: 'order.placed', version: 1, schema: z.object({ id: z.string(), customerId: z.string() }), key: (o) => o.id });
    const orders = defineProjection({ name: 'orders', version: 1, events: [OrderPlaced], tables: { orders: { row: z.object({ id: z.string(), customerId: z.string() }), key: 'id', indexes: ['customerId'] } } })
      .on({ 'order.placed': (event, view) => { view.orders.put(event.data); } });
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Mine');
    const events = new Stream(stack, 'Events');
    new UnilogProjection(stack, 'Orders', { prefix: 'mine-', projection: orders, stream: events, entry: path.join(repo, 'infra', 'cdk', 'lambda', 'projection.ts') });
    const t = Template.fromStack(stack);
    t.hasResource('AWS::DynamoDB::Table', { Properties: { TableName: 'mine-view-orders' }, Metadata: { [indexesMetadataKey]: { orders: ['customerId'] } } });
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { PROJECTION_NAME: 'orders', TABLE_PREFIX: 'mine-' } } });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { FunctionResponseTypes: ['ReportBatchItemFailures'], ParallelizationFactor: 1 });
    t.resourceCountIs('AWS::CloudWatch::Alarm', 4);
  });
});
