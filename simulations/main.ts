/**
 * Runs a scenario without the dcloud CLI: `node simulations/main.ts SCENARIO [options]`.
 * Same arguments, output and exit codes as `dcloud sim`.
 */
import { runSim } from './cli.ts';

runSim(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`sim: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
