#!/usr/bin/env node
// The CLI is TypeScript run by Node's own type stripping (Node >= 22.18): no build step.
import { main } from '../src/cli/main.ts';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code ?? 0; },
  (err) => {
    console.error(`dcloud: ${err?.message ?? err}`);
    process.exitCode = 1;
  },
);
