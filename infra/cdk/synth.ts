/**
 * `npm run synth`: writes the CloudFormation templates and bundled Lambda code to infra/cdk.out/ (or `CDK_OUTDIR`,
 * which the CDK CLI sets when it runs this file). Needs no AWS account or credentials: the stack names no account or
 * region and looks nothing up.
 * @module
 */
import { App } from 'aws-cdk-lib';
import { buildUnilogApp } from './app.ts';
import { defaultOutdir } from './bundling.ts';

const underCli = process.env.CDK_OUTDIR !== undefined;
const app = new App(underCli ? {} : { outdir: defaultOutdir });
const stack = buildUnilogApp(app);
const assembly = app.synth();
if (!underCli) {
  console.log(`unilog: wrote ${stack.templateFile} (stack ${stack.stackName}) and its Lambda bundles to ${assembly.directory}`);
}
