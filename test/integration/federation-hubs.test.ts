// Three hub processes federated over libp2p on 127.0.0.1, with scriptable test agents attached to
// some of them only: tasks submitted to one hub run on agents of the others and are decided once,
// by their home, and every hub ends with the same view; a hub that was away catches up; a task
// whose home dies is still decided; forged results and decisions change nothing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentView, NetworkView, TaskView } from '../../hub/engine-types.ts';
import { digestOf } from '../../protocol/index.ts';
import { PRIVATE_IMAGE, privateRegistryAuth } from '../support/env.ts';
import { startTestHub, type TestHub } from '../support/federation.ts';
import {
  attach as attachWorker,
  FED_ARGS,
  type FedHub,
  federated,
  federationView,
  outcome,
  removeHubs,
  sameEverywhere,
  startFedHub,
  trustOn,
  waitFor,
  type Worker,
} from '../support/federation-hubs.ts';
import { expectStatus, HubClient, sleep, startHubProcess, TestAgent, taskSpec } from '../support/test-agent.ts';

type Hub = FedHub;

const hubs: Hub[] = [];
const workers: Worker[] = [];
const federation = federationView;
const startHub = (name: string, bootstrap: string[], reuse?: Hub): Promise<Hub> => startFedHub(name, bootstrap, FED_ARGS, reuse);

/** The same agent key attached to each of `clients`, answering every assignment (stopped after the tests). */
async function attach(clients: HubClient[], name: string): Promise<Worker> {
  const worker = await attachWorker(clients, name);
  workers.push(worker);
  return worker;
}

let A: Hub;
let B: Hub;
let C: Hub;
const submitter = () => new TestAgent(A.client, { name: 'submitter' });

beforeAll(async () => {
  A = await startHub('A', []);
  [B, C] = await Promise.all([startHub('B', [A.address]), startHub('C', [A.address])]);
  hubs.push(A, B, C);
  // Every hub knows the two others, and decides.
  await federated(hubs);
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await removeHubs(hubs);
});

