import type { Command } from 'commander';
import { runSim } from '../../../simulations/cli.ts';
import type { Cli } from '../cli.ts';

/**
 * `dcloud sim SCENARIO [options]`: runs a simulation on the real scheduling and consensus code.
 * Scenario options differ per scenario, so they are parsed (and checked) by the simulator, not by
 * commander: `dcloud sim --help` and `dcloud sim SCENARIO --help` list them.
 */
export function register(program: Command, cli: Cli): void {
  program
    .command('sim')
    .description('run a simulation scenario on the real scheduling and consensus code')
    .argument('[args...]', 'SCENARIO and its options')
    .allowUnknownOption()
    .helpOption(false)
    .action(async (args: string[]) => {
      cli.exitCode = await runSim(args, { stdout: cli.stdout, stderr: cli.stderr });
    });
}
