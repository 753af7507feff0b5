import { RemovalPolicy, Tags } from 'aws-cdk-lib';
import { AttributeType, BillingMode, type CfnTable, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import type { KeyAttribute, TableDefinition } from '../../../src/aws/resources.ts';

/** The template metadata key that lists a view table's declared secondary indexes (kept as items, not GSIs). */
export const indexesMetadataKey = 'unilog:indexes';

const attribute = (key: KeyAttribute) => ({ name: key.name, type: key.type === 'N' ? AttributeType.NUMBER : AttributeType.STRING });

/**
 * A DynamoDB table exactly as `awsResources()` defines it: on-demand, point-in-time recovery, encrypted with the AWS
 * managed key, kept when the stack is deleted. A view table records its projection and declared indexes in the
 * template, because the indexes are items of the table (consistent with their rows), not DynamoDB GSIs.
 * @see docs/deploy.md
 */
export function createUnilogTable(scope: Construct, id: string, definition: TableDefinition): Table {
  const table = new Table(scope, id, {
    tableName: definition.name,
    partitionKey: attribute(definition.partitionKey),
    ...(definition.sortKey === undefined ? {} : { sortKey: attribute(definition.sortKey) }),
    ...(definition.timeToLiveAttribute === undefined ? {} : { timeToLiveAttribute: definition.timeToLiveAttribute }),
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    // The AWS managed key (aws/dynamodb) puts encryption in the template, where the tests and auditors can see it.
    encryption: TableEncryption.AWS_MANAGED,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Tags.of(table).add('unilog:purpose', definition.purpose);
  if (definition.projection !== undefined) {
    Tags.of(table).add('unilog:projection', definition.projection.name);
    (table.node.defaultChild as CfnTable).addMetadata(indexesMetadataKey, definition.projection.indexes);
  }
  return table;
}