describe('three federated hubs', () => {
  it('runs a task submitted to A on agents attached only to B and C, and A, B and C show the same result', async () => {
    const onB = await attach([B.client], 'b1');
    const onC = await attach([C.client], 'c1');
    const agentIds = [onB.id, onC.id];
    // A learns of them by gossip only.
    await waitFor('A knows both agents', async () => ((await Promise.all(agentIds.map((id) => A.client.agent(id)))).every((a: AgentView) => a.active) ? true : undefined));

    const task = await submitter().submitTask(taskSpec({ overlap: 2 }));
    expect(task.home).toBe(A.nodeId);
    const [onA, onB2, onC2] = await sameEverywhere(task.id, [A, B, C]);
    expect(onA!.status).toBe('validated');
    expect(onA!.result?.text).toBe('42\n');
    expect(onA!.assignments.map((a) => a.agentId).sort()).toEqual([...agentIds].sort());
    expect(onB2!.home).toBe(A.nodeId);
    expect(onC2!.decider).toBeUndefined();
    // Each agent was served by its own hub, and ran its replica once.
    expect(onB.grants.map((g) => g.body.taskId)).toEqual([task.id]);
    expect(onC.grants.map((g) => g.body.taskId)).toEqual([task.id]);
    // Trust moved once, the same everywhere: +0.1 for agreeing.
    const trust = await trustOn(A, agentIds);
    expect(Object.values(trust)).toEqual([5.1, 5.1]);
    await waitFor('trust the same on B and C', async () => {
      const [b, c] = await Promise.all([trustOn(B, agentIds), trustOn(C, agentIds)]);
      return JSON.stringify(b) === JSON.stringify(trust) && JSON.stringify(c) === JSON.stringify(trust) ? true : undefined;
    });
    // A's own network has no agent and this one task; the federation's, three hubs and both agents.
    const network = expectStatus('GET /v1/network', await A.client.get<NetworkView>('/v1/network'), 200);
    expect(network.agents.total).toBe(0);
    expect(network.tasks.validated).toBe(1);
    expect(network.federation).toMatchObject({ hubs: 3, agents: { active: 2, total: 2 }, tasks: { validated: 1 } });
    expect(network.federation!.resources.total).toEqual({ cpu: 8, ramGb: 16 });
  }, 60_000);

  it('shows a task that waits for agents with the status its home shows, on every hub', async () => {
    // No agent has 48 cores: the task waits on A, past validation, in A's queue or out of it.
    const task = await submitter().submitTask(taskSpec({ cpu: 48, overlap: 1, command: ['echo', 'waits'] }));
    const onA = await A.client.waitForTask(task.id, (t) => t.status === 'pending' || t.status === 'in_queue', { timeoutMs: 30_000 });
    await waitFor('B and C show the status A shows', async () => {
      const [a, b, c] = await Promise.all([A, B, C].map((h) => h.client.task(task.id)));
      return a!.status === b!.status && a!.status === c!.status ? a : undefined;
    });
    expect(['pending', 'in_queue']).toContain(onA.status);
  }, 60_000);

  it('answers a hub started without --listen: it runs alone', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'dcloud-fed-alone-'));
    const alone = await startHubProcess({ dataDir, args: ['--tick-ms', '50'] });
    try {
      const client = new HubClient(alone.url);
      const answer = await client.get<{ error: { code: string } }>('/v1/federation');
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('FEDERATION_OFF');
      expect(expectStatus('GET /v1/network', await client.get<NetworkView>('/v1/network'), 200).federation).toBeUndefined();
    } finally {
      await alone.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 30_000);

  it('refuses a forged result and a forged decision gossiped by a rogue peer, and nothing changes', async () => {
    // A task decided by A, and one no agent can run (64 cores): it waits on A, undecided.
    await attach([B.client], 'b-rogue');
    const decided = (await sameEverywhere((await submitter().submitTask(taskSpec({ command: ['echo', 'decided'] }))).id, hubs))[0]!;
    const waiting = await submitter().submitTask(taskSpec({ cpu: 64, overlap: 1, command: ['echo', 'waiting'] }));
    // Known everywhere, waiting everywhere as on A (past validation).
    const waits = (t: TaskView) => t.status === 'pending' || t.status === 'in_queue';
    await waitFor('the waiting task known everywhere', async () => ((await Promise.all(hubs.map((h) => h.client.task(waiting.id)))).every(waits) ? true : undefined));
    const agentIds = decided.assignments.map((a) => a.agentId);
    const snapshot = async () =>
      Promise.all(
        hubs.map(async (h) => ({
          // (pending and in_queue: the same wait, the home's scheduler moves it in and out of its active queue)
          tasks: (await Promise.all([waiting.id, decided.id].map((id) => h.client.task(id)))).map((t) => ({
            ...outcome(t),
            status: t.status === 'in_queue' ? 'pending' : t.status,
            round: t.round,
            assignments: t.assignments.length,
          })),
          trust: await trustOn(h, agentIds),
        })),
      );
    const before = await snapshot();

    const rogue: TestHub = await startTestHub('rogue', { bootstrap: [A.address], syncIntervalMs: 60_000 });
    try {
      await waitFor('the rogue connected to A', async () => (rogue.fed.info().peers.some((p) => p.status === 'connected' && p.hub) ? true : undefined));
      await sleep(1500); // A's gossip subscription reaches the rogue
      // A result for a replica another agent was given, signed by a key of the rogue's.
      const impostor = new TestAgent(A.client, { name: 'impostor' });
      const assignment = decided.assignments[0]!;
      const forgedResult = impostor.resultEnvelope({ assignmentId: assignment.id, taskId: decided.id }, { stdout: 'evil\n', exitCode: 0 });
      await rogue.fed.publish(forgedResult);
      // A decision on A's waiting task, signed by the rogue: validated, with trust handed out.
      await rogue.fed.originate('decision', {
        taskId: waiting.id,
        outcome: 'validated',
        policy: 'trust-sum',
        digest: digestOf(0, 'evil\n'),
        score: 1,
        results: [impostor.resultEnvelope({ assignmentId: assignment.id, taskId: waiting.id }, { stdout: 'evil\n', exitCode: 0 })],
        trust: [{ agent: impostor.id, before: 5, after: 10 }],
      });
      // A refused both (the peer that sent them is counted), and forwarded neither.
      await waitFor('A refused the rogue twice', async () => {
        const peer = (await federation(A.client)).peers.find((p) => p.peerId === rogue.fed.peerId);
        return peer !== undefined && peer.rejected >= 2 ? peer : undefined;
      });
      await sleep(1500); // a sync round: nothing sneaks in through anti-entropy either
      expect(await snapshot()).toEqual(before);
      expect((await A.client.get(`/v1/agents/${impostor.id}`)).status).toBe(404);
    } finally {
      await rogue.destroy();
    }
  }, 60_000);

  it('never assigns a task beyond its overlap count when the same agents are reachable through several hubs', async () => {
    const both = await Promise.all([0, 1, 2].map((i) => attach([B.client, C.client], `bc${i}`)));
    await waitFor('A knows the agents reachable through B and C', async () => ((await Promise.all(both.map((w) => A.client.agent(w.id)))).every((a) => a.active) ? true : undefined));
    // Two tasks per home, submitted at once: three deciders plan over the same agents.
    const ids = (
      await Promise.all(
        hubs.flatMap((h) => [0, 1].map((i) => new TestAgent(h.client, { name: 'submitter' }).submitTask(taskSpec({ overlap: 2, command: ['echo', `42 ${h.name}${i}`] })))),
      )
    ).map((t) => t.id);
    for (const id of ids) await sameEverywhere(id, hubs);

    for (const id of ids) {
      const views = await Promise.all(hubs.map((h) => h.client.task(id)));
      const sets = views.map((v) => v.assignments.map((a) => a.id).sort());
      // Every hub knows exactly the assignments its decider made.
      expect(sets[1]).toEqual(sets[0]);
      expect(sets[2]).toEqual(sets[0]);
      const byRound = Map.groupBy(views[0]!.assignments, (a) => a.round);
      for (const round of byRound.values()) {
        // A seat freed (an agent that missed its heartbeat timeout on a loaded machine, a failed
        // run) is given again; never more than the overlap at once.
        const seated = round.filter((a) => a.status !== 'expired' && a.status !== 'failed');
        expect(seated.length).toBeLessThanOrEqual(2);
        expect(new Set(round.map((a) => a.agentId)).size).toBe(round.length);
      }
    }
    // An agent asking both of its hubs got each replica it holds under one id: never a second one.
    for (const worker of [...both, ...workers]) {
      const perTask = Map.groupBy(worker.grants, (g) => g.body.taskId);
      for (const grants of perTask.values()) expect(new Set(grants.map((g) => g.body.assignmentId)).size).toBe(1);
    }
  }, 60_000);

  it('runs a task whose image needs registry credentials only on agents of its home, which holds them', async () => {
    // An agent with room to spare, registered with B and C (and those of the tests before): none may run it.
    const elsewhere = await attach([B.client, C.client], 'bc-private');
    await waitFor('A knows the agent', async () => ((await A.client.agent(elsewhere.id)).active ? true : undefined));
    const task = await submitter().submitTask(taskSpec({ image: PRIVATE_IMAGE, privateRegistry: true, command: ['echo', '42 private'] }), { ...privateRegistryAuth });
    const waiting = await A.client.waitForTask(task.id, (t) => t.status === 'in_queue' || t.status === 'pending', { timeoutMs: 30_000 });
    expect(waiting.assignments).toEqual([]);
    expect(waiting.reason).toMatch(/0 agents are eligible/);
    const own = await attach([A.client], 'a1');
    const [onA] = await sameEverywhere(task.id, hubs);
    expect(onA!.status).toBe('validated');
    expect(onA!.assignments.map((a) => a.agentId)).toEqual([own.id]);
    expect(own.grants.map((g) => [g.body.taskId, g.credentials])).toEqual([[task.id, true]]);
    for (const w of workers) if (w !== own) expect(w.grants.some((g) => g.body.taskId === task.id)).toBe(false);
  }, 60_000);

  it('catches a hub up after it was stopped while tasks flowed: same tasks, decisions and trust, no manual step', async () => {
    // Agents that stay reachable while B is away (those attached to B only are not).
    await Promise.all([attach([C.client], 'c-stays-1'), attach([C.client], 'c-stays-2')]);
    const port = B.process.port;
    expect(await B.process.stop()).toBe(0);
    const away = Date.now();
    const ids: string[] = [];
    // Ten seconds away (more than ten sync intervals); tasks submitted to A and C meanwhile.
    while (Date.now() - away < 10_000) {
      const home = ids.length % 2 === 0 ? A : C;
      ids.push((await new TestAgent(home.client, { name: 'submitter' }).submitTask(taskSpec({ overlap: 2, timeoutS: 5, command: ['echo', `42 #${ids.length}`] }))).id);
      await sleep(1500);
    }
    for (const id of ids) await sameEverywhere(id, [A, C]);

    const restarted = await startHub('B', [A.address], B);
    expect(restarted.process.port).toBe(port);
    // Same HTTP port: its agents find it where it was.
    hubs[1] = B = restarted;
    for (const id of ids) await sameEverywhere(id, hubs);

    // Every agent's trust (and record) the same on the three hubs.
    const agentIds = workers.map((w) => w.id);
    const trust = await trustOn(A, agentIds);
    await waitFor('trust converged', async () => {
      const views = await Promise.all(hubs.map((h) => trustOn(h, agentIds)));
      return views.every((v) => JSON.stringify(v) === JSON.stringify(trust)) ? true : undefined;
    });
    // The same tasks; those decided, decided alike (one still waits for agents it will never get).
    const listed = async (h: Hub) => (await h.client.get<{ tasks: TaskView[] }>('/v1/tasks?limit=1000')).body.tasks.map((t) => `${t.id}:${t.status === 'validated' ? t.result?.digest : 'open'}`).sort();
    expect(await listed(B)).toEqual(await listed(A));
  }, 90_000);
});

