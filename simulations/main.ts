/**
 * Runs a scenario without the dcloud CLI: `node simulations/main.ts SCENARIO [options]`.
 * Same arguments, output and exit codes as `dcloud sim`.
 */
import { runSim } from './cli.ts';

// Piped into `head`: the reader left, which is not an error of the run.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

runSim(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`sim: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
