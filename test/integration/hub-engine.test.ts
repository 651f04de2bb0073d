import { afterEach, describe, expect, it } from 'vitest';
import { AgentInactiveError, AgentNotRegisteredError, AssignmentClosedError, AssignmentNotFoundError, BadAddressError, NotYourAssignmentError, ResultConflictError, ResultInvalidError, ResultMismatchError } from '../../hub/errors.ts';
import type { HubEvent } from '../../hub/engine-types.ts';
import { digestOf, EnvelopeError, seal } from '../../protocol/index.ts';
import { expectRejection } from '../support/expect-error.ts';
import { OPEN_IMAGE, OPEN_REGISTRY, PRIVATE_IMAGE, privateRegistryAuth, REGISTRY_PASSWORD } from '../support/env.ts';
import { Agent, type Hub, spec, startHub, statuses, Submitter } from './hub-engine-harness.ts';

let hub: Hub;
afterEach(async () => {
  await hub?.dispose();
});

function agent(name: string, resources?: { cpu: number; ramGb: number }): Agent {
  return new Agent(() => hub, name, resources);
}

describe('the task lifecycle (thesis Table 5.1)', () => {
  it('goes validating -> pending -> in_queue -> in_progress -> completed -> validated', async () => {
    hub = await startHub();
    const worker = agent('worker');
    const { agent: registered, created } = await worker.register();
    expect(created).toBe(true);
    expect(registered.trust).toBe(5);
    const submitter = new Submitter(hub);
    const pending = await submitter.submit(spec());
    expect(pending.status).toBe('pending');
    expect(pending.submitter).toBe(submitter.signer.nodeId);
    expect(pending.home).toBe(hub.engine.identity.nodeId);

    const report = await hub.engine.tick();
    expect(report.assigned).toBe(1);
    const running = hub.engine.getTask(pending.id)!;
    expect(running.status).toBe('in_progress');
    expect(running.round).toBe(1);
    expect(running.assignments).toMatchObject([{ agentId: worker.id, status: 'assigned', round: 1 }]);
    expect(hub.engine.getAgent(worker.id)!.reserved).toEqual({ cpu: 1, ramGb: 0.5 });

    const grant = await worker.take();
    expect(grant.body).toMatchObject({ taskId: pending.id, agent: worker.id, spec: { image: spec().image, command: ['echo', '42'], cpu: 1, ramGb: 0.5, timeoutS: 60 } });
    expect(grant.body.deadline).toBeGreaterThan(grant.body.issuedAt);
    expect(grant.grant.registryAuth).toBeUndefined();
    expect(hub.engine.getTask(pending.id)!.assignments[0]!.status).toBe('running');
    expect(await worker.requestWork()).toBeNull();

    const { duplicate, task } = await worker.report(grant, '42\n');
    expect(duplicate).toBe(false);
    expect(task.status).toBe('validated');
    expect(statuses(task)).toEqual(['validating', 'pending', 'in_queue', 'in_progress', 'completed', 'validated']);
    expect(task.result).toMatchObject({ text: '42\n', exitCode: 0, stdout: Buffer.from('42\n').toString('base64') });
    expect(task.trustScore).toBe(10);
    const after = hub.engine.getAgent(worker.id)!;
    expect(after.trust).toBe(5.1);
    expect(after.stats).toEqual({ valid: 1, invalid: 0, consecutiveValid: 1 });
    expect(after.reserved).toEqual({ cpu: 0, ramGb: 0 });
    expect(hub.engine.network().tasks.validated).toBe(1);
  });

  it('makes a task with a missing image invalid, saying why, and never schedules it', async () => {
    hub = await startHub();
    await agent('worker').register();
    const task = await new Submitter(hub).submit(spec({ image: `${OPEN_REGISTRY}/nope:1` }));
    expect(task.status).toBe('invalid');
    expect(task.reason).toBe(`image ${OPEN_REGISTRY}/nope:1 not found in registry ${OPEN_REGISTRY}`);
    expect((await hub.engine.tick()).assigned).toBe(0);
    expect(hub.engine.getTask(task.id)!.assignments).toEqual([]);
  });

  it('validates a private image only with credentials, and hands them to the assigned agent alone', async () => {
    hub = await startHub();
    const events: HubEvent[] = [];
    hub.engine.subscribe((e) => events.push(e));
    const submitter = new Submitter(hub);
    const refused = await submitter.submit(spec({ image: PRIVATE_IMAGE, privateRegistry: true }));
    expect(refused.status).toBe('invalid');
    expect(refused.reason).toBe(`registry 127.0.0.1:5001 requires credentials for ${PRIVATE_IMAGE} and none were given`);
    const wrong = await submitter.submit(spec({ image: PRIVATE_IMAGE, privateRegistry: true, description: 'wrong password' }), { ...privateRegistryAuth, password: 'nope' });
    expect(wrong.reason).toBe(`registry 127.0.0.1:5001 refused the credentials for ${PRIVATE_IMAGE}`);

    const accepted = await submitter.submit(spec({ image: PRIVATE_IMAGE, privateRegistry: true, description: 'right password' }), { ...privateRegistryAuth });
    expect(accepted.status).toBe('pending');
    const [chosen, other] = [agent('chosen'), agent('other')];
    await chosen.register();
    await other.register();
    await hub.engine.tick();
    const assigned = hub.engine.getTask(accepted.id)!.assignments[0]!.agentId;
    const [holder, bystander] = assigned === chosen.id ? [chosen, other] : [other, chosen];
    expect(await bystander.requestWork()).toBeNull();
    const grant = await holder.take();
    expect(grant.grant.registryAuth).toEqual(privateRegistryAuth);

    // Nowhere else: not in views, listings or events.
    const everything = JSON.stringify([hub.engine.listTasks({}), hub.engine.getTask(accepted.id), hub.engine.network(), events]);
    expect(everything).not.toContain(REGISTRY_PASSWORD);
    expect(everything).not.toContain('nope"');
  });

  it('retries a failed round with more staleness, then abandons the task at the ceiling', async () => {
    hub = await startHub();
    const [honest, liar] = [agent('honest'), agent('liar')];
    await honest.register();
    await liar.register();
    const task = await new Submitter(hub).submit(spec({ overlap: 2 }));
    const decisions: HubEvent[] = [];
    hub.engine.subscribe((e) => e.type === 'decision' && decisions.push(e));

    // Equal trust, different answers: a tie is never accepted (5 rounds: ceiling 50 / penalty 10).
    for (let round = 1; round <= 5; round++) {
      expect((await hub.engine.tick()).assigned).toBe(2);
      expect(hub.engine.getTask(task.id)!.round).toBe(round);
      await honest.report(await honest.take(), '42\n');
      const { task: after } = await liar.report(await liar.take(), 'evil\n');
      expect(after.staleness).toBe(round);
      expect(after.status).toBe(round < 5 ? 'pending' : 'abandoned');
    }
    const abandoned = hub.engine.getTask(task.id)!;
    expect(abandoned.reason).toMatch(/^abandoned after 5 failed rounds; last: two results tie/);
    expect(statuses(abandoned).slice(-4)).toEqual(['in_progress', 'completed', 'failed', 'abandoned']);
    expect(decisions).toHaveLength(5);
    expect(decisions.every((d) => d.type === 'decision' && d.outcome === 'failed')).toBe(true);
    // A failed consensus proves nobody wrong: trust did not move.
    expect(hub.engine.getAgent(honest.id)!.trust).toBe(5);
    expect(hub.engine.getAgent(liar.id)!.trust).toBe(5);
    expect((await hub.engine.tick()).assigned).toBe(0);
  });

  it('counts an agent-reported failure as a failed replica, not a vote', async () => {
    hub = await startHub();
    const worker = agent('worker');
    await worker.register();
    const task = await new Submitter(hub).submit(spec());
    await hub.engine.tick();
    const { task: after } = await worker.fail(await worker.take(), 'PULL_FAILED: registry down');
    expect(after.status).toBe('pending');
    expect(after.staleness).toBe(1);
    expect(after.assignments[0]).toMatchObject({ status: 'failed', reason: 'PULL_FAILED: registry down', digest: null });
    expect(hub.engine.getAgent(worker.id)!).toMatchObject({ trust: 5, reserved: { cpu: 0, ramGb: 0 } });
    // Retried in a new round.
    await hub.engine.tick();
    expect(hub.engine.getTask(task.id)).toMatchObject({ status: 'in_progress', round: 2 });
  });

  it('accepts the trust-weighted majority and moves trust both ways (Table 6.1 shape)', async () => {
    hub = await startHub({ params: { validation: { policy: 'trust-sum' }, taskDefaults: { minTrust: 1 } } });
    const agents = [agent('a'), agent('b'), agent('c')];
    for (const a of agents) await a.register();
    const task = await new Submitter(hub).submit(spec({ overlap: 3, minTrust: 1 }));
    await hub.engine.tick();
    const [a, b, c] = agents as [Agent, Agent, Agent];
    await a.report(await a.take(), '42\n');
    await b.report(await b.take(), '42\n');
    const { task: decided } = await c.report(await c.take(), 'evil\n');
    expect(decided.status).toBe('validated');
    expect(decided.trustScore).toBe(6.7);
    expect(decided.result?.text).toBe('42\n');
    expect(hub.engine.getAgent(a.id)!.trust).toBe(5.1);
    expect(hub.engine.getAgent(c.id)!).toMatchObject({ trust: 4.8, stats: { valid: 0, invalid: 1, consecutiveValid: 0 } });
    expect(hub.engine.getTask(task.id)!.assignments.map((x) => x.status)).toEqual(['reported', 'reported', 'reported']);
  });
});

