import { join } from 'node:path';
import type { Command } from 'commander';
import { loadHubConfig } from '../../../hub/config.ts';
import { type Cli, stopSignal } from '../cli.ts';
import { positiveNumber } from '../options.ts';
import { DEFAULT_AGENT_UI, uiAddress } from './agent.ts';

interface UpFlags {
  data: string;
  http: string;
  ui: { host: string; port: number } | false;
  maxCpus?: number;
  maxRam?: number;
}

/**
 * `dcloud up` (what `npm start` runs): a hub and an agent working for it, in this one process,
 * until Ctrl-C. The agent stops first, so its last results reach the hub before the hub goes.
 */
export function register(program: Command, cli: Cli): void {
  program
    .command('up')
    .description('a hub and an agent on this machine (what `npm start` runs)')
    .option('--data <dir>', 'data root: the hub keeps DIR/hub, the agent DIR/agent', './.dcloud')
    .option('--http <host:port>', 'the hub\'s HTTP address', '127.0.0.1:8080')
    .option('--ui <host:port>', 'the agent\'s control API, loopback only', uiAddress, uiAddress(DEFAULT_AGENT_UI))
    .option('--no-ui', 'no agent control API')
    .option('--max-cpus <n>', 'cores the agent may offer at most', positiveNumber)
    .option('--max-ram <gb>', 'memory the agent may offer at most, GB', positiveNumber)
    .action(async (flags: UpFlags) => {
      const config = await loadHubConfig({ flags: { data: join(flags.data, 'hub'), http: flags.http, 'log-level': 'warn' }, env: cli.env });
      const stopped = stopSignal();
      // Loaded here, not at the top: other commands need not load the hub and the agent.
      const [{ startHub }, { createLineLogger, startAgentProgram }] = await Promise.all([import('../../../hub/main.ts'), import('../../../agent/main.ts')]);
      const hub = await startHub(config, { logStream: cli.stderr });
      let agent;
      try {
        agent = await startAgentProgram({
          hubs: [hub.url],
          dataDir: join(flags.data, 'agent'),
          ui: flags.ui === false ? null : flags.ui,
          logger: createLineLogger(cli.stderr, 'agent '),
          // A machine set up to try dcloud on: its agent offers all of it (within the caps), so a
          // first task runs even while the machine is busy with other things.
          dedicated: true,
          ...(flags.maxCpus === undefined ? {} : { maxCpus: flags.maxCpus }),
          ...(flags.maxRam === undefined ? {} : { maxRamGb: flags.maxRam }),
        });
      } catch (err) {
        await hub.stop();
        throw err;
      }
      cli.stdout.write(
        `dcloud hub ${hub.id} listening on ${hub.url}\n` +
          `dcloud agent ${agent.agent.nodeId} working for ${hub.url}\n` +
          (agent.controlUrl === undefined ? '' : `dcloud agent ${agent.agent.nodeId} control API on ${agent.controlUrl}\n`) +
          `\nOpen in a browser:\n` +
          (agent.controlUrl === undefined ? '' : `  your agent's page (register, start/stop, submit tasks): ${agent.controlUrl}/\n`) +
          `  the hub dashboard: ${hub.url}/dashboard\n` +
          `\nOr submit a task from another terminal:\n` +
          `  npx dcloud submit --hub ${hub.url} --image dcloud-test/busybox:1 --wait -- echo 42\n` +
          `\nCtrl-C stops both.\n`,
      );
      const signal = await stopped;
      cli.stderr.write(`dcloud up: ${signal}, stopping\n`);
      await agent.stop();
      await hub.stop();
    });
}