describe('a home hub that dies', () => {
  // Hubs of their own: those above heard a rogue peer once, and a hub heard once stays a member
  // (hub/federated/fence.ts federationMembers), so two of them alone would be half of four.
  const trio: Hub[] = [];

  afterAll(async () => {
    await removeHubs(trio);
  });

  it('still decides a task whose home was killed right after accepting it', async () => {
    const home = await startHub('D', []);
    trio.push(home);
    trio.push(...(await Promise.all([startHub('E', [home.address]), startHub('F', [home.address])])));
    await federated(trio);
    const [, E, F] = trio as [Hub, Hub, Hub];
    const survivors = await Promise.all([attach([E.client], 'e-survives'), attach([F.client], 'f-survives')]);
    await waitFor('D knows the agents', async () => ((await Promise.all(survivors.map((w) => home.client.agent(w.id)))).every((a) => a.active) ? true : undefined));
    const task = await new TestAgent(home.client, { name: 'submitter' }).submitTask(taskSpec({ overlap: 2, command: ['echo', '42 orphan'] }));
    await home.process.kill();
    const successor = [E, F].sort((x, y) => (x.nodeId < y.nodeId ? -1 : 1))[0]!;
    const [onE, onF] = await sameEverywhere(task.id, [E, F]);
    expect(onE!.status).toBe('validated');
    expect(onE!.result?.text).toBe('42 orphan\n');
    expect(onE!.home).toBe(home.nodeId);
    expect(onE!.decider).toBe(successor.nodeId);
    expect(onF!.decider).toBe(successor.nodeId);
  }, 120_000);
});
