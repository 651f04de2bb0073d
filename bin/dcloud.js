#!/usr/bin/env node
// The CLI is TypeScript. It runs from the bundle in dist/cli when that bundle was built from
// exactly the sources in this checkout (scripts/build-cli.ts, run by `npm ci`/`npm run build`),
// otherwise from the sources through Node's own type stripping (Node >= 22.18). The bundle saves
// the type stripper's memory (~17 MB), which matters to an agent idling all day.
// DCLOUD_FROM_SOURCE=1 forces the sources.
import { BUNDLE_ENTRY_URL, bundleIsCurrent } from './bundle.js';

// An agent idles all day: start its V8 with the smallest young generation (16 MB by default, grown
// for allocation bursts an idle agent does not have; measured about 7 MB less resident memory and
// no measurable CPU). The size is fixed when V8 starts, so the process replaces itself once with
// the flag set (same pid, same stdio).
const AGENT_V8_FLAG = '--max-semi-space-size=1';
if (process.argv[2] === 'agent' && !process.execArgv.includes(AGENT_V8_FLAG) && typeof process.execve === 'function') {
  process.execve(process.execPath, [process.execPath, AGENT_V8_FLAG, ...process.execArgv, ...process.argv.slice(1)], process.env);
}

const useBundle = process.env.DCLOUD_FROM_SOURCE !== '1' && bundleIsCurrent();
const { main } = await import(useBundle ? BUNDLE_ENTRY_URL.href : '../src/cli/main.ts');

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
