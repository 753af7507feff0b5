// `npm start`: the Hello Retail demo, on the embedded backend by default. PORT (default 3000), HOST (default
// 127.0.0.1) and UNILOG_DIR (default ./.unilog-demo) configure it; `npm start -- --backend aws` runs it on AWS or on
// the local AWS stack (`npm run local:aws`, then its export lines), `--prefix` naming the deployment's resources.
// Ctrl-C (SIGINT) or SIGTERM stops it cleanly.
import { parseArgs } from 'node:util';
import { isUnilogError, stopOnSignals } from '../src/index.ts';
import { startHelloRetailDemo, type HelloRetailDemoOptions } from './server/demo.ts';

const usage = 'Usage: npm start [-- --backend embedded|aws [--prefix unilog-] [--stream NAME]]';
let args: { backend?: string; prefix?: string; stream?: string; help?: boolean };
try {
  args = parseArgs({ options: { backend: { type: 'string' }, prefix: { type: 'string' }, stream: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }).values;
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
  process.exit(2);
}
if (args.help === true) {
  console.log(usage);
  process.exit(0);
}
const dir = process.env['UNILOG_DIR'] ?? '.unilog-demo';
const port = Number(process.env['PORT'] ?? '3000');
const host = process.env['HOST'] ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number from 0 to 65535, not ${JSON.stringify(process.env['PORT'])}.`);
  process.exit(2);
}
const backendName = args.backend ?? process.env['UNILOG_BACKEND'] ?? 'embedded';
if (backendName !== 'embedded' && backendName !== 'aws') {
  console.error(`--backend must be embedded or aws, not ${JSON.stringify(backendName)}.\n${usage}`);
  process.exit(2);
}
if (backendName === 'embedded' && (args.prefix !== undefined || args.stream !== undefined)) {
  console.error(`--prefix and --stream name AWS resources: add --backend aws.\n${usage}`);
  process.exit(2);
}
const backend: HelloRetailDemoOptions['backend'] =
  backendName === 'aws' ? { kind: 'aws', ...(args.prefix === undefined ? {} : { prefix: args.prefix }), ...(args.stream === undefined ? {} : { streamName: args.stream }) } : { kind: 'embedded' };

const localStackHint = 'For the local AWS stack: npm run local:aws in another terminal, then eval "$(npm run -s local:aws -- --env)" in this one.';
const demo = await startHelloRetailDemo({ dir, port, host, backend }).catch((error: unknown) => {
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE') console.error(`Port ${port} on ${host} is in use: stop what uses it, or choose another port (PORT=3001 npm start).`);
  else if (isUnilogError(error, 'LogLocked')) console.error(`${error.message}\nAnother demo may be running on ${dir}: stop it, or use another folder (UNILOG_DIR=/tmp/demo npm start).`);
  else if (backend.kind === 'aws' && isUnilogError(error, 'LogNotFound')) console.error(`${error.message}\n${localStackHint}`);
  else if (backend.kind === 'aws' && !isUnilogError(error)) console.error(`The AWS backend could not start: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\nCheck the region, credentials and endpoints. ${localStackHint}`);
  else console.error(error);
  process.exit(1);
});
const seeded = demo.seeded.products + demo.seeded.photographers > 0 ? ` (seeded ${demo.seeded.products} products and ${demo.seeded.photographers} photographers)` : '';
console.log(`Hello Retail is running at ${demo.url}${seeded}`);
console.log(`  data: ${demo.backend}`);
console.log(`  event-log API: ${demo.url}/api (try: curl -H "Authorization: Bearer ${demo.apiKey}" ${demo.url}/api/consumers)`);
console.log('Press Ctrl-C to stop.');

// Each part finishes what it has in hand (a batch, a request) and closes; the process exits 0, or 1 when a stop failed.
stopOnSignals([
  {
    async stop() {
      console.log('Stopping…');
      await demo.close();
      console.log('Stopped.');
    },
  },
]);
