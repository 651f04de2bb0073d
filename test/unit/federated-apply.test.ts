// How a hub follows the tasks other hubs decide, on a real engine state: the decider's word on a
// waiting task's status, and a claim that voids the verdict of the hub it outranks.
import { describe, expect, it } from 'vitest';
import { EngineState, Transaction } from '../../hub/engine-state.ts';
import type { RoundContext } from '../../hub/engine-rounds.ts';
import { acceptDecider, applyLogEntry, applyStatus, voidedBy } from '../../hub/federated/apply.ts';
import { Verifier } from '../../keys/index.ts';
import type { Opened } from '../../protocol/envelope.ts';
import { DEFAULT_PARAMS, type Task, validationPolicy } from '../../src/core/index.ts';
import { makeAgent, makeTask } from './core-fixtures.ts';

const [A, B, C] = ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)] as const;

/** Hub B's state, holding `tasks` (home A) and `agents`. */
function stateOf(tasks: Task[], agents = [makeAgent({ id: 'x' })]): EngineState {
  const state = new EngineState(DEFAULT_PARAMS);
  state.selfId = B;
  state.federated = true;
  for (const a of agents) state.putAgent(a);
  for (const t of tasks) state.putTask(t);
  return state;
}

function run<T>(state: EngineState, change: (ctx: RoundContext) => T): T {
  return change({ state, tx: new Transaction(state), params: DEFAULT_PARAMS, policy: validationPolicy(DEFAULT_PARAMS), now: 1000 });
}

describe('the decider\'s word on a waiting task', () => {
  it('moves the task here to the status its decider shows, for the round it names', () => {
    const state = stateOf([makeTask({ id: 't1', home: A, status: 'validating' })]);
    expect(run(state, (ctx) => applyStatus(ctx, A, { tasks: [{ taskId: 't1', status: 'in_queue', round: 0 }], seq: 3 }))).toBe('accept');
    expect(state.tasks.get('t1')!.status).toBe('in_queue');
    expect(state.tasks.get('t1')!.transitions.map((t) => t.status)).toEqual(['validating', 'pending', 'in_queue']);
    expect(run(state, (ctx) => applyStatus(ctx, A, { tasks: [{ taskId: 't1', status: 'pending', round: 0 }], seq: 4 }))).toBe('accept');
    expect(state.tasks.get('t1')!.status).toBe('pending');
    // Another round's word, the same status again: no change.
    for (const [from, status, round] of [[A, 'in_queue', 1], [A, 'pending', 0]] as const) {
      expect(run(state, (ctx) => applyStatus(ctx, from, { tasks: [{ taskId: 't1', status, round }], seq: 5 }))).toBe('ignore');
    }
    expect(state.tasks.get('t1')!.status).toBe('pending');
    // This hub never plans another hub's task, whatever its status.
    expect(state.backlog.size).toBe(0);
  });

  it('never moves a task that runs or is decided', () => {
    const state = stateOf([makeTask({ id: 'run', home: A, status: 'in_progress', round: 1 }), makeTask({ id: 'done', home: A, status: 'validated', round: 1 })]);
    const body = { tasks: [{ taskId: 'run', status: 'pending' as const, round: 1 }, { taskId: 'done', status: 'in_queue' as const, round: 1 }], seq: 9 };
    expect(run(state, (ctx) => applyStatus(ctx, A, body))).toBe('ignore');
    expect(state.tasks.get('run')!.status).toBe('in_progress');
  });

  it('retries a word on a task not known here yet (its announcement is on its way), applying the rest', () => {
    const state = stateOf([makeTask({ id: 't1', home: A, status: 'pending' })]);
    const body = { tasks: [{ taskId: 't1', status: 'in_queue' as const, round: 0 }, { taskId: 'unknown', status: 'pending' as const, round: 0 }], seq: 9 };
    expect(run(state, (ctx) => applyStatus(ctx, A, body))).toBe('retry');
    expect(state.tasks.get('t1')!.status).toBe('in_queue');
  });
});