describe('scheduling', () => {
  it('never reserves more than an agent has, with many tasks and few agents', async () => {
    hub = await startHub({ params: { scheduling: { activeQueueSize: 50 } } });
    const agents = [agent('a', { cpu: 2, ramGb: 4 }), agent('b', { cpu: 2, ramGb: 4 }), agent('c', { cpu: 1, ramGb: 1 })];
    for (const a of agents) await a.register();
    const submitter = new Submitter(hub);
    const tasks = [];
    for (let i = 0; i < 12; i++) tasks.push(await submitter.submit(spec({ description: `task ${i}` })));

    for (let pass = 0; pass < 3; pass++) {
      await hub.engine.tick();
      for (const a of agents) {
        const view = hub.engine.getAgent(a.id)!;
        expect(view.reserved.cpu).toBeLessThanOrEqual(view.total.cpu);
        expect(view.reserved.ramGb).toBeLessThanOrEqual(view.total.ramGb);
      }
    }
    const running = tasks.map((t) => hub.engine.getTask(t.id)!).filter((t) => t.status === 'in_progress');
    expect(running).toHaveLength(5);
    const waiting = hub.engine.getTask(tasks.find((t) => !running.some((r) => r.id === t.id))!.id)!;
    expect(waiting.status).toBe('in_queue');
    expect(waiting.reason).toBe('no active agent has 1 free CPU core (largest free: 0)');

    // Capacity freed by a result is used by the next pass.
    const first = agents[0]!;
    await first.report(await first.take(), '42\n');
    expect((await hub.engine.tick()).assigned).toBe(1);
    expect(hub.engine.getAgent(first.id)!.reserved.cpu).toBe(2);
  });

  it('schedules on the free capacity agents report in heartbeats, not on their totals', async () => {
    hub = await startHub();
    const busy = agent('busy', { cpu: 4, ramGb: 8 });
    await busy.register();
    await busy.heartbeat({ cpu: 0.5, ramGb: 8 }); // its owner's own work takes most of it
    const task = await new Submitter(hub).submit(spec({ cpu: 1 }));
    expect((await hub.engine.tick()).assigned).toBe(0);
    expect(hub.engine.getTask(task.id)!.reason).toBe('no active agent has 1 free CPU core (largest free: 0.5)');
    await busy.heartbeat({ cpu: 2, ramGb: 8 });
    expect((await hub.engine.tick()).assigned).toBe(1);
  });

  it('counts only heartbeats as signs of life: results, work requests and re-registration do not', async () => {
    hub = await startHub();
    const worker = agent('worker');
    const { agent: registered } = await worker.register();
    await new Submitter(hub).submit(spec());
    await hub.engine.tick();
    hub.clock.advance(100_000);
    await worker.report(await worker.take(), '42\n'); // moves its trust
    expect(await worker.requestWork()).toBeNull();
    await worker.register();
    const seen = hub.engine.getAgent(worker.id)!;
    expect(seen.trust).toBe(5.1);
    expect(seen.lastHeartbeat).toBe(registered.lastHeartbeat);
    hub.clock.advance(20_001);
    expect((await hub.engine.tick()).deactivated).toBe(1);
    expect(hub.engine.network().agents).toEqual({ active: 0, inactive: 1, total: 1 });
  });

  it('two passes asked for at once never assign the same capacity twice', async () => {
    hub = await startHub();
    await agent('only', { cpu: 1, ramGb: 1 }).register();
    const submitter = new Submitter(hub);
    await submitter.submit(spec({ description: 'one' }));
    await submitter.submit(spec({ description: 'two' }));
    const reports = await Promise.all([hub.engine.tick(), hub.engine.tick(), hub.engine.tick()]);
    expect(reports.reduce((n, r) => n + r.assigned, 0)).toBe(1);
    expect(hub.engine.network().tasks.in_progress).toBe(1);
  });

  it('waits with TOO_FEW_AGENTS for overlap 3 with 2 agents, and starts when a third registers', async () => {
    hub = await startHub();
    await agent('a').register();
    await agent('b').register();
    const task = await new Submitter(hub).submit(spec({ overlap: 3 }));
    await hub.engine.tick();
    const waiting = hub.engine.getTask(task.id)!;
    // It can never run on these agents: parked outside the active queue (core: selectActiveQueue).
    expect(waiting.status).toBe('pending');
    expect(waiting.reason).toBe('2 agents are eligible (active, trust >= 5.0, 1 CPU core and 0.5 GB RAM in total); overlap count needs 3');
    expect(waiting.assignments).toEqual([]);

    await agent('c').register();
    expect((await hub.engine.tick()).assigned).toBe(3);
    const started = hub.engine.getTask(task.id)!;
    expect(started.status).toBe('in_progress');
    expect(started.reason).toBeUndefined();
    expect(new Set(started.assignments.map((a) => a.agentId)).size).toBe(3);
  });

  it('expires the assignments of an agent gone silent and gives the task to another', async () => {
    hub = await startHub();
    const [quiet, alive] = [agent('quiet'), agent('alive', { cpu: 1, ramGb: 1 })];
    await quiet.register();
    const task = await new Submitter(hub).submit(spec());
    await hub.engine.tick();
    await quiet.take();
    await alive.register();

    // Two minutes without a heartbeat from `quiet`; `alive` keeps beating.
    for (let i = 0; i < 5; i++) {
      hub.clock.advance(30_000);
      await alive.heartbeat();
    }
    const report = await hub.engine.tick();
    expect(report).toMatchObject({ deactivated: 1, expired: 1, assigned: 1 });
    expect(hub.engine.getAgent(quiet.id)).toMatchObject({ active: false, reserved: { cpu: 0, ramGb: 0 } });
    const moved = hub.engine.getTask(task.id)!;
    expect(moved.status).toBe('in_progress');
    expect(moved.assignments.map((a) => [a.agentId, a.status])).toEqual([
      [quiet.id, 'expired'],
      [alive.id, 'assigned'],
    ]);
    expect(moved.assignments[0]!.reason).toMatch(/^agent went inactive/);
    await expectRejection(quiet.requestWork(), AgentInactiveError, 'AGENT_INACTIVE');
    const { task: done } = await alive.report(await alive.take(), '42\n');
    expect(done.status).toBe('validated');

    // Only a heartbeat brings an agent back.
    await quiet.heartbeat();
    expect(hub.engine.getAgent(quiet.id)!.active).toBe(true);
  });

  it('expires an unanswered assignment at its deadline and gives the replica to another agent', async () => {
    hub = await startHub({ params: { assignments: { graceMs: 10_000 } } });
    const [worker, other] = [agent('worker'), agent('other')];
    await worker.register();
    const task = await new Submitter(hub).submit(spec({ timeoutS: 30 }));
    await hub.engine.tick();
    const first = await worker.take();
    expect(first.body.deadline - first.body.issuedAt).toBe(40_000);

    hub.clock.advance(40_001);
    await worker.heartbeat();
    await other.register();
    expect((await hub.engine.tick()).expired).toBe(1);
    const again = hub.engine.getTask(task.id)!;
    // A silent agent is not the task's fault: same round, no staleness, the replica goes to another.
    expect(again).toMatchObject({ status: 'in_progress', round: 1, staleness: 0 });
    expect(again.assignments.map((a) => [a.agentId, a.status])).toEqual([
      [worker.id, 'expired'],
      [other.id, 'assigned'],
    ]);
    // The late answer to the expired assignment no longer counts.
    await expectRejection(worker.report(first, '42\n'), AssignmentClosedError, 'ASSIGNMENT_CLOSED');
    const second = await other.take();
    expect(second.body.assignmentId).not.toBe(first.body.assignmentId);
    expect((await other.report(second, '42\n')).task.status).toBe('validated');
  });
});

