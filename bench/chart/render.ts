/**
 * Charts of the saved bench results: `npx tsx bench/chart/render.ts`.
 * Reads bench/.data/results/peers.json and scale.json (written by `npm run bench -- peers` / `scale`), builds a
 * Vega-Lite spec for each, renders it to SVG with Vega (no canvas needed) and the SVG to PNG with resvg, using the
 * system's fonts. PNGs go to docs/images/benchmarks-<suite>.png, SVGs to bench/.data/charts/.
 * A missing result file is skipped with a message; a result of another shape fails with what is missing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { z } from 'zod';

const repo = path.join(import.meta.dirname, '..', '..');
const resultsDir = path.join(repo, 'bench', '.data', 'results');
const svgDir = path.join(repo, 'bench', '.data', 'charts');
const imagesDir = path.join(repo, 'docs', 'images');
/** A font resvg finds among the system fonts (Debian: fonts-dejavu-core); text in another font would not render. */
const font = 'DejaVu Sans';

const savedResultSchema = z.object({
  suite: z.string(),
  date: z.string(),
  command: z.string(),
  machine: z.object({ cpu: z.string(), cores: z.number(), node: z.string(), disk: z.string() }),
  ratios: z.record(z.string(), z.number()),
  figures: z.record(z.string(), z.number()),
});
type SavedResult = z.output<typeof savedResultSchema>;

function load(suite: string): SavedResult | undefined {
  const file = path.join(resultsDir, `${suite}.json`);
  if (!existsSync(file)) {
    process.stderr.write(`no ${path.relative(process.cwd(), file)}: run \`npm run bench -- ${suite}\` first; ${suite} chart skipped\n`);
    return undefined;
  }
  return savedResultSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

function figure(result: SavedResult, key: string): number {
  const value = result.figures[key];
  if (value === undefined) throw new Error(`${result.suite}.json has no figure ${key}: re-run the suite with this version of the bench`);
  return value;
}

const subtitle = (result: SavedResult): string[] => [
  `${result.machine.cpu}, ${result.machine.cores} cores, Node ${result.machine.node}, ${result.machine.disk}; ${result.date.slice(0, 10)}`,
  result.command,
];

const config = {
  font,
  title: { fontSize: 15, subtitleFontSize: 11, subtitleColor: '#555', anchor: 'start' },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 480 },
} as const;

/** events/s by case and system; durable systems solid, in-memory ones hatched by colour and named so in the legend. */
function peersSpec(result: SavedResult): TopLevelSpec {
  const systems = [
    { key: 'unilog', label: 'unilog (durable: file log + SQLite index)' },
    { key: 'emmett', label: 'Emmett (in memory, not durable)' },
    { key: 'castore', label: 'Castore (in memory, not durable)' },
    { key: 'emmett_postgres', label: 'Emmett PostgreSQL (durable)' },
  ];
  const cases = [
    { key: 'append_batch1', label: 'append, batch 1' },
    { key: 'append_expected', label: 'append, expected version' },
    { key: 'append', label: 'append, batch 100' },
    { key: 'replay', label: 'replay (read all, count)' },
  ];
  const values = cases.flatMap((c) =>
    systems
      .filter((s) => result.figures[`${s.key}_${c.key}_events_per_s`] !== undefined)
      .map((s) => ({ case: c.label, system: s.label, eventsPerSecond: figure(result, `${s.key}_${c.key}_events_per_s`) })),
  );
  const maxRate = Math.max(...values.map((v) => v.eventsPerSecond));
  // Bars on a log scale need a baseline other than 0: the decade below the slowest system.
  const floor = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...values.map((v) => v.eventsPerSecond)))));
  const x = { field: 'case', type: 'nominal', sort: cases.map((c) => c.label), title: null, axis: { labelAngle: 0, labelFontSize: 12, labelLimit: 240 } } as const;
  const xOffset = { field: 'system', type: 'nominal', sort: systems.map((s) => s.label) } as const;
  const domain: number[] = [floor, maxRate * 3];
  const y = { field: 'eventsPerSecond', type: 'quantitative', scale: { type: 'log', domain }, title: 'events/s', axis: { format: '~s' } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Events per second by system (log scale; higher is better)',
      subtitle: [...subtitle(result), 'Emmett PostgreSQL appends fewer events (a 100th of the single-event cases, a 5th of batch 100): rates compare, totals do not'],
    },
    data: { values },
    width: 760,
    height: 320,
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          x,
          xOffset,
          y,
          y2: { datum: floor },
          color: { field: 'system', type: 'nominal', sort: systems.map((s) => s.label), scale: { range: ['#1f77b4', '#b0b0b0', '#7f7f7f', '#ff7f0e'] }, legend: { orient: 'bottom', columns: 2, title: null } },
        },
      },
      {
        mark: { type: 'text', dy: -6, fontSize: 10, font },
        encoding: { x, xOffset, y, text: { field: 'eventsPerSecond', type: 'quantitative', format: '.3~s' } },
      },
    ],
    config,
  };
}

