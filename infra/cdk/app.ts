/**
 * The unilog CDK app: one environment-agnostic stack with the Hello Retail projections, configured from CDK context.
 * `npm run synth` and `npx cdk` (from infra/) both build it through {@link buildUnilogApp}.
 * @see docs/deploy.md
 * @module
 */
import type { App } from 'aws-cdk-lib';
import { helloRetailProjections } from '../../projections/index.ts';
import { readUnilogConfig } from './config.ts';
import { UnilogStack } from './unilogStack.ts';

/** The name of the stack of a deployment prefix: `<prefix>unilog`, e.g. `hello-retail-unilog`. */
export function stackName(prefix: string): string {
  return `${prefix}unilog`;
}

/** Adds the unilog stack to `app`, configured from its context; returns the stack. */
export function buildUnilogApp(app: App): UnilogStack {
  const config = readUnilogConfig((key) => app.node.tryGetContext(key));
  return new UnilogStack(app, 'Unilog', {
    stackName: stackName(config.prefix),
    description: 'unilog: Kinesis event log, DynamoDB views and event store, projection Lambdas, event-log service (infra/cdk)',
    config,
    projections: helloRetailProjections,
  });
}