describe('results that must be refused', () => {
  it('answers every bad result with its own error, and counts a repeated one once', async () => {
    hub = await startHub();
    const [mine, other] = [agent('mine'), agent('other')];
    await mine.register();
    await other.register();
    const submitter = new Submitter(hub);
    const task = await submitter.submit(spec({ overlap: 2 }));
    await hub.engine.tick();
    const grant = await mine.take();
    const ids = { assignmentId: grant.body.assignmentId, taskId: grant.body.taskId };

    await expectRejection(hub.engine.submitResult(other.resultEnvelope(ids, '42\n')), NotYourAssignmentError, 'NOT_YOUR_ASSIGNMENT');
    await expectRejection(hub.engine.submitResult(mine.resultEnvelope({ ...ids, assignmentId: 'f'.repeat(64) }, '42\n')), AssignmentNotFoundError, 'ASSIGNMENT_NOT_FOUND');
    await expectRejection(hub.engine.submitResult(mine.resultEnvelope({ ...ids, taskId: 'e'.repeat(64) }, '42\n')), ResultMismatchError, 'RESULT_MISMATCH');
    // A digest that is not the digest of the stdout it comes with.
    const lie = mine.sealResult({ ...ids, outcome: 'ok', exitCode: 0, digest: digestOf(0, '43\n'), stdout: Buffer.from('42\n').toString('base64'), stderr: '', truncated: false, durationMs: 1 });
    await expectRejection(hub.engine.submitResult(lie), ResultInvalidError, 'RESULT_INVALID');
    const noDigest = mine.sealResult({ ...ids, outcome: 'ok', exitCode: 0, digest: null, stdout: '', stderr: '', truncated: false, durationMs: 1 });
    await expectRejection(hub.engine.submitResult(noDigest), ResultInvalidError, 'RESULT_INVALID');

    const first = await mine.report(grant, '42\n');
    expect(first.duplicate).toBe(false);
    const again = await hub.engine.submitResult(mine.resultEnvelope(ids, '42\n'));
    expect(again.duplicate).toBe(true);
    expect(again.task.assignments.filter((a) => a.status === 'reported')).toHaveLength(1);
    await expectRejection(mine.report(grant, '43\n'), ResultConflictError, 'RESULT_CONFLICT');

    // The round is still open (overlap 2): the first result stands alone until the second comes.
    expect(hub.engine.getTask(task.id)!.status).toBe('in_progress');
    const { task: done } = await other.report(await other.take(), '42\n');
    expect(done.status).toBe('validated');
    expect(hub.engine.getAgent(mine.id)!.stats.valid).toBe(1);
  });
});

