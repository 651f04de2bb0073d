import type { MessageBody } from '../../protocol/messages.ts';
import { type HubClient, SignedAgent, sleep } from './signed-agent.ts';

/**
 * A simulated agent against a real hub over HTTP: it registers, heartbeats, asks for work and
 * posts results, every request a real signed envelope (simulations/live/signed-agent.ts). Its
 * executor is a stand-in: it sleeps for the replica's simulated run time, scaled by the time
 * scale, and answers the deterministic output of the task (`result-of-<label>`, the label being
 * the task's last command word, as the virtual run's honest agents answer).
 *
 * It can leave (stop heartbeating and asking, abandoning what runs: a vanished volunteer) and come
 * back (reporting the work it lost as failed, as a real agent's journal does after a restart).
 */

export interface LiveAgentEvents {
  /** A replica started (the grant arrived), wall ms. */
  started?(taskId: string, at: number): void;
  /** A replica's result was posted (ok or error), wall ms; `lost`: the failure report of work lost while the agent was away. */
  reported?(taskId: string, outcome: 'ok' | 'error', at: number, lost: boolean): void;
  /** A replica was lost because the agent left while it ran. */
  lost?(taskId: string): void;
  /** A request failed (network, unexpected status): counted, the loop goes on. */
  failed?(what: string, err: unknown): void;
}

export interface LiveAgentOptions {
  name: string;
  resources: { cpu: number; ramGb: number };
  /** Wall ms a replica of this assignment runs. */
  runMs(body: MessageBody<'assignment'>): number;
  /** Whether this replica ends in a failure report (a flaky agent); default never. */
  fails?(body: MessageBody<'assignment'>): boolean;
  heartbeatMs: number;
  pollMs: number;
  events: LiveAgentEvents;
}

export function outputOf(body: Pick<MessageBody<'assignment'>, 'spec'>): string {
  return `result-of-${body.spec.command.at(-1) ?? ''}\n`;
}

export class LiveAgent {
  readonly agent: SignedAgent;
  readonly #options: LiveAgentOptions;
  /** Bumped at every join and leave: what an earlier session started is void. */
  #session = 0;
  #online = false;
  #registered = false;
  readonly #running = new Map<string, MessageBody<'assignment'>>();
  #interrupted: Array<MessageBody<'assignment'>> = [];
  readonly #loops = new Set<Promise<void>>();

  constructor(hub: HubClient, options: LiveAgentOptions) {
    this.#options = options;
    this.agent = new SignedAgent(hub, { name: options.name, resources: options.resources });
  }

  get online(): boolean {
    return this.#online;
  }

  async join(): Promise<void> {
    if (this.#online) return;
    const session = ++this.#session;
    this.#online = true;
    try {
      if (!this.#registered) {
        await this.agent.register();
        this.#registered = true;
      } else await this.agent.heartbeat();
    } catch (err) {
      this.#options.events.failed?.('register', err);
    }
    // Back from an absence: what was lost is reported as failed, as a real agent does.
    const lost = this.#interrupted;
    this.#interrupted = [];
    for (const body of lost) await this.#report(body, { error: 'the agent restarted while it ran' }, true);
    this.#spawn(this.#heartbeats(session));
    this.#spawn(this.#work(session));
  }

  /** Vanishes: no more heartbeats or requests; running replicas are abandoned mid-task. */
  leave(): void {
    if (!this.#online) return;
    this.#online = false;
    this.#session++;
    for (const body of this.#running.values()) {
      this.#interrupted.push(body);
      this.#options.events.lost?.(body.taskId);
    }
    this.#running.clear();
  }

  /** Leaves and waits for its loops to notice. */
  async stop(): Promise<void> {
    this.leave();
    await Promise.allSettled([...this.#loops]);
  }

  #spawn(loop: Promise<void>): void {
    this.#loops.add(loop);
    void loop.finally(() => this.#loops.delete(loop));
  }

  async #heartbeats(session: number): Promise<void> {
    while (this.#session === session) {
      await sleep(this.#options.heartbeatMs);
      if (this.#session !== session) return;
      try {
        await this.agent.heartbeat();
      } catch (err) {
        this.#options.events.failed?.('heartbeat', err);
      }
    }
  }

  async #work(session: number): Promise<void> {
    while (this.#session === session) {
      let grant: Awaited<ReturnType<SignedAgent['requestWork']>> = null;
      try {
        grant = await this.agent.requestWork();
      } catch (err) {
        this.#options.events.failed?.('work', err);
      }
      if (this.#session !== session) return;
      if (grant === null) {
        await sleep(this.#options.pollMs);
        continue;
      }
      const body = grant.body;
      this.#options.events.started?.(body.taskId, Date.now());
      this.#running.set(body.assignmentId, body);
      this.#spawn(this.#run(session, body));
    }
  }

  async #run(session: number, body: MessageBody<'assignment'>): Promise<void> {
    await sleep(this.#options.runMs(body));
    if (this.#session !== session) return; // it left meanwhile: lost with it
    this.#running.delete(body.assignmentId);
    await this.#report(body, this.#options.fails?.(body) === true ? { error: 'the stand-in executor failed (a flaky agent)' } : { stdout: outputOf(body), exitCode: 0 });
  }

  async #report(body: MessageBody<'assignment'>, outcome: { stdout: string; exitCode: number } | { error: string }, lost = false): Promise<void> {
    try {
      const response = await this.agent.hub.post('/v1/results', this.agent.resultEnvelope(body, outcome));
      // 409: the hub closed the assignment meanwhile (expired, or the round ended): nothing to do.
      if (response.status !== 200 && response.status !== 409) throw new Error(`HTTP ${response.status} ${JSON.stringify(response.body)}`);
      this.#options.events.reported?.(body.taskId, 'error' in outcome ? 'error' : 'ok', Date.now(), lost);
    } catch (err) {
      this.#options.events.failed?.('result', err);
    }
  }
}
