/**
 * The benchmark runner: `npm run bench -- [suite ...] [--json] [--events N]`; no suite runs every suite.
 * Each bench/suites/<name>.ts exports `run(args)`; adding a file there adds a suite.
 * One suite runs in this process; several run one after another, each in a process of its own.
 * Every result is also saved as bench/.data/results/<suite>.json (read by bench/chart/render.ts).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, UsageError, type RunnerArgs } from './lib/args.ts';
import { machineInfo } from './lib/machine.ts';
import { isSuiteModule, type SuiteReport } from './lib/suite.ts';
import { formatTable } from './lib/table.ts';
import type { MachineInfo } from './lib/machine.ts';

const suitesDir = path.join(import.meta.dirname, 'suites');
/** Where each run's result is saved, one file per suite (ignored by git). */
const resultsDir = path.join(import.meta.dirname, '.data', 'results');
/** The order in which `npm run bench` with no suite runs them; suites not listed follow, by name. */
const runOrder = ['log', 'views', 'service', 'aws', 'store', 'peers', 'scale'];

function knownSuites(): string[] {
  const names = readdirSync(suitesDir)
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .map((name) => name.slice(0, -'.ts'.length));
  const rank = (name: string): number => (runOrder.includes(name) ? runOrder.indexOf(name) : runOrder.length);
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function usage(suites: readonly string[]): string {
  return [
    'usage: npm run bench -- [suite ...] [--json] [--events N] [suite options]',
    '',
    `suites: ${suites.join(', ')} (none named: all of them, in this order, each in a process of its own)`,
    '  --json       print one single-line JSON object per suite to stdout (progress still goes to stderr)',
    '               every run also saves its result to bench/.data/results/<suite>.json (charts: npx tsx bench/chart/render.ts)',
    '  --events N   scale the suite (log: N events per write case, 5×N replayed, default 200000; views: N events, default 1000000;',
    '               service: N events per in-process baseline run, default 200000;',
    '               store: N events in the read log, default 1000000, and N/5 per append case;',
    '               aws: N events per Kinesis and DynamoDB case, N/5 for PutRecord per event, default 5000)',
    '  --rounds N   every suite: run every case N times, interleaved, and keep the fastest (default 3; peers: 1)',
    '  --seconds S  views: how long the latency phase publishes (default 30); service: measured seconds per HTTP run (default 5)',
    '  --warmup S   service: seconds of load before each HTTP run, not measured (default 2)',
    '  --batch-connections N   service: connections of the HTTP batch-100 case (default 8)',
    '  --single-connections N  service: connections of the HTTP single-event case (default 64)',
    '  --shards N   aws: shards of each kinesalite stream (default 4)',
    '  --reads N    store: reads per read case and round (default 2000)',
    '  --loads N    store: aggregateStream calls per aggregate case and round (default 10000)',
    '  peers: --events N (batch-100 appends, default 1000000; batch 1: N/5, expected version: N/10; Emmett PostgreSQL: N/100 and N/5),',
    '         --rounds N (default 1), --postgres 0 (leave Emmett PostgreSQL out)',
    '  scale: --large (adds the 10,000,000-event size, run once); --events is ignored (sizes 10^5 and 10^6)',
    '  Options given with several suites go to each of them: each suite must take them.',
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
  const unknown = parsed.suites.filter((name) => !suites.includes(name));
  if (unknown.length > 0) {
    process.stderr.write(`Unknown suite ${unknown.map((name) => JSON.stringify(name)).join(', ')}. Known suites: ${suites.join(', ')}.\n\n${usage(suites)}\n`);
    return 2;
  }
  const chosen = parsed.suites.length > 0 ? parsed.suites : suites;
  if (chosen.length > 1) return runEach(chosen);
  const suite = chosen[0] as string;
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
  saveResult(report, machine);
  if (parsed.args.json) {
    process.stdout.write(`${JSON.stringify({ suite: report.suite, machine, ratios: report.ratios, figures: report.figures })}\n`);
  } else {
    printReport(report, machine);
  }
  return 0;
}

/** Writes the whole report (with the tables, for docs and charts) to bench/.data/results/<suite>.json. */
function saveResult(report: SuiteReport, machine: MachineInfo): void {
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${report.suite}.json`);
  const saved = { ...report, machine, date: new Date().toISOString(), command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim() };
  writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`);
  process.stderr.write(`result saved to ${path.relative(process.cwd(), file)}\n`);
}

/**
 * Runs each suite in a fresh process of its own (`node --import tsx bench/run.ts <suite> <options>`), one after another,
 * so that no suite's heap, JIT or open files weigh on the next. Returns 0 if every suite succeeded, else the worst code.
 */
async function runEach(chosen: readonly string[]): Promise<number> {
  const options = process.argv.slice(2).filter((arg) => !chosen.includes(arg));
  const failed: string[] = [];
  let worst = 0;
  for (const suite of chosen) {
    process.stderr.write(`\n=== npm run bench -- ${[suite, ...options].join(' ')}\n`);
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(import.meta.dirname, 'run.ts'), suite, ...options], { stdio: 'inherit' });
      child.once('error', (error) => {
        process.stderr.write(`could not start the ${suite} suite: ${error.message}\n`);
        resolve(1);
      });
      child.once('exit', (exitCode, signal) => {
        resolve(exitCode ?? (signal ? 1 : 0));
      });
    });
    if (code !== 0) failed.push(`${suite} (exit ${code})`);
    worst = Math.max(worst, code);
  }
  process.stderr.write(failed.length === 0 ? `\nall ${chosen.length} suites finished\n` : `\nfailed: ${failed.join(', ')}\n`);
  return worst;
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
}
