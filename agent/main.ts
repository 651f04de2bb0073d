import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createSigner, loadOrCreateKeyFile } from '../keys/index.ts';
import packageJson from '../package.json' with { type: 'json' };
import { REPORT_CAPS } from './report.ts';
import { subtractResources } from '../src/core/resources.ts';
import { type Agent, createAgent, type Logger } from './agent.ts';
import { type ControlApi, startControlApi } from './control-api.ts';
import { connectDocker } from './docker.ts';
import { cleanupOrphans, createExecutor } from './executor.ts';
import { openJournal } from './journal.ts';
import { createResourceMonitor } from './resources.ts';

/**
 * An agent as a program: its identity and journal in the data directory, Docker, the resource
 * monitor, the agent service and its control API, started and stopped together. What
 * `dcloud agent` and `dcloud up` run.
 */

export interface AgentProgramOptions {
  hubs: readonly string[];
  /** Identity, pinned hub keys and the journal live here (created 0700). */
  dataDir: string;
  name?: string;
  /** Control API address (loopback only); null for none. */
  ui: { host: string; port: number } | null;
  maxCpus?: number;
  maxRamGb?: number;
  /**
   * Offer the whole (capped) machine, whatever else runs on it: a machine set aside for dcloud.
   * By default only what the monitor measures as free is offered, as a volunteer's desktop needs.
   */
  dedicated?: boolean;
  /** Tasks run at the same time, over all hubs (default 1). */
  maxConcurrent?: number;
  heartbeatIntervalMs?: number;
  pollIntervalMs?: number;
  killOnStop?: boolean;
  /** Passphrase of an encrypted agent.key. */
  passphrase?: string;
  logger: Logger;
}

export interface AgentProgram {
  readonly agent: Agent;
  /** The control API's URL, when it runs. */
  readonly controlUrl: string | undefined;
  readonly keyCreated: boolean;
  stop(): Promise<void>;
}

export async function startAgentProgram(options: AgentProgramOptions): Promise<AgentProgram> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const { pair, created } = await loadOrCreateKeyFile(join(dataDir, 'agent.key'), options.passphrase === undefined ? {} : { passphrase: options.passphrase });
  const signer = createSigner(pair);
  const docker = await connectDocker(process.env.DOCKER_SOCKET ?? '/var/run/docker.sock');
  const caps = {
    ...(options.maxCpus === undefined ? {} : { cpu: options.maxCpus }),
    ...(options.maxRamGb === undefined ? {} : { ramGb: options.maxRamGb }),
  };
  const monitor = createResourceMonitor({}, { caps });
  await monitor.start();
  const agent = createAgent(
    {
      signer,
      executor: createExecutor({ docker }, { stdoutCapBytes: REPORT_CAPS.stdoutBytes, stderrCapBytes: REPORT_CAPS.stderrBytes }),
      resources: {
        read: (inUse) => {
          const capacity = monitor.current(inUse);
          return options.dedicated === true ? { total: capacity.total, free: subtractResources(capacity.total, inUse) } : capacity;
        },
      },
      journal: await openJournal(dataDir),
      logger: options.logger,
      // Only this agent's containers: other agents may share the engine.
      cleanupOrphans: ({ signal }) => cleanupOrphans(docker, { labels: { 'dcloud.agent': signer.nodeId }, ...(signal === undefined ? {} : { signal }) }),
    },
    {
      hubs: options.hubs,
      caps,
      software: `dcloud-agent/${packageJson.version}`,
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
      ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
      ...(options.killOnStop === undefined ? {} : { killOnStop: options.killOnStop }),
      ...(options.maxConcurrent === undefined ? {} : { maxConcurrent: options.maxConcurrent }),
    },
  );
  let control: ControlApi | undefined;
  try {
    await agent.start();
    if (options.ui !== null) control = await startControlApi(agent, options.ui);
  } catch (err) {
    await agent.stop();
    await monitor.stop();
    throw err;
  }
  return {
    agent,
    controlUrl: control?.url,
    keyCreated: created,
    async stop() {
      await control?.close();
      await agent.stop();
      await monitor.stop();
    },
  };
}

/** One line per event on `stream`: time, level, message, then the fields as JSON. */
export function createLineLogger(stream: NodeJS.WritableStream, prefix = ''): Logger {
  const write = (level: string, message: string, fields?: Record<string, unknown>) => {
    const extra = fields === undefined || Object.keys(fields).length === 0 ? '' : ` ${JSON.stringify(fields)}`;
    stream.write(`${new Date().toISOString()} ${prefix}${level} ${message}${extra}\n`);
  };
  return {
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}
