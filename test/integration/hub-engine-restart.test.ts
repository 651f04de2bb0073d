import { afterEach, describe, expect, it } from 'vitest';
import { HubStore } from '../../hub/store.ts';
import type { Task } from '../../src/core/model.ts';
import { PRIVATE_IMAGE, privateRegistryAuth } from '../support/env.ts';
import { Agent, type Hub, settled, spec, startHub, statuses, Submitter } from './hub-engine-harness.ts';

// Close and reopen the engine on the same data dir, in-process. (Killing a hub process with
// SIGKILL is tested over HTTP, with real processes, in hub-crash.test.ts.)

let hub: Hub;
afterEach(async () => {
  await hub?.dispose();
});

const agent = (name: string) => new Agent(() => hub, name);

describe('restarting the engine on the same data dir', () => {
  it('keeps its identity, every task, agent and assignment, and finishes the rounds it had open', async () => {
    hub = await startHub();
    const identity = hub.engine.identity;
    const [a, b] = [agent('a'), agent('b')];
    await a.register();
    await b.register();
    const submitter = new Submitter(hub);
    const done = await submitter.submit(spec({ description: 'done' }));
    await hub.engine.tick();
    const doneGrant = await (hub.engine.getTask(done.id)!.assignments[0]!.agentId === a.id ? a : b).take();
    await (doneGrant.body.agent === a.id ? a : b).report(doneGrant, '42\n');
    const open = await submitter.submit(spec({ overlap: 2, description: 'open' }));
    const bad = await submitter.submit(spec({ image: 'dcloud-test/absent:1' }));
    await hub.engine.tick();
    const grantA = await a.take();
    await a.report(grantA, '7\n');
    const grantB = await b.take(); // running when the hub stops
    const waiting = await submitter.submit(spec({ cpu: 64 }));
    await hub.engine.tick();

    const before = {
      tasks: hub.engine.listTasks({}),
      agents: [hub.engine.getAgent(a.id), hub.engine.getAgent(b.id)],
      network: hub.engine.network(),
    };
    expect(before.agents[1]!.reserved).toEqual({ cpu: 1, ramGb: 0.5 });

    hub = await hub.restart();
    expect(hub.engine.identity).toEqual(identity);
    expect(hub.engine.listTasks({})).toEqual(before.tasks);
    expect([hub.engine.getAgent(a.id), hub.engine.getAgent(b.id)]).toEqual(before.agents);
    expect(hub.engine.network()).toEqual(before.network);
    expect(hub.engine.getTask(bad.id)!.status).toBe('invalid');
    expect(hub.engine.getTask(waiting.id)!.reason).toBe('no registered agent has 64 CPU cores and 0.5 GB RAM in total (largest: 4 CPU cores, 8 GB)');

    // The agent that was running its assignment answers the new process; the round is decided
    // with the result the previous process received.
    const { task } = await b.report(grantB, '7\n');
    expect(task.status).toBe('validated');
    expect(task.result?.text).toBe('7\n');
    expect(statuses(task).slice(-2)).toEqual(['completed', 'validated']);
    // +0.1 for each accepted result: both agents agreed on `open`, one of them ran `done` alone.
    expect(hub.engine.getAgent(a.id)!.trust).toBe(doneGrant.body.agent === a.id ? 5.2 : 5.1);
    expect(hub.engine.getAgent(b.id)!.trust).toBe(doneGrant.body.agent === b.id ? 5.2 : 5.1);
    expect(hub.engine.getAgent(b.id)!.reserved).toEqual({ cpu: 0, ramGb: 0 });
    // Nothing is handed out twice.
    expect(await a.requestWork()).toBeNull();
    expect(await b.requestWork()).toBeNull();
    expect(open.id).toBe(task.id);
  });

  it('does not blame agents for heartbeats it was down to miss: assignments stay valid until their deadline', async () => {
    hub = await startHub();
    const worker = agent('worker');
    await worker.register();
    const task = await new Submitter(hub).submit(spec({ timeoutS: 600 }));
    await hub.engine.tick();
    const grant = await worker.take();

    await hub.engine.stop();
    hub.clock.advance(5 * 60_000); // down for five minutes, longer than agents may stay silent
    hub = await hub.restart();
    expect(await hub.engine.tick()).toMatchObject({ deactivated: 0, expired: 0 });
    expect(hub.engine.getAgent(worker.id)!.active).toBe(true);
    expect((await worker.report(grant, '42\n')).task.status).toBe('validated');

    // From the restart on, silence counts again.
    hub.clock.advance(121_000);
    expect(await hub.engine.tick()).toMatchObject({ deactivated: 1 });
    expect(hub.engine.getTask(task.id)!.status).toBe('validated');
  });

  it('validates again a task a crash left in `validating`', async () => {
    hub = await startHub();
    const submitter = new Submitter(hub);
    const envelope = submitter.envelope(spec({ description: 'accepted' }));
    const { task: accepted } = await hub.engine.submitTask(envelope);
    await settled(hub, accepted.id);
    await hub.engine.stop();

    // What the store holds when the process died between accepting a task and validating it.
    const now = hub.clock.now;
    const stuck: Task = {
      id: 'a'.repeat(64),
      submitter: submitter.signer.nodeId,
      spec: spec({ description: 'stuck' }),
      status: 'validating',
      submittedAt: now,
      transitions: [{ status: 'validating', at: now }],
      staleness: 0,
      round: 0,
      assignments: [],
      home: accepted.home,
    };
    const store = await HubStore.open(hub.dataDir);
    await store.commit({ tasks: [stuck] });
    await store.close();

    hub = await hub.restart();
    const validated = await settled(hub, stuck.id);
    expect(validated.status).toBe('pending');
    expect(statuses(validated)).toEqual(['validating', 'pending']);
    // The task accepted before the stop is there, once: sending it again changes nothing.
    expect((await hub.engine.submitTask(envelope)).created).toBe(false);
    expect(hub.engine.listTasks({}).map((t) => t.id).sort()).toEqual([accepted.id, stuck.id].sort());
  });

  it('keeps registry credentials across a restart for the assigned agent, and forgets them once the task is done', async () => {
    hub = await startHub();
    const task = await new Submitter(hub).submit(spec({ image: PRIVATE_IMAGE, privateRegistry: true }), { ...privateRegistryAuth });
    expect(task.status).toBe('pending');
    hub = await hub.restart();
    const worker = agent('worker');
    await worker.register();
    await hub.engine.tick();
    const grant = await worker.take();
    expect(grant.grant.registryAuth).toEqual(privateRegistryAuth);
    expect((await worker.report(grant, '42\n')).task.status).toBe('validated');

    await hub.engine.stop();
    const store = await HubStore.open(hub.dataDir);
    const stored = await store.load();
    await store.close();
    expect(stored.credentials.size).toBe(0);
    expect(JSON.stringify(stored)).not.toContain(privateRegistryAuth.password);
  });
});
