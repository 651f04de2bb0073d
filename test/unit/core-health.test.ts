import { describe, expect, it } from 'vitest';
import {
  afterFailedRound,
  type Assignment,
  type AssignmentStatus,
  collectVotes,
  DEFAULT_PARAMS,
  findExpiredAssignments,
  findInactiveAgents,
  mergeParams,
  MAX_EXPIRIES_PER_REPLICA,
  recordAssignments,
  roundOutcome,
  type Task,
  transition,
  trustSumPolicy,
} from '../../src/core/index.ts';
import { makeAgent, makeTask } from './core-fixtures.ts';

const params = DEFAULT_PARAMS;

function assignment(agentId: string, status: AssignmentStatus, fields: Partial<Assignment> = {}): Assignment {
  return {
    id: `${agentId}-${status}`,
    taskId: 't1',
    agentId,
    round: 1,
    status,
    issuedAt: 0,
    deadline: 100,
    reserved: { cpu: 1, ramGb: 1 },
    ...fields,
  };
}

describe('health', () => {
  it('finds active agents silent for longer than inactiveAfterMs', () => {
    const agents = [
      makeAgent({ id: 'fresh', lastHeartbeat: 100_000 }),
      makeAgent({ id: 'edge', lastHeartbeat: 80_000 }),
      makeAgent({ id: 'silent', lastHeartbeat: 79_999 }),
      makeAgent({ id: 'already', lastHeartbeat: 0, active: false }),
    ];
    expect(findInactiveAgents(agents, 200_000, params).map((a) => a.id)).toEqual(['silent']);
  });

  it('finds open assignments past their deadline', () => {
    const all = [
      assignment('a', 'assigned', { deadline: 50 }),
      assignment('b', 'running', { deadline: 99 }),
      assignment('c', 'running', { deadline: 100 }),
      assignment('d', 'reported', { deadline: 10, digest: 'x' }),
      assignment('e', 'failed', { deadline: 10 }),
    ];
    expect(findExpiredAssignments(all, 100).map((a) => a.agentId)).toEqual(['a', 'b']);
  });
});

describe('roundOutcome', () => {
  const task = makeTask({ id: 't1', status: 'in_progress', round: 1, spec: { overlap: 3 } });

  it('waits while open replicas can still complete the overlap', () => {
    const outcome = roundOutcome(task, [assignment('a', 'reported', { digest: 'x' }), assignment('b', 'running'), assignment('c', 'assigned')]);
    expect(outcome).toEqual({ kind: 'waiting', open: 2, reported: 1 });
  });

  it('decides once overlap replicas reported a digest, ignoring other rounds and cancelled ones', () => {
    const reported = ['a', 'b', 'c'].map((id) => assignment(id, 'reported', { digest: 'x' }));
    const outcome = roundOutcome(task, [...reported, assignment('old', 'reported', { round: 0, digest: 'y' }), assignment('z', 'cancelled')]);
    expect(outcome).toEqual({ kind: 'decide', reported });
  });

  it('asks for replacements when replicas are lost, instead of waiting forever in completed', () => {
    const outcome = roundOutcome(task, [
      assignment('a', 'reported', { digest: 'x' }),
      assignment('b', 'expired'),
      assignment('c', 'reported', { digest: null }),
    ]);
    expect(outcome).toEqual({ kind: 'needs-replicas', missing: 2, lost: 2 });
    expect(roundOutcome(task, [])).toEqual({ kind: 'needs-replicas', missing: 3, lost: 0 });
  });

  it('fails the round once as many replicas failed as the overlap count', () => {
    const outcome = roundOutcome(task, [assignment('a', 'failed'), assignment('b', 'reported', { digest: null }), assignment('c', 'failed'), assignment('d', 'running')]);
    expect(outcome).toMatchObject({ kind: 'failed', lost: 3 });
  });

  it('replaces replicas lost to silent agents without failing the round, up to a bound', () => {
    const single = { ...task, spec: { ...task.spec, overlap: 1 } };
    expect(roundOutcome(single, [assignment('a', 'expired')])).toEqual({ kind: 'needs-replicas', missing: 1, lost: 1 });
    const expiries = Array.from({ length: MAX_EXPIRIES_PER_REPLICA }, (_, i) => assignment(`e${i}`, 'expired'));
    expect(roundOutcome(single, expiries)).toMatchObject({ kind: 'failed', lost: MAX_EXPIRIES_PER_REPLICA });
  });
});

describe('afterFailedRound', () => {
  it('sends the task back to pending with staleness + 1', () => {
    const task = makeTask({ status: 'in_progress', round: 1, assignments: ['x'] });
    const next = afterFailedRound(task, 10, params, 'no consensus');
    expect(next).toMatchObject({ status: 'pending', staleness: 1, assignments: [], round: 1 });
    expect(next.transitions.slice(-2).map((t) => t.status)).toEqual(['failed', 'pending']);
    expect(next.reason).toMatch(/no consensus/);
  });

  it('ends retries: a task whose consensus always fails is abandoned after 5 failed rounds', () => {
    const policy = trustSumPolicy(params);
    const agents = ['a', 'b'];
    let task: Task = makeTask({ id: 't1', status: 'pending', spec: { overlap: 2 } });
    let rounds = 0;
    while (task.status !== 'abandoned') {
      expect(rounds).toBeLessThan(10);
      task = recordAssignments(task, agents.map((a) => `${a}-${task.round + 1}`), rounds);
      // Two agents of equal trust always disagree: no consensus.
      const assignments = agents.map((agentId, i) => assignment(agentId, 'reported', { round: task.round, digest: `d${i}` }));
      const outcome = roundOutcome(task, assignments);
      if (outcome.kind !== 'decide') throw new Error(`expected a decision, got ${outcome.kind}`);
      task = transition(task, 'completed', rounds);
      const decision = policy.decide(collectVotes(outcome.reported, () => 5));
      expect(decision.outcome).toBe('failed');
      task = afterFailedRound(task, rounds, params, decision.reason);
      rounds += 1;
    }
    expect(rounds).toBe(5);
    expect(task.staleness).toBe(5);
    expect(task.reason).toMatch(/^abandoned after 5 failed rounds/);
    expect(() => transition(task, 'pending', 99)).toThrow();
  });

  it('follows the configured ceiling', () => {
    const strict = mergeParams({ scheduling: { stalePenalty: 25, staleCeiling: 50 } });
    const once = afterFailedRound(makeTask({ status: 'failed' }), 1, strict);
    expect(once.status).toBe('pending');
    const twice = afterFailedRound(recordAssignments(once, ['x'], 2), 2, strict);
    expect(twice.status).toBe('abandoned');
  });
});
