// A home hub that stays alive but is cut off from the others for longer than the lease: it stops
// deciding at once (it has no quorum), the others take its tasks over and decide them. However long
// the cut lasts, the home never counts the others as gone (out of quorum, it retires no member): it
// decides nothing on its side, though its own agents post their answers to it. Once the cut is lifted, it learns of the claims and
// follows them: every task was decided once, by the claimant, and trust is the same everywhere.
// Three hub processes on 127.0.0.1; the cut is the bridge's cut switch (libp2p refuses every peer).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskView } from '../../hub/engine-types.ts';
import {
  attach,
  cut,
  FED_ARGS,
  federated,
  federationView,
  type FedHub,
  removeHubs,
  sameEverywhere,
  startFedHub,
  trustOn,
  waitFor,
  type Worker,
} from '../support/federation-hubs.ts';
import { TestAgent, taskSpec } from '../support/test-agent.ts';

let A: FedHub;
let B: FedHub;
let C: FedHub;
const hubs: FedHub[] = [];
const workers: Worker[] = [];

beforeAll(async () => {
  A = await startFedHub('A', [], FED_ARGS);
  [B, C] = await Promise.all([startFedHub('B', [A.address], FED_ARGS), startFedHub('C', [A.address], FED_ARGS)]);
  hubs.push(A, B, C);
  await federated(hubs);
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await removeHubs(hubs);
});

/** How often the task became validated on a hub: once, unless a verdict was voided there. */
const timesValidated = (t: TaskView) => t.transitions.filter((s) => s.status === 'validated').length;

describe('a home cut off for longer than the lease', () => {
  it('stops deciding; the others take its tasks over; after the cut every hub agrees on every decision and on trust', async () => {
    // X1 and X2 are reachable through A only; Y through B, Z through C.
    const [x1, x2, y, z] = await Promise.all([attach([A.client], 'x1'), attach([A.client], 'x2'), attach([B.client], 'y'), attach([C.client], 'z')]);
    workers.push(x1, x2, y, z);
    const agentIds = workers.map((w) => w.id);
    for (const hub of hubs) await waitFor(`${hub.name} knows the agents`, async () => ((await Promise.all(agentIds.map((id) => hub.client.agent(id)))).every((a) => a.active) ? true : undefined));

    // Three tasks of A's, each given to two agents, whose answers are held back until A is cut off.
    for (const w of workers) w.held = true;
    const submitter = new TestAgent(A.client, { name: 'submitter' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await submitter.submitTask(taskSpec({ overlap: 2, timeoutS: 60, command: ['echo', `42 fenced ${i}`] }))).id);
    for (const hub of hubs) {
      for (const id of ids) await waitFor(`${hub.name} sees ${id.slice(0, 8)} running on two agents`, async () => ((await hub.client.task(id)).assignments.length === 2 ? true : undefined));
    }

    await cut(A, true);
    // Out of quorum, A stops deciding at once, long before the others take over.
    await waitFor('A stops deciding', async () => ((await federationView(A.client)).deciding ? undefined : true), 10_000);
    // A task submitted to A while it is cut off: nobody else knows of it yet, A does not schedule it.
    const late = (await submitter.submitTask(taskSpec({ overlap: 2, timeoutS: 60, command: ['echo', '42 late'] }))).id;
    for (const w of workers) w.held = false;

    // B and C take A's tasks over (the lower of the two) and decide them with Y and Z.
    const successor = [B, C].sort((p, q) => (p.nodeId < q.nodeId ? -1 : 1))[0]!;
    for (const id of ids) {
      const [onB] = await sameEverywhere(id, [B, C]);
      expect(onB!.status).toBe('validated');
      expect(onB!.decider).toBe(successor.nodeId);
    }
    // Whatever answers X1 and X2 post to A, A decides nothing, however long it stays cut off (out of
    // quorum, it retires no member): three more leases here.
    for (let leases = 0; leases < 3; leases++) {
      for (const id of [...ids, late]) expect((await A.client.task(id)).status).not.toBe('validated');
      expect((await federationView(A.client)).deciding).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }

    await cut(A, false);
    for (const id of ids) {
      const views = await sameEverywhere(id, hubs);
      // Decided once, by the claimant, on every hub: A learnt of the claim before deciding again.
      for (const view of views) expect(view.decider).toBe(successor.nodeId);
      expect(views.map(timesValidated)).toEqual([1, 1, 1]);
    }
    // The task A took in while cut off is announced after the cut, and decided by A.
    const [lateOnA] = await sameEverywhere(late, hubs);
    expect(lateOnA!.status).toBe('validated');
    expect(lateOnA!.decider).toBeUndefined();

    // Trust: the same on every hub (the claimant's steps for the cut tasks, A's for the late one).
    const trust = await trustOn(B, agentIds);
    await waitFor('trust the same on every hub', async () => {
      const views = await Promise.all(hubs.map((h) => trustOn(h, agentIds)));
      return views.every((v) => JSON.stringify(v) === JSON.stringify(trust)) ? true : undefined;
    });
  }, 150_000);
});