describe('ingestion', () => {
  it('refuses what does not come from a registered, active agent, and envelopes that are stale, replayed or misdirected', async () => {
    hub = await startHub();
    const stranger = agent('stranger');
    await expectRejection(stranger.heartbeat(), AgentNotRegisteredError, 'AGENT_NOT_REGISTERED');
    await expectRejection(stranger.requestWork(), AgentNotRegisteredError, 'AGENT_NOT_REGISTERED');
    await expectRejection(stranger.register('not-an-ip'), BadAddressError, 'BAD_ADDRESS');
    expect(hub.engine.getAgent(stranger.id)).toBeUndefined();

    const worker = agent('worker');
    await worker.register();
    const request = worker.workRequest();
    expect(await hub.engine.requestWork(request)).toBeNull();
    await expectRejection(hub.engine.requestWork(request), EnvelopeError, 'ENVELOPE_REPLAYED');
    // A heartbeat is not a work request, whatever the endpoint it is sent to.
    const beat = seal('agent.heartbeat', { total: worker.resources, free: worker.resources, running: [] }, worker.signer, { now: hub.clock.now });
    await expectRejection(hub.engine.requestWork(beat), EnvelopeError, 'ENVELOPE_WRONG_TYPE');
    const old = seal('agent.heartbeat', { total: worker.resources, free: worker.resources, running: [] }, worker.signer, { now: hub.clock.now - 121_000 });
    await expectRejection(hub.engine.heartbeat(old), EnvelopeError, 'ENVELOPE_STALE');
    await expectRejection(hub.engine.submitTask({ payload: '{}', sig: '0'.repeat(128) }), EnvelopeError, 'ENVELOPE_UNKNOWN_TYPE');
  });

  it('updates a re-registered agent without resetting it, and takes a task once however often it is sent', async () => {
    hub = await startHub();
    const worker = agent('worker');
    const first = await worker.register('192.168.7.9');
    hub.clock.advance(1000);
    const again = await hub.engine.registerAgent(seal('agent.register', { name: 'renamed', resources: { cpu: 8, ramGb: 16 }, software: 'test/2' }, worker.signer, { now: hub.clock.now }), { address: '::ffff:192.168.7.10' });
    expect(again.created).toBe(false);
    expect(again.agent).toMatchObject({ name: 'renamed', total: { cpu: 8, ramGb: 16 }, trust: 5, registeredAt: first.agent.registeredAt, lastHeartbeat: first.agent.lastHeartbeat });

    const submitter = new Submitter(hub);
    const envelope = submitter.envelope(spec());
    const created = await hub.engine.submitTask(envelope);
    const repeated = await hub.engine.submitTask(envelope);
    expect(created.created).toBe(true);
    expect(repeated.created).toBe(false);
    expect(repeated.task.id).toBe(created.task.id);
    expect(hub.engine.listTasks({})).toHaveLength(1);
    expect(hub.engine.listTasks({ submitter: submitter.signer.nodeId }).map((t) => t.id)).toEqual([created.task.id]);
    expect(hub.engine.listTasks({ submitter: worker.id })).toEqual([]);
  });

  it('lists tasks newest first, by status and submitter, within the limit', async () => {
    hub = await startHub();
    const submitter = new Submitter(hub);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await submitter.submit(spec({ description: `n${i}` }))).id);
      hub.clock.advance(10);
    }
    const bad = await submitter.submit(spec({ image: `${OPEN_REGISTRY}/nope:1` }));
    expect(hub.engine.listTasks({}).map((t) => t.id)).toEqual([bad.id, ...ids.toReversed()]);
    expect(hub.engine.listTasks({ status: 'pending', limit: 2 }).map((t) => t.id)).toEqual([ids[2], ids[1]]);
    expect(hub.engine.listTasks({ status: 'invalid' }).map((t) => t.id)).toEqual([bad.id]);
    expect(hub.engine.network().tasks).toMatchObject({ pending: 3, invalid: 1, validating: 0 });
  });

  it('validates an image from the open registry', async () => {
    hub = await startHub();
    expect((await new Submitter(hub).submit(spec({ image: OPEN_IMAGE }))).status).toBe('pending');
  });
});
