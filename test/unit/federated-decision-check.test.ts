// A decision another hub made, rechecked from its evidence alone: the engine's own decisions pass,
// every kind of forgery or inconsistency is refused, missing evidence is asked for again.
import { describe, expect, it } from 'vitest';
import { assignmentIdOf } from '../../hub/engine.ts';
import { checkDecision, type DecisionEvidence } from '../../hub/federated/decision-check.ts';
import { decisionEntry, imageInvalidEntry, roundFailedEntry } from '../../hub/federated/entries.ts';
import { createSigner, generateKeyPair, type Signer, Verifier } from '../../keys/index.ts';
import { digestOf, type Envelope, type MessageBody, seal } from '../../protocol/index.ts';
import { type Assignment, collectVotes, DEFAULT_PARAMS, validationPolicy } from '../../src/core/index.ts';
import { makeTask } from './core-fixtures.ts';

const params = DEFAULT_PARAMS;
const policy = validationPolicy(params);
const verifier = new Verifier();
const TASK_ID = 'ab'.repeat(32);
const task = makeTask({ id: TASK_ID, status: 'in_progress', round: 1, spec: { overlap: 3 } });
const agents = [0, 1, 2].map(() => createSigner(generateKeyPair()));
const outsider = createSigner(generateKeyPair());

function assignmentOf(agent: Signer): Assignment {
  return { id: assignmentIdOf(TASK_ID, 1, agent.nodeId), taskId: TASK_ID, agentId: agent.nodeId, round: 1, status: 'reported', issuedAt: 1, deadline: 2, reserved: { cpu: 1, ramGb: 1 } };
}
const assignments = new Map(agents.map((a) => [assignmentOf(a).id, assignmentOf(a)]));

function result(agent: Signer, stdout: string, assignment = assignmentOf(agent)): Envelope {
  return seal('result', { assignmentId: assignment.id, taskId: TASK_ID, outcome: 'ok', exitCode: 0, digest: digestOf(0, stdout), stdout: Buffer.from(stdout).toString('base64'), stderr: '', truncated: false, durationMs: 3 }, agent);
}

/** The decision the engine writes (hub/engine-rounds.ts decide) for these outputs and trusts. */
function engineDecision(outputs: string[], trust: number[]): MessageBody<'decision'> {
  const reported = agents.map((a, i) => ({ ...assignmentOf(a), digest: digestOf(0, outputs[i]!), result: result(a, outputs[i]!) }));
  const votes = collectVotes(reported, (id) => trust[agents.findIndex((a) => a.nodeId === id)]!);
  const decision = policy.decide(votes, { task, currentTrust: (id) => trust[agents.findIndex((a) => a.nodeId === id)] });
  return { ...decisionEntry(TASK_ID, policy.name, decision, reported, votes), seq: 1 };
}

function check(body: MessageBody<'decision'>, known = assignments) {
  const evidence: DecisionEvidence = { task, body, assignment: (id) => known.get(id), verifier, params, policy };
  return checkDecision(evidence);
}