/** µs per event and RSS against the log size, one line per step. */
function scaleSpec(result: SavedResult): TopLevelSpec {
  const sizes = Object.keys(result.figures)
    .map((key) => /^peak_rss_mb_(\d+)$/.exec(key)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  if (sizes.length < 2) throw new Error('scale.json holds fewer than two sizes');
  const steps = [
    { key: 'append', label: 'append (publishBatch of 1,000)' },
    { key: 'replay', label: 'replay (log.read)' },
    { key: 'rebuild', label: 'rebuild (consumer → SQLite view)' },
  ];
  const perEvent = sizes.flatMap((n) => steps.map((s) => ({ events: n, step: s.label, value: figure(result, `${s.key}_us_per_event_${n}`) })));
  const memory = sizes.flatMap((n) => [
    { events: n, step: 'process peak (ru_maxrss), dashed', value: figure(result, `peak_rss_mb_${n}`), dashed: true },
    ...steps.map((s) => ({ events: n, step: `during ${s.label.split(' ')[0] ?? s.key}`, value: figure(result, `${s.key}_rss_max_mb_${n}`), dashed: false })),
  ]);
  const xAxis = { field: 'events', type: 'quantitative', scale: { type: 'log' }, title: 'events in the log', axis: { format: '~s', values: sizes } } as const;
  const panel = (title: string, values: object[], yTitle: string) => ({
    title,
    width: 300,
    height: 220,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: xAxis,
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: true } },
      color: { field: 'step', type: 'nominal', legend: { orient: 'bottom', columns: 1, title: null } },
      // The process peak often equals one phase's maximum: dashed, so that neither line hides the other.
      strokeDash: { field: 'dashed', type: 'nominal', legend: null, scale: { domain: [false, true], range: [[1, 0], [6, 4]] } },
    },
  }) as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'unilog embedded backend: cost per event and memory as the log grows', subtitle: subtitle(result) },
    hconcat: [panel('time per event (flat is good)', perEvent, 'µs per event'), panel('RSS (flat is good)', memory, 'MB')],
    resolve: { scale: { color: 'independent' } },
    config,
  };
}

async function render(name: string, spec: TopLevelSpec): Promise<void> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  mkdirSync(svgDir, { recursive: true });
  mkdirSync(imagesDir, { recursive: true });
  writeFileSync(path.join(svgDir, `benchmarks-${name}.svg`), svg);
  const png = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: font },
  })
    .render()
    .asPng();
  const file = path.join(imagesDir, `benchmarks-${name}.png`);
  writeFileSync(file, png);
  process.stdout.write(`${path.relative(process.cwd(), file)} (${Math.round(png.length / 1024)} KiB)\n`);
}

const peers = load('peers');
if (peers) await render('peers', peersSpec(peers));
const scale = load('scale');
if (scale) await render('scale', scaleSpec(scale));
if (!peers && !scale) process.exitCode = 1;
