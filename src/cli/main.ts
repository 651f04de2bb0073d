import { Command, CommanderError } from 'commander';
import { DcloudError } from '../../protocol/errors.ts';
import { register as registerAgent } from './commands/agent.ts';
import { register as registerHub } from './commands/hub.ts';
import { register as registerKeys } from './commands/keys.ts';
import { register as registerSim } from './commands/sim.ts';
import { register as registerStatus } from './commands/status.ts';
import { register as registerSubmit } from './commands/submit.ts';
import { register as registerUp } from './commands/up.ts';
import { type Cli, type CliIo, EXIT_USAGE } from './cli.ts';

/**
 * Every command, in the order `dcloud --help` lists them. To add one, write
 * src/cli/commands/<name>.ts exporting `register(program, cli)` (see commands/keys.ts) and add it
 * here: agent, submit, status, up and sim go in the same way.
 */
const COMMANDS: ReadonlyArray<(program: Command, cli: Cli) => void> = [
  registerUp,
  registerHub,
  registerAgent,
  registerSubmit,
  registerStatus,
  registerKeys,
  registerSim,
];

function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/** Runs `dcloud ARGV...`; resolves with the exit code (bin/dcloud.js sets it). */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const cli: Cli = { ...io, exitCode: 0 };
  const program = new Command('dcloud')
    .description('A decentralized cloud: hubs schedule deterministic container jobs on volunteers\' machines and accept results by trust-weighted consensus.')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) });
  // Commands registered after exitOverride/configureOutput inherit both.
  for (const registerCommand of COMMANDS) registerCommand(program, cli);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, successfully.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof DcloudError) {
      io.stderr.write(`dcloud: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  return cli.exitCode;
}
