// A decision made by the credibility policy, rechecked by another hub from its evidence: the
// voters' records (partly earned on spot-checks no other hub sees) travel as stated log-odds, and
// the vote is replayed with them; everything a checker can recompute must agree.
import { describe, expect, it } from 'vitest';
import { assignmentIdOf } from '../../hub/engine.ts';
import { checkDecision } from '../../hub/federated/decision-check.ts';
import { decisionEntry } from '../../hub/federated/entries.ts';
import { createSigner, generateKeyPair, type Signer, Verifier } from '../../keys/index.ts';
import { digestOf, type Envelope, type MessageBody, seal } from '../../protocol/index.ts';
import { type Assignment, collectVotes, mergeParams, validationPolicy } from '../../src/core/index.ts';
import { makeAgent, makeTask } from './core-fixtures.ts';

const params = mergeParams({ validation: { policy: 'credibility' } });
const policy = validationPolicy(params);
const verifier = new Verifier();
const TASK_ID = 'cd'.repeat(32);
const task = makeTask({ id: TASK_ID, status: 'in_progress', round: 1, spec: { overlap: 1 } });
const signers = [0, 1].map(() => createSigner(generateKeyPair()));

function assignmentOf(agent: Signer): Assignment {
  return { id: assignmentIdOf(TASK_ID, 1, agent.nodeId), taskId: TASK_ID, agentId: agent.nodeId, round: 1, status: 'reported', issuedAt: 1, deadline: 2, reserved: { cpu: 1, ramGb: 1 } };
}
const assignments = new Map(signers.map((a) => [assignmentOf(a).id, assignmentOf(a)]));

function result(agent: Signer, stdout: string): Envelope {
  const a = assignmentOf(agent);
  return seal('result', { assignmentId: a.id, taskId: TASK_ID, outcome: 'ok', exitCode: 0, digest: digestOf(0, stdout), stdout: Buffer.from(stdout).toString('base64'), stderr: '', truncated: false, durationMs: 3 }, agent);
}

/** What the engine logs for these voters (records) and outputs. */
function decided(records: number[], outputs: string[]): MessageBody<'decision'> {
  const voters = signers.slice(0, records.length);
  const agents = new Map(voters.map((s, i) => [s.nodeId, makeAgent({ id: s.nodeId, trust: 5, stats: { valid: records[i]!, invalid: 0, consecutiveValid: records[i]! } })]));
  const reported = voters.map((s, i) => ({ ...assignmentOf(s), digest: digestOf(0, outputs[i]!), result: result(s, outputs[i]!) }));
  const votes = collectVotes(reported, () => 5);
  const decision = policy.decide(votes, { task, agent: (id) => agents.get(id), random: () => 0.99 });
  return { ...decisionEntry(TASK_ID, policy.name, decision, reported, votes), seq: 1 };
}

const check = (body: MessageBody<'decision'>) => checkDecision({ task, body, assignment: (id) => assignments.get(id), verifier, params, policy });

describe('rechecking a credibility decision', () => {
  it('replays it from the stated log-odds: two records that together reach 1 - epsilon', () => {
    const body = decided([7, 7], ['42\n', '42\n']);
    expect(body.outcome).toBe('validated');
    expect(body.credibility).toHaveLength(2);
    expect(check(body)).toMatchObject({ kind: 'ok' });
  });

  it('accepts a result that stood on one long record (not cross-checked), with no trust gained', () => {
    const body = decided([14], ['42\n']);
    expect(body.outcome).toBe('validated');
    expect(body.trust[0]!.after).toBe(body.trust[0]!.before);
    expect(check(body)).toEqual({ kind: 'ok', results: expect.anything() });
  });

  it('refuses weights that do not give the decision, or that no record can give, or that are missing', () => {
    const body = decided([7, 7], ['42\n', '42\n']);
    const weaker = body.credibility!.map((c, i) => (i === 0 ? { ...c, logOdds: c.logOdds / 2 } : c));
    expect(check({ ...body, credibility: weaker })).toMatchObject({ kind: 'reject' });
    const huge = body.credibility!.map((c) => ({ ...c, logOdds: 1000 }));
    expect(check({ ...body, credibility: huge })).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/beyond what a record can give/) });
    const { credibility: _dropped, ...bare } = body;
    expect(check(bare)).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/weight of every voter/) });
    expect(check({ ...body, score: 0.5 })).toMatchObject({ kind: 'reject', reason: expect.stringMatching(/score/) });
  });
});