describe('a claim logged at takeover (a task.status of a hub that outranks the decider)', () => {
  it('makes its signer the decider at once, whatever the status it names; a claim the decider outranks is ignored', () => {
    const state = stateOf([makeTask({ id: 'run', home: A, status: 'in_progress', round: 1 }), makeTask({ id: 'wait', home: A, status: 'pending', round: 0 })]);
    expect(run(state, (ctx) => applyStatus(ctx, C, { tasks: [{ taskId: 'run', status: 'in_progress', round: 1 }], seq: 2 }))).toBe('accept');
    expect(state.tasks.get('run')).toMatchObject({ decider: C, status: 'in_progress', round: 1 });
    // A waiting task claimed: the claimant's word on its status applies too.
    expect(run(state, (ctx) => applyStatus(ctx, C, { tasks: [{ taskId: 'wait', status: 'in_queue', round: 0 }], seq: 3 }))).toBe('accept');
    expect(state.tasks.get('wait')).toMatchObject({ decider: C, status: 'in_queue' });
    // The home's late word, once C decides: no effect.
    expect(run(state, (ctx) => applyStatus(ctx, A, { tasks: [{ taskId: 'wait', status: 'pending', round: 0 }], seq: 9 }))).toBe('ignore');
    expect(state.tasks.get('wait')).toMatchObject({ decider: C, status: 'in_queue' });
  });

  it('voids a verdict the home reached meanwhile, through the same rule as a claimant\'s assignment', () => {
    const validated = makeTask({ id: 't2', home: A, status: 'validated', round: 1, result: { digest: 'd'.repeat(64), stdout: '', exitCode: 0 }, trustScore: 10 });
    const state = stateOf([validated], [makeAgent({ id: 'x', trust: 5.1 })]);
    const voided = { taskId: 't2', seq: 7, outcome: 'validated' as const, policy: 'trust-sum', digest: 'd'.repeat(64), score: 1, results: [], trust: [{ agent: 'x', before: 5, after: 5.1 }] };
    const claim = { type: 'task.status', nodeId: C, body: { tasks: [{ taskId: 't2', status: 'in_progress', round: 1 }], seq: 4 } } as unknown as Opened;
    expect(voidedBy(state, claim)).toEqual([{ taskId: 't2', loser: A }]);
    expect(run(state, (ctx) => applyLogEntry(ctx, claim, { verifier: new Verifier(), policy: validationPolicy(DEFAULT_PARAMS), voided: (id) => (id === 't2' ? voided : undefined) }))).toBe('accept');
    expect(state.tasks.get('t2')).toMatchObject({ decider: C, status: 'in_progress' });
    expect(state.agents.get('x')!.trust).toBeCloseTo(5);
    expect(voidedBy(state, claim)).toEqual([]);
  });
});

describe('a claim that outranks the decider', () => {
  it('voids the loser\'s verdict: its trust steps are taken back and the task is reopened for the winner', () => {
    const validated = makeTask({ id: 't2', home: A, status: 'validated', round: 1, result: { digest: 'd'.repeat(64), stdout: '', exitCode: 0 }, trustScore: 10 });
    const state = stateOf([validated], [makeAgent({ id: 'x', trust: 5.1 }), makeAgent({ id: 'y', trust: 4.9 })]);
    const voided = { taskId: 't2', seq: 7, outcome: 'validated' as const, policy: 'trust-sum', digest: 'd'.repeat(64), score: 1, results: [], trust: [{ agent: 'x', before: 5, after: 5.1 }, { agent: 'y', before: 5, after: 4.9 }] };
    run(state, (ctx) => acceptDecider(ctx, 't2', C, voided));
    const task = state.tasks.get('t2')!;
    expect(task.decider).toBe(C);
    expect(task.status).toBe('in_progress');
    expect(task.result).toBeUndefined();
    expect(state.agents.get('x')!.trust).toBeCloseTo(5);
    expect(state.agents.get('y')!.trust).toBeCloseTo(5);
  });

  it('only changes the decider of a task still open', () => {
    const state = stateOf([makeTask({ id: 't3', home: A, status: 'in_progress', round: 1 })], [makeAgent({ id: 'x', trust: 6 })]);
    run(state, (ctx) => acceptDecider(ctx, 't3', C, undefined));
    expect(state.tasks.get('t3')).toMatchObject({ decider: C, status: 'in_progress' });
    expect(state.agents.get('x')!.trust).toBe(6);
  });
});
