// Real `dcloud agent` processes (and other dcloud commands) for the integration and end-to-end
// tests: spawned from bin/dcloud.js, found by the lines they print, driven over their control API.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { AgentStatus } from '../../agent/agent.ts';

const BIN = fileURLToPath(new URL('../../bin/dcloud.js', import.meta.url));
/** What `dcloud agent` prints on stdout once its control API listens. */
export const CONTROL_LINE = /dcloud agent ([0-9a-f]{32}) control API on (http:\/\/\S+)/;

export interface AgentProcessOptions {
  hubs: readonly string[];
  dataDir: string;
  /** More flags; the tests' default is a 0.3 s heartbeat, a 0.1 s poll and --dedicated. */
  args?: readonly string[];
  startTimeoutMs?: number;
}

export interface AgentProcess {
  readonly nodeId: string;
  readonly controlUrl: string;
  readonly child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  status(): Promise<AgentStatus>;
  /** POSTs to its control API; returns status and JSON body. */
  post(path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** SIGTERM and wait: the clean stop (Ctrl-C). */
  stop(): Promise<number | null>;
  /** SIGKILL and wait: the crash. */
  kill(): Promise<void>;
}

export async function startAgentProcess(options: AgentProcessOptions): Promise<AgentProcess> {
  const args = [
    BIN,
    'agent',
    ...options.hubs.flatMap((h) => ['--hub', h]),
    '--data',
    options.dataDir,
    '--ui',
    '127.0.0.1:0',
    '--heartbeat-interval',
    '0.3',
    '--poll-interval',
    '0.1',
    // Several agents and the tests share two cores: offer them whatever the load.
    '--dedicated',
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  let match: RegExpExecArray | null;
  while ((match = CONTROL_LINE.exec(output)) === null) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`dcloud agent did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const [, nodeId, controlUrl] = match as unknown as [string, string, string];
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    nodeId,
    controlUrl,
    child,
    output: () => output,
    async status() {
      return (await (await fetch(`${controlUrl}/api/status`)).json()) as AgentStatus;
    },
    async post(path, body) {
      const res = await fetch(`${controlUrl}${path}`, {
        method: 'POST',
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      return { status: res.status, body: await res.json() };
    },
    async stop() {
      if (alive()) child.kill('SIGTERM');
      return (await exited)[0];
    },
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls `probe` until it returns something other than undefined; throws with `what` after the timeout. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `dcloud ARGS...` to its end as a real process. */
export async function runDcloud(args: readonly string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(options.input ?? '');
  // 'close', not 'exit': it comes after the output streams have ended.
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}
