// The CLI's view of the Hello Retail demo: every event type and the six projections, on the demo's data folder.
// Run from the repository root, for example: npx unilog status --config sample-app/unilog.config.ts
// (stop `npm start` first: the log has one writer at a time; `read` and `tail` work while it runs).
import { defineConfig } from '../src/index.ts';
import { helloRetailProjections } from '../projections/index.ts';
import { helloRetailEvents } from './events.ts';

export default defineConfig({ events: helloRetailEvents, projections: helloRetailProjections, backend: { kind: 'file', dir: '.unilog-demo' } });
