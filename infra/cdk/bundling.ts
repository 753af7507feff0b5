/**
 * Where the CDK app finds the repository, and how it bundles Lambda code: locally with esbuild (no Docker), one
 * CommonJS file per function, with the AWS SDK v3 left to the Lambda runtime and no native module inside.
 * @module
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';

/** The repository root: NodejsFunction bundles from here, against its package-lock.json. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The lock file NodejsFunction hashes and resolves from. */
export const lockFile = path.join(repoRoot, 'package-lock.json');
/** Where `npm run synth` writes the cloud assembly (ignored by git). */
export const defaultOutdir = path.join(repoRoot, 'infra', 'cdk.out');

/** The path of one of the Lambda entry files in infra/cdk/lambda/. */
export function lambdaEntry(name: 'projection' | 'service'): string {
  return fileURLToPath(new URL(`./lambda/${name}.ts`, import.meta.url));
}

/** The file esbuild puts in place of better-sqlite3 in every bundle (see {@link bundling}). */
export const sqliteStandIn = fileURLToPath(new URL('./lambda/noSqlite.ts', import.meta.url));

/** Environment every unilog function gets: stack traces point into the TypeScript sources (bundled with source maps). */
export const functionEnvironment: Readonly<Record<string, string>> = { NODE_OPTIONS: '--enable-source-maps' };

/** The runtime of every unilog function: the bundles are plain JavaScript, so any current Node runtime will do. */
export const functionRuntime = Runtime.NODEJS_22_X;
/** Graviton: no function carries native code, and Arm is about 20% cheaper per GB-second than x86. */
export const functionArchitecture = Architecture.ARM_64;

/** The bundling every unilog function shares. */
export const bundling: BundlingOptions = {
  // No Docker here or on most laptops: esbuild from node_modules is enough for TypeScript.
  forceDockerBundling: false,
  // Node 20+ runtimes ship the AWS SDK v3; leaving it out keeps bundles small and bundling fast.
  externalModules: ['@aws-sdk/*'],
  // Below the nodejs22.x runtime on purpose: the tests run the bundles on the repository's Node (20 or later).
  target: 'node20',
  // The embedded backend's SQLite modules are imported by shared code (the service's default id index, the embedded
  // view storage) but never opened on Lambda, where ids and views live in DynamoDB. A stand-in that throws keeps
  // better-sqlite3 and its native addon out of the bundles, so they run on any CPU and Node runtime.
  esbuildArgs: { '--alias': `better-sqlite3=${sqliteStandIn}` },
  minify: true,
  sourceMap: true,
  sourcesContent: false,
};
