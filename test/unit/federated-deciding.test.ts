// The engine's steps around deciding, shared by the hub and the simulated federated hub: a result
// taken in, a task taken over (its claim logged at once), deciding resumed.
import { describe, expect, it } from 'vitest';
import { checkDigest } from '../../hub/engine.ts';
import { assignmentIdOf, recordResultIn, resultIntake, type RoundContext } from '../../hub/engine-rounds.ts';
import { EngineState, Transaction } from '../../hub/engine-state.ts';
import { adoptTask, resumeRounds } from '../../hub/federated/deciding.ts';
import { createSigner, keyPairFromSeed, Verifier } from '../../keys/index.ts';
import { digestOf } from '../../protocol/digest.ts';
import { open, type Opened, seal } from '../../protocol/envelope.ts';
import { type Assignment, DEFAULT_PARAMS, type Task, validationPolicy } from '../../src/core/index.ts';
import { makeAgent, makeTask } from './core-fixtures.ts';

const [A, B] = ['a'.repeat(32), 'b'.repeat(32)] as const;
const signers = [1, 2, 3].map((i) => createSigner(keyPairFromSeed(Buffer.alloc(32, i))));
const verifier = new Verifier();
/** Task ids are content ids (64 hex digits). */
const T = (name: string): string => Buffer.from(name).toString('hex').padEnd(64, '0');

/** Hub B's state, federated, with three agents and `tasks`, each in round 1 on the first two agents. */
function hubB(tasks: Task[]): EngineState {
  const state = new EngineState(DEFAULT_PARAMS);
  state.selfId = B;
  state.federated = true;
  for (const s of signers) state.putAgent(makeAgent({ id: s.nodeId, publicKey: s.publicKeyHex }));
  for (const t of tasks) {
    const ids = signers.slice(0, 2).map((s) => assignmentIdOf(t.id, 1, s.nodeId));
    for (const [i, id] of ids.entries()) {
      const a: Assignment = { id, taskId: t.id, agentId: signers[i]!.nodeId, round: 1, status: 'running', issuedAt: 0, deadline: 1e12, reserved: { cpu: 1, ramGb: 1 } };
      state.putAssignment(a);
    }
    state.putTask({ ...t, status: 'in_progress', round: 1, assignments: ids, spec: { ...t.spec, overlap: 2 } });
  }
  return state;
}

function transact<T>(state: EngineState, change: (ctx: RoundContext) => T): { value: T; tx: Transaction } {
  const tx = new Transaction(state);
  const value = change({ state, tx, params: DEFAULT_PARAMS, policy: validationPolicy(DEFAULT_PARAMS), now: 5000 });
  return { value, tx };
}

function resultOf(agent: number, taskId: string, stdout = 'forty-two\n'): Opened<'result'> {
  const out = Buffer.from(stdout);
  const body = { assignmentId: assignmentIdOf(taskId, 1, signers[agent]!.nodeId), taskId, outcome: 'ok' as const, exitCode: 0, digest: digestOf(0, out), stdout: out.toString('base64'), stderr: '', truncated: false, durationMs: 1 };
  return open(seal('result', body, signers[agent]!), { verifier, expect: ['result'] });
}

describe('result intake', () => {
  it('records an open assignment\'s result and settles its round; tells a duplicate, a conflict, a forgery and the unknown apart', () => {
    const state = hubB([makeTask({ id: T('t1'), home: B })]);
    const first = resultOf(0, T('t1'));
    expect(resultIntake(state, first, checkDigest).kind).toBe('open');
    const { tx } = transact(state, (ctx) => recordResultIn(ctx, state.assignments.get(first.body.assignmentId)!, first));
    expect(tx.results).toHaveLength(1);
    expect(state.assignments.get(first.body.assignmentId)!.status).toBe('reported');
    expect(resultIntake(state, first, checkDigest).kind).toBe('duplicate');
    expect(resultIntake(state, resultOf(0, T('t1'), 'other\n'), checkDigest).kind).toBe('conflict');
    const forged = open(seal('result', { ...resultOf(1, T('t1')).body }, signers[2]!), { verifier, expect: ['result'] });
    expect(resultIntake(state, forged, checkDigest).kind).toBe('not-yours');
    expect(resultIntake(state, resultOf(0, T('nope')), checkDigest).kind).toBe('unknown');
    // The second replica's result ends the round: the task is decided here, its home.
    const second = resultOf(1, T('t1'));
    transact(state, (ctx) => recordResultIn(ctx, state.assignments.get(second.body.assignmentId)!, second));
    expect(state.tasks.get(T('t1'))!.status).toBe('validated');
  });
});

describe('taking a task over', () => {
  it('makes this hub the decider, logs the claim ahead of the decision, and settles the round with the results it holds', () => {
    const state = hubB([makeTask({ id: T('t1'), home: A })]);
    // Both results arrived here (gossiped) while A decided: recorded, not decided.
    for (const r of [resultOf(0, T('t1')), resultOf(1, T('t1'))]) transact(state, (ctx) => recordResultIn(ctx, state.assignments.get(r.body.assignmentId)!, r));
    expect(state.tasks.get(T('t1'))!.status).toBe('in_progress');
    const { value, tx } = transact(state, (ctx) => adoptTask(ctx, T('t1')));
    expect(value).toBe(true);
    expect(state.tasks.get(T('t1'))).toMatchObject({ decider: B, status: 'validated' });
    expect(tx.changes().outbox!.map((o) => o.item.type)).toEqual(['task.status', 'decision']);
    expect(tx.changes().outbox![0]!.item.body).toEqual({ tasks: [{ taskId: T('t1'), status: 'in_progress', round: 1 }] });
  });

  it('logs the claim even when there is nothing to decide yet (the replicas still run)', () => {
    const state = hubB([makeTask({ id: T('t1'), home: A })]);
    const { value, tx } = transact(state, (ctx) => adoptTask(ctx, T('t1')));
    expect(value).toBe(true);
    expect(tx.changes().outbox!.map((o) => o.item.type)).toEqual(['task.status']);
  });

  it('takes nothing it decides already, nothing ended, nothing unknown, and nothing while it holds', () => {
    const state = hubB([makeTask({ id: T('mine'), home: B }), makeTask({ id: T('theirs'), home: A })]);
    state.putTask({ ...makeTask({ id: T('done'), home: A }), status: 'validated' });
    for (const id of [T('mine'), T('done'), T('unknown')]) expect(transact(state, (ctx) => adoptTask(ctx, id)).value).toBe(false);
    state.deciding = false;
    expect(transact(state, (ctx) => adoptTask(ctx, T('theirs'))).value).toBe(false);
  });
});

describe('resuming', () => {
  it('settles the rounds of the tasks this hub decides with the results that arrived while it held, and names those still to validate', () => {
    const state = hubB([makeTask({ id: T('mine'), home: B }), makeTask({ id: T('theirs'), home: A })]);
    state.putTask(makeTask({ id: T('new'), home: B, status: 'validating' }));
    state.deciding = false;
    for (const id of [T('mine'), T('theirs')]) for (const r of [resultOf(0, id), resultOf(1, id)]) transact(state, (ctx) => recordResultIn(ctx, state.assignments.get(r.body.assignmentId)!, r));
    expect(state.tasks.get(T('mine'))!.status).toBe('in_progress'); // held
    state.deciding = true;
    const { value } = transact(state, (ctx) => resumeRounds(ctx));
    expect(value).toEqual([T('new')]);
    expect(state.tasks.get(T('mine'))!.status).toBe('validated');
    expect(state.tasks.get(T('theirs'))!.status).toBe('in_progress'); // A decides it
  });
});
