import { join } from 'node:path';
import type { Command } from 'commander';
import { loadHubConfig } from '../../../hub/config.ts';
import { createSigner, loadOrCreateKeyFile } from '../../../keys/index.ts';
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

/** Spot-checks of `up` run on the image its README flow submits to, built locally: no internet needed. */
export const UP_SPOT_CHECK_IMAGE = 'dcloud-test/busybox:1';

/**
 * `dcloud up` (what `npm start` runs): a hub and an agent working for it, in this one process,
 * until Ctrl-C. The agent stops first, so its last results reach the hub before the hub goes.
 *
 * The hub runs the default credibility policy. Its agent is the operator's own machine, so the
 * hub vouches for it (--trusted-agents): it runs users' tasks at once, alone, instead of waiting on
 * probation for a second agent that a one-machine setup never has. DCLOUD_HUB_* variables still
 * apply (more trusted agents are added to it; a spot-check image replaces the local one).
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
      // The agent's identity first: the hub must know whom it vouches for before the agent registers.
      const agentDir = join(flags.data, 'agent');
      const { pair } = await loadOrCreateKeyFile(join(agentDir, 'agent.key'));
      const localAgent = createSigner(pair).nodeId;
      const trusted = [cli.env.DCLOUD_HUB_TRUSTED_AGENTS, localAgent].filter((ids) => ids !== undefined && ids !== '').join(',');
      const config = await loadHubConfig({
        flags: { data: join(flags.data, 'hub'), http: flags.http, 'log-level': 'warn', 'trusted-agents': trusted },
        env: cli.env,
        defaults: { 'spot-check-image': UP_SPOT_CHECK_IMAGE },
      });
      const stopped = stopSignal();
      // Loaded here, not at the top: other commands need not load the hub and the agent.
      const [{ startHub }, { createLineLogger, startAgentProgram }] = await Promise.all([import('../../../hub/main.ts'), import('../../../agent/main.ts')]);
      const hub = await startHub(config, { logStream: cli.stderr });
      let agent;
      try {
        agent = await startAgentProgram({
          hubs: [hub.url],
          dataDir: agentDir,
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
