#!/usr/bin/env node
// The CLI is TypeScript run by Node's own type stripping (Node >= 22.18): no build step.
import { main } from '../src/cli/main.ts';

// Piped into `head`: the reader left, which is not an error of the command.
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code ?? 0; },
  (err) => {
    console.error(`dcloud: ${err?.message ?? err}`);
    process.exitCode = 1;
  },
);
