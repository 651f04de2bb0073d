import { type Command, InvalidArgumentError, Option } from 'commander';
import { normaliseHubUrl } from '../../../agent/hub-client.ts';
import { parseLoopbackAddress } from '../../../agent/loopback.ts';
import { DcloudError } from '../../../protocol/errors.ts';
import { type Cli, readStdin, stopSignal } from '../cli.ts';
import { collect, positiveInteger, positiveNumber } from '../options.ts';

export const DEFAULT_AGENT_DATA = './.dcloud/agent';
export const DEFAULT_AGENT_UI = '127.0.0.1:7070';

/** `--ui` values: loopback HOST:PORT only, refused as a usage error otherwise. */
export function uiAddress(value: string): { host: string; port: number } {
  try {
    return parseLoopbackAddress(value);
  } catch (err) {
    if (err instanceof DcloudError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

export function hubUrl(value: string): string {
  try {
    return normaliseHubUrl(value);
  } catch (err) {
    if (err instanceof DcloudError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

interface AgentFlags {
  hub: string[];
  name?: string;
  data: string;
  ui: { host: string; port: number } | false;
  maxCpus?: number;
  maxRam?: number;
  dedicated?: boolean;
  maxTasks?: number;
  heartbeatInterval?: number;
  pollInterval?: number;
  killOnStop?: boolean;
  passphraseStdin?: boolean;
}

/** `dcloud agent`: lends this machine to one or more hubs until SIGINT/SIGTERM. */
export function register(program: Command, cli: Cli): void {
  program
    .command('agent')
    .description('run an agent: registers with one or more hubs, pulls work, runs it in containers')
    .requiredOption('--hub <url>', 'a hub to work for (repeat for several)', (value: string, previous?: string[]) => collect(hubUrl(value), previous ?? []))
    .option('--name <name>', 'the name hubs show for this agent (default: the stored one, then the host name)')
    .option('--data <dir>', 'data directory: identity (agent.key), pinned hub keys, journal', DEFAULT_AGENT_DATA)
    .addOption(new Option('--ui <host:port>', 'control API address, loopback only').argParser(uiAddress).default(uiAddress(DEFAULT_AGENT_UI), DEFAULT_AGENT_UI))
    .option('--no-ui', 'no control API')
    .option('--max-cpus <n>', 'never offer more than this many cores', positiveNumber)
    .option('--max-ram <gb>', 'never offer more than this much memory, GB', positiveNumber)
    .option('--max-tasks <n>', 'tasks run at the same time, over all hubs (default 1)', positiveInteger)
    .option('--dedicated', 'offer the whole (capped) machine whatever else runs on it, not only what is measured free')
    .option('--heartbeat-interval <s>', 'seconds between heartbeats (default 30)', positiveNumber)
    .option('--poll-interval <s>', 'seconds between asking an idle hub for work (default 2)', positiveNumber)
    .option('--kill-on-stop', 'when stopped from the control API, kill a running task instead of letting it finish')
    .option('--passphrase-stdin', 'read the passphrase of an encrypted agent.key from standard input (or set DCLOUD_KEY_PASSPHRASE)')
    .action(async (flags: AgentFlags) => {
      const passphrase = flags.passphraseStdin === true ? await readStdin(cli.stdin) : cli.env.DCLOUD_KEY_PASSPHRASE;
      const stopped = stopSignal();
      // Loaded here, not at the top: other commands need not load Docker and the web server.
      const { createLineLogger, startAgentProgram } = await import('../../../agent/main.ts');
      const program = await startAgentProgram({
        hubs: flags.hub,
        dataDir: flags.data,
        ui: flags.ui === false ? null : flags.ui,
        logger: createLineLogger(cli.stderr),
        ...(flags.name === undefined ? {} : { name: flags.name }),
        ...(flags.maxCpus === undefined ? {} : { maxCpus: flags.maxCpus }),
        ...(flags.maxRam === undefined ? {} : { maxRamGb: flags.maxRam }),
        ...(flags.dedicated === undefined ? {} : { dedicated: flags.dedicated }),
        ...(flags.maxTasks === undefined ? {} : { maxConcurrent: flags.maxTasks }),
        ...(flags.heartbeatInterval === undefined ? {} : { heartbeatIntervalMs: Math.round(flags.heartbeatInterval * 1000) }),
        ...(flags.pollInterval === undefined ? {} : { pollIntervalMs: Math.round(flags.pollInterval * 1000) }),
        ...(flags.killOnStop === undefined ? {} : { killOnStop: flags.killOnStop }),
        ...(passphrase === undefined ? {} : { passphrase }),
      });
      const { nodeId } = program.agent;
      if (program.keyCreated) cli.stderr.write(`dcloud agent: created identity ${nodeId} in ${flags.data}/agent.key\n`);
      // Scripts and tests read these lines.
      cli.stdout.write(`dcloud agent ${nodeId} working for ${flags.hub.join(' ')}\n`);
      if (program.controlUrl !== undefined) cli.stdout.write(`dcloud agent ${nodeId} control API on ${program.controlUrl}\n`);
      const signal = await stopped;
      cli.stderr.write(`dcloud agent: ${signal}, stopping\n`);
      await program.stop();
    });
}
