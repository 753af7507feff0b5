/**
 * Where the CDK app finds the repository, and how it bundles Lambda code: locally with esbuild (no Docker), one
 * CommonJS file per function, with the AWS SDK v3 left to the Lambda runtime.
 * @module
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { UnilogError } from '../../src/errors.ts';

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

/** Environment every unilog function gets: stack traces point into the TypeScript sources (bundled with source maps). */
export const functionEnvironment: Readonly<Record<string, string>> = { NODE_OPTIONS: '--enable-source-maps' };

/** The bundling every unilog function shares. */
export const bundling: BundlingOptions = {
  // No Docker here or on most laptops: esbuild from node_modules is enough for TypeScript.
  forceDockerBundling: false,
  // Node 20+ runtimes ship the AWS SDK v3; leaving it out keeps bundles small and bundling fast.
  externalModules: ['@aws-sdk/*'],
  target: 'node20',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
};

/**
 * The service imports better-sqlite3 (its id index), a native module esbuild cannot bundle: it is copied next to the
 * bundle, which ties the function to the Node version and CPU that built it (glibc Linux, as on Lambda).
 */
export function nativeServiceBundling(): BundlingOptions & { readonly runtime: Runtime; readonly architecture: Architecture } {
  const major = process.versions.node.split('.')[0] ?? '';
  const runtimes: Readonly<Record<string, Runtime>> = { '20': Runtime.NODEJS_20_X, '22': Runtime.NODEJS_22_X, '24': Runtime.NODEJS_24_X };
  const runtime = runtimes[major];
  if (runtime === undefined) {
    throw new UnilogError('InvalidArgument', `The service Lambda carries better-sqlite3 built by this Node ${process.versions.node}, which has no Lambda runtime: synthesize with Node 20, 22 or 24.`, { argument: 'process.versions.node', reason: 'no matching Lambda runtime' });
  }
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) {
    throw new UnilogError('InvalidArgument', `The service Lambda carries better-sqlite3 built for ${process.platform}/${process.arch}, which Lambda cannot load: synthesize on Linux x64 or arm64 (a CI runner or a container).`, { argument: 'process.platform', reason: 'not Lambda-compatible' });
  }
  const copy = (from: string, to: string) => `mkdir -p "${path.dirname(to)}" && cp -R "${from}" "${to}"`;
  return {
    ...bundling,
    externalModules: [...(bundling.externalModules ?? []), 'better-sqlite3'],
    runtime,
    architecture: process.arch === 'arm64' ? Architecture.ARM_64 : Architecture.X86_64,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      // Only what better-sqlite3 loads at run time: its JavaScript, the compiled addon and the addon locator.
      afterBundling: (inputDir, outputDir) => {
        const from = (p: string) => path.join(inputDir, 'node_modules', p);
        const to = (p: string) => path.join(outputDir, 'node_modules', p);
        return [
          copy(from('better-sqlite3/package.json'), to('better-sqlite3/package.json')),
          copy(from('better-sqlite3/lib'), to('better-sqlite3/lib')),
          copy(from('better-sqlite3/build/Release/better_sqlite3.node'), to('better-sqlite3/build/Release/better_sqlite3.node')),
          copy(from('bindings'), to('bindings')),
          copy(from('file-uri-to-path'), to('file-uri-to-path')),
        ];
      },
    },
  };
}
