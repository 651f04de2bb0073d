// Federated hub processes on 127.0.0.1 for the integration tests, and scriptable agents attached to
// some of them: start, restart on the same data dir and ports, cut off from the federation (the
// bridge's cut switch), and compare what the hubs show.
import { rm, writeFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskView } from '../../hub/engine-types.ts';
import { CUT_FILE_ENV, type FederationView } from '../../hub/federation-bridge.ts';
import { generateKeyPair } from '../../keys/index.ts';
import type { MessageBody } from '../../protocol/index.ts';
import { expectStatus, HubClient, type HubProcess, sleep, startHubProcess, TestAgent } from './test-agent.ts';

/**
 * Hub flags for the takeover and fencing tests: a 3 s lease, so that a home's absence outlasts it
 * within a test; agents that stop heartbeating (their hub is down or cut off) are inactive after
 * 3 s and their replicas expire then, so that the tasks they held are run by others meanwhile.
 * The thesis' trust sum: the scripted agents run whatever they are given at once (under the
 * credibility default they would start on probation, running known-answer tasks).
 */
export const FED_ARGS: readonly string[] = ['--tick-ms', '50', '--validation-policy', 'trust-sum', '--sync-interval-ms', '1000', '--lease-ms', '3000', '--heartbeat-interval-ms', '1000', '--heartbeat-timeout-ms', '3000', '--assignment-grace-ms', '2000'];

export interface FedHub {
  name: string;
  dataDir: string;
  process: HubProcess;
  client: HubClient;
  /** Its libp2p address, /p2p/<peer id> included. */
  address: string;
  nodeId: string;
  /** While this file exists, the hub is cut off from the federation. */
  cutFile: string;
}

export async function federationView(client: HubClient): Promise<FederationView> {
  return expectStatus('GET /v1/federation', await client.get<FederationView>('/v1/federation'), 200);
}

/** A hub process listening for the federation on 127.0.0.1; `reuse`: the same data dir and ports again. */
export async function startFedHub(name: string, bootstrap: string[], args: readonly string[], reuse?: FedHub): Promise<FedHub> {
  const dataDir = reuse?.dataDir ?? (await mkdtemp(join(tmpdir(), `dcloud-fed-${name}-`)));
  const listen = reuse === undefined ? '/ip4/127.0.0.1/tcp/0' : reuse.address.replace(/\/p2p\/.*$/, '');
  const cutFile = join(dataDir, 'cut');
  const process = await startHubProcess({
    dataDir,
    ...(reuse === undefined ? {} : { port: reuse.process.port }),
    args: [...args, '--listen', listen, ...bootstrap.flatMap((b) => ['--bootstrap', b])],
    env: { [CUT_FILE_ENV]: cutFile },
  });
  const client = new HubClient(process.url);
  const view = await federationView(client);
  return { name, dataDir, process, client, address: view.multiaddrs[0]!, nodeId: view.nodeId, cutFile };
}

/** Cuts the hub off from the federation (it goes on alone), or lets it back. */
export async function cut(hub: FedHub, on: boolean): Promise<void> {
  if (on) await writeFile(hub.cutFile, '');
  else await rm(hub.cutFile, { force: true });
}

export async function removeHubs(hubs: readonly FedHub[]): Promise<void> {
  await Promise.all(hubs.map((h) => h.process.kill()));
  await Promise.all(hubs.map((h) => rm(h.dataDir, { recursive: true, force: true })));
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last === undefined ? '' : ` (${String(last)})`}`);
    await sleep(100);
  }
}

/** Every hub connected to `count` others and deciding. */
export async function federated(hubs: readonly FedHub[], count = hubs.length - 1): Promise<void> {
  for (const hub of hubs) {
    await waitFor(
      `${hub.name} federated`,
      async () => {
        const view = await federationView(hub.client);
        const connected = view.peers.filter((p) => p.hub && p.status === 'connected').length;
        return view.deciding && connected >= count ? view : undefined;
      },
      60_000,
    );
  }
}

/**
 * An agent's loop against its hubs: heartbeat now and then, ask each hub for work, answer every
 * assignment with what its `echo ARGS…` prints. A hub that is down is skipped. While `held`, it
 * fetches work but keeps the answers, and posts them once released.
 */
export class Worker {
  readonly agents: TestAgent[];
  readonly grants: Array<{ hub: string; body: MessageBody<'assignment'>; credentials: boolean }> = [];
  held = false;
  private readonly waiting: Array<{ agent: TestAgent; body: MessageBody<'assignment'> }> = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(agents: TestAgent[]) {
    this.agents = agents;
    this.done = this.loop();
  }

  get id(): string {
    return this.agents[0]!.id;
  }

  private async answer(agent: TestAgent, body: MessageBody<'assignment'>): Promise<void> {
    await agent.postResult(body, { stdout: `${body.spec.command.slice(1).join(' ')}\n`, exitCode: 0 });
  }

  private async loop(): Promise<void> {
    let beat = 0;
    while (this.running) {
      if (!this.held) {
        for (const { agent, body } of this.waiting.splice(0)) await this.answer(agent, body).catch(() => undefined);
      }
      for (const agent of this.agents) {
        try {
          if (beat % 8 === 0) await agent.heartbeat();
          const grant = await agent.requestWork();
          if (grant !== null) {
            this.grants.push({ hub: agent.hub.url, body: grant.body, credentials: grant.registryAuth !== undefined });
            if (this.held) this.waiting.push({ agent, body: grant.body });
            else await this.answer(agent, grant.body);
          }
        } catch {
          // the hub is down, or refused a result it no longer wants: the loop goes on
        }
      }
      beat += 1;
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/** The same agent key attached to each of `clients`. */
export async function attach(clients: HubClient[], name: string): Promise<Worker> {
  const pair = generateKeyPair();
  const agents = clients.map((client) => new TestAgent(client, { pair, name, resources: { cpu: 4, ramGb: 8 } }));
  for (const agent of agents) await agent.register();
  return new Worker(agents);
}

/** What must be the same on every hub: status, result, trust score, decider. */
export function outcome(task: TaskView) {
  return { id: task.id, status: task.status, result: task.result, trustScore: task.trustScore, staleness: task.staleness, decider: task.decider ?? null };
}

/** Waits until the task is decided, and decided alike, on every hub of `on`. */
export async function sameEverywhere(id: string, on: readonly FedHub[], timeoutMs = 30_000): Promise<TaskView[]> {
  return waitFor(
    `task ${id.slice(0, 12)} the same on ${on.map((h) => h.name).join(', ')}`,
    async () => {
      const views = await Promise.all(on.map((h) => h.client.task(id)));
      const first = JSON.stringify(outcome(views[0]!));
      return views.every((v) => JSON.stringify(outcome(v)) === first) && ['validated', 'invalid', 'abandoned'].includes(views[0]!.status) ? views : undefined;
    },
    timeoutMs,
  );
}

export async function trustOn(hub: FedHub, agentIds: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const id of agentIds) out[id] = (await hub.client.agent(id)).trust;
  return out;
}
