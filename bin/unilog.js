#!/usr/bin/env node
// The CLI is TypeScript; tsx's loader runs it and also lets users write unilog.config.ts.
import { register } from 'tsx/esm/api';

// `unilog read | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
register();
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2));