describe('rechecking a federated decision', () => {
  it('accepts what the engine decides: a validated vote and a failed one', () => {
    const validated = engineDecision(['42\n', '42\n', 'evil\n'], [5, 5, 5]);
    expect(validated.outcome).toBe('validated');
    expect(check(validated)).toMatchObject({ kind: 'ok' });
    const failed = engineDecision(['1\n', '2\n', '3\n'], [5, 5, 5]);
    expect(failed.outcome).toBe('failed');
    expect(check(failed)).toMatchObject({ kind: 'ok' });
    expect(check({ ...roundFailedEntry(task, []), seq: 2 })).toMatchObject({ kind: 'ok' });
    expect(check({ ...imageInvalidEntry(TASK_ID), seq: 3 })).toMatchObject({ kind: 'ok' });
  });

  it('refuses a result whose signature does not verify', () => {
    const body = engineDecision(['42\n', '42\n', '42\n'], [5, 5, 5]);
    const tampered = { ...body.results[0]!, sig: body.results[0]!.sig.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
    expect(check({ ...body, results: [tampered, ...body.results.slice(1)] })).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/does not verify/) });
  });

  it('refuses a result signed by another key than the assigned agent\'s', () => {
    const body = engineDecision(['42\n', '42\n', '42\n'], [5, 5, 5]);
    const forged = result(outsider, '42\n', assignmentOf(agents[0]!));
    expect(check({ ...body, results: [forged, ...body.results.slice(1)] })).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/not by the agent its assignment named/) });
  });

  it('refuses a result whose digest is not that of its output', () => {
    const body = engineDecision(['42\n', '42\n', '42\n'], [5, 5, 5]);
    const a = assignmentOf(agents[0]!);
    const lying = seal('result', { assignmentId: a.id, taskId: TASK_ID, outcome: 'ok', exitCode: 0, digest: digestOf(0, '42\n'), stdout: Buffer.from('evil\n').toString('base64'), stderr: '', truncated: false, durationMs: 1 }, agents[0]!);
    expect(check({ ...body, results: [lying, ...body.results.slice(1)] })).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/digest does not match/) });
  });

  it('refuses a decision the votes do not give: another digest, another outcome, another score', () => {
    const body = engineDecision(['42\n', '42\n', 'evil\n'], [5, 5, 5]);
    expect(check({ ...body, digest: digestOf(0, 'evil\n') })).toMatchObject({ kind: 'reject' });
    const tie = engineDecision(['1\n', '2\n', '3\n'], [5, 5, 5]);
    expect(check({ ...tie, outcome: 'validated', digest: digestOf(0, '1\n') })).toMatchObject({ kind: 'reject' });
    expect(check({ ...body, score: 0.9 })).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/score/) });
    // Two of three votes where the task's overlap is three.
    const short = { ...body, results: body.results.slice(0, 2), trust: body.trust.slice(0, 2) };
    expect(check(short)).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/overlap/) });
  });

  it('refuses trust that does not move as the policy moves it', () => {
    const body = engineDecision(['42\n', '42\n', 'evil\n'], [5, 5, 5]);
    const inflated = body.trust.map((t, i) => (i === 0 ? { ...t, after: 10 } : t));
    expect(check({ ...body, trust: inflated })).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/which the policy does not do/) });
    const spared = body.trust.map((t, i) => (i === 2 ? { ...t, after: t.before } : t));
    expect(check({ ...body, trust: spared })).toMatchObject({ kind: 'reject' });
    const stranger = [...body.trust, { agent: outsider.nodeId, before: 5, after: 5.1 }];
    expect(check({ ...body, trust: stranger })).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/did not vote/) });
    const failed = engineDecision(['1\n', '2\n', '3\n'], [5, 5, 5]);
    expect(check({ ...failed, trust: failed.trust.map((t) => ({ ...t, after: t.before + 1 })) })).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/failed decision moved/) });
    expect(check({ ...imageInvalidEntry(TASK_ID), seq: 1, trust: [{ agent: agents[0]!.nodeId, before: 5, after: 6 }] })).toMatchObject({ kind: 'reject' });
  });

  it('replays the vote at the trust each voter had, which may differ from this hub\'s', () => {
    // The thesis' Table 6.1 weights: 14.0 for "42" against 9.0 for "evil" with three low-trust voters.
    const body = engineDecision(['42\n', '42\n', 'evil\n'], [7, 7, 3]);
    expect(check(body)).toMatchObject({ kind: 'ok' });
    expect(check({ ...body, trust: body.trust.map((t) => ({ ...t, before: 5 })) })).toMatchObject({ kind: 'reject' });
  });

  it('refuses another validation policy than the federation\'s', () => {
    expect(check({ ...engineDecision(['42\n', '42\n', '42\n'], [5, 5, 5]), policy: 'whatever' })).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/policy/) });
  });

  it('asks again later when an assignment it cites is not known yet', () => {
    const body = engineDecision(['42\n', '42\n', '42\n'], [5, 5, 5]);
    const partial = new Map([...assignments].slice(1));
    expect(check(body, partial)).toMatchObject({ kind: 'retry' });
  });
});
