/**
 * The benchmark runner: `npm run bench -- <suite> [--json] [--events N]`.
 * Each bench/suites/<name>.ts exports `run(args)`; adding a file there adds a suite.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, UsageError, type RunnerArgs } from './lib/args.ts';
import { machineInfo } from './lib/machine.ts';
import { isSuiteModule, type SuiteReport } from './lib/suite.ts';
import { formatTable } from './lib/table.ts';
import type { MachineInfo } from './lib/machine.ts';

const suitesDir = path.join(import.meta.dirname, 'suites');

function knownSuites(): string[] {
  return readdirSync(suitesDir)
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .map((name) => name.slice(0, -'.ts'.length))
    .sort();
}

function usage(suites: readonly string[]): string {
  return [
    'usage: npm run bench -- <suite> [--json] [--events N]',
    '',
    `suites: ${suites.join(', ')}`,
    '  --json       print one single-line JSON object to stdout (progress still goes to stderr)',
    '  --events N   scale the suite (log: N events per write case, 5×N replayed, default 200000; views: N events, default 1000000;',
    '               service: N events per in-process baseline run, default 200000;',
    '               store: N events in the read log, default 1000000, and N/5 per append case;',
    '               aws: N events per Kinesis and DynamoDB case, N/5 for PutRecord per event, default 5000)',
    '  --rounds N   log, views, service, store, aws: run every case N times, interleaved, and keep the fastest (default 3)',
    '  --seconds S  views: how long the latency phase publishes (default 30); service: measured seconds per HTTP run (default 5)',
    '  --warmup S   service: seconds of load before each HTTP run, not measured (default 2)',
    '  --batch-connections N   service: connections of the HTTP batch-100 case (default 8)',
    '  --single-connections N  service: connections of the HTTP single-event case (default 64)',
    '  --shards N   aws: shards of each kinesalite stream (default 4)',
    '  --reads N    store: reads per read case and round (default 2000)',
    '  --loads N    store: aggregateStream calls per aggregate case and round (default 10000)',
  ].join('\n');
}

function printReport(report: SuiteReport, machine: MachineInfo): void {
  const lines = [
    `unilog bench: ${report.suite}`,
    `machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, disk ${machine.disk}`,
    ...report.preface,
    '',
    formatTable(report.table),
    ...(report.notes.length > 0 ? ['', ...report.notes] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<number> {
  const suites = knownSuites();
  let parsed: RunnerArgs;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${usage(suites)}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${usage(suites)}\n`);
    return 0;
  }
  const { suite } = parsed;
  if (suite === undefined || !suites.includes(suite)) {
    const what = suite === undefined ? 'No suite given.' : `Unknown suite ${JSON.stringify(suite)}.`;
    process.stderr.write(`${what} Known suites: ${suites.join(', ')}.\n\n${usage(suites)}\n`);
    return 2;
  }
  const module: unknown = await import(pathToFileURL(path.join(suitesDir, `${suite}.ts`)).href);
  if (!isSuiteModule(module)) {
    process.stderr.write(`bench/suites/${suite}.ts does not export run(args).\n`);
    return 2;
  }
  const machine = machineInfo();
  let report: SuiteReport;
  try {
    report = await module.run(parsed.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${usage(suites)}\n`);
    return 2;
  }
  if (parsed.args.json) {
    process.stdout.write(`${JSON.stringify({ suite: report.suite, machine, ratios: report.ratios, figures: report.figures })}\n`);
  } else {
    printReport(report, machine);
  }
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
}
