import type { Verifier } from '../../keys/verifier.ts';
import { type Opened, open } from '../../protocol/envelope.ts';
import { DcloudError } from '../../protocol/errors.ts';
import type { MessageBody } from '../../protocol/messages.ts';
import { type Agent, type Assignment, type CoreParams, penalizeTrust, rewardTrust, type Task, type ValidationPolicy, type Vote } from '../../src/core/index.ts';
import { checkDigest } from '../engine.ts';
import { VERDICT_POLICIES } from './entries.ts';

/**
 * Rechecks a decision another hub made, from its evidence alone (DESIGN 6: "the others can check
 * every decision because results are signed"): each result verifies, was signed by the agent the
 * task's assignment named, and carries a digest that matches its output; the votes, replayed at
 * the trust the decision says each voter had, give the decision's outcome, digest and score under
 * this hub's validation policy; and each voter's trust moves exactly as the policy moves it.
 *
 * Pure: the caller gives the task and its assignments as this hub knows them.
 */

export interface DecisionEvidence {
  task: Task;
  body: MessageBody<'decision'>;
  /** The assignments this hub knows, by id (the decider's log entries, synced before its decision). */
  assignment(id: string): Assignment | undefined;
  verifier: Verifier;
  params: CoreParams;
  /** This hub's validation policy: a federation runs one. */
  policy: ValidationPolicy;
}

export type DecisionCheck =
  | { kind: 'ok'; results: Array<Opened<'result'>> }
  /** Forged or inconsistent: refused for good, and its sender penalised. */
  | { kind: 'reject'; reason: string }
  /** Evidence this hub does not hold yet (an assignment still on its way): ask again later. */
  | { kind: 'retry'; reason: string };

/**
 * Policies a checker replays: trust-sum from the votes and their trust alone; credibility from the
 * votes and the log-odds the decision states for each voter (a voter's record is earned partly on
 * spot-checks, which stay on the hub that made them, so no other hub can know it: the stated
 * weights are taken as given, and the random cross-check draw is taken as "not drawn", since a
 * decision that says `validated` was not cross-checked).
 */
const REPLAYABLE = new Set(['trust-sum', 'credibility']);
/** A draw in [0, 1) above every cross-check probability below 1: the replay's "not cross-checked". */
const NOT_DRAWN = () => 1 - Number.EPSILON;
const SCORE_EPSILON = 1e-9;

export function checkDecision(evidence: DecisionEvidence): DecisionCheck {
  const { body, task } = evidence;
  const reject = (reason: string): DecisionCheck => ({ kind: 'reject', reason: `decision on ${task.id.slice(0, 16)}…: ${reason}` });
  if (body.taskId !== task.id) return reject('it names another task');

  const results: Array<Opened<'result'>> = [];
  const agents = new Set<string>();
  for (const [i, envelope] of body.results.entries()) {
    let opened: Opened<'result'>;
    try {
      opened = open(envelope, { verifier: evidence.verifier, expect: ['result'] });
    } catch (err) {
      if (err instanceof DcloudError) return reject(`result ${i} does not verify (${err.code}: ${err.message})`);
      throw err;
    }
    const r = opened.body;
    if (r.taskId !== task.id) return reject(`result ${i} answers another task`);
    if (agents.has(opened.nodeId)) return reject(`agent ${opened.nodeId} is counted twice`);
    agents.add(opened.nodeId);
    const assignment = evidence.assignment(r.assignmentId);
    if (assignment === undefined) return { kind: 'retry', reason: `assignment ${r.assignmentId.slice(0, 16)}… of result ${i} is not known here yet` };
    if (assignment.taskId !== task.id || assignment.agentId !== opened.nodeId) return reject(`result ${i} is signed by ${opened.nodeId}, not by the agent its assignment named`);
    if (r.outcome === 'ok') {
      try {
        checkDigest(r);
      } catch (err) {
        if (err instanceof DcloudError) return reject(`result ${i}: ${err.message}`);
        throw err;
      }
    }
    results.push(opened);
  }

  switch (body.policy) {
    case VERDICT_POLICIES.imageInvalid:
      if (body.outcome !== 'failed' || body.digest !== null || body.results.length > 0 || body.trust.length > 0) return reject('an image verdict carries no vote');
      return { kind: 'ok', results };
    case VERDICT_POLICIES.roundFailed:
      if (body.outcome !== 'failed' || body.digest !== null || body.trust.length > 0) return reject('a round that failed without a vote moves no trust');
      return { kind: 'ok', results };
  }
  const why = checkVote(evidence, results);
  return why === undefined ? { kind: 'ok', results } : reject(why);
}

/** The consensus part: votes, digest counts, score and every trust step. Undefined when it holds. */
function checkVote({ body, task, params, policy }: DecisionEvidence, results: ReadonlyArray<Opened<'result'>>): string | undefined {
  if (body.policy !== policy.name) return `it was decided under policy ${JSON.stringify(body.policy)}; this federation runs ${policy.name}`;
  const trust = new Map<string, { before: number; after: number }>();
  for (const t of body.trust) {
    if (trust.has(t.agent)) return `agent ${t.agent} has two trust changes`;
    if (!(t.before >= params.trust.min && t.before <= params.trust.max)) return `agent ${t.agent} had trust ${t.before}, outside [${params.trust.min}, ${params.trust.max}]`;
    trust.set(t.agent, { before: t.before, after: t.after });
  }
  const votes: Vote[] = [];
  for (const r of results) {
    if (r.body.outcome !== 'ok' || r.body.digest === null) return `agent ${r.nodeId} reported an error, which is no vote`;
    const step = trust.get(r.nodeId);
    if (step === undefined) return `voter ${r.nodeId} has no trust before and after`;
    votes.push({ agentId: r.nodeId, digest: r.body.digest, trust: step.before });
  }
  if (trust.size !== votes.length) return 'it moves the trust of agents that did not vote';
  if (votes.length === 0) return 'a decision without votes';

  if (body.outcome === 'validated') {
    if (body.digest === null || !votes.some((v) => v.digest === body.digest)) return 'its digest is nobody\'s result';
    for (const v of votes) {
      const { before, after } = trust.get(v.agentId)!;
      // An agreeing voter gains the reward (a policy may withhold it from a result that stood on
      // one word alone); a dissenting one always pays the penalty.
      const allowed = v.digest === body.digest ? [before, rewardTrust(before, params.trust)] : [penalizeTrust(before, params.trust)];
      if (!allowed.includes(after)) return `agent ${v.agentId} went from trust ${before} to ${after}, which the policy does not do`;
    }
  } else {
    if (body.digest !== null) return 'a failed decision accepts no digest';
    for (const [agent, { before, after }] of trust) if (before !== after) return `a failed decision moved the trust of ${agent}`;
  }

  if (!REPLAYABLE.has(policy.name)) return undefined;
  let logOdds: Map<string, number> | undefined;
  if (policy.name === 'credibility') {
    // The policy sizes its rounds itself (the overlap is not the count of votes); each voter's weight is stated.
    logOdds = new Map();
    for (const { agent, logOdds: l } of body.credibility ?? []) {
      if (logOdds.has(agent)) return `agent ${agent} has two weights`;
      if (!(l >= 0 && l <= params.credibility.growth * params.credibility.maxRecord + 1e-9)) return `agent ${agent} has log-odds ${l}, beyond what a record can give`;
      logOdds.set(agent, l);
    }
    if (logOdds.size !== votes.length || votes.some((v) => !logOdds?.has(v.agentId))) return 'a credibility decision states the weight of every voter, and of nobody else';
  } else if (votes.length < task.spec.overlap) return `${votes.length} votes where the task's overlap is ${task.spec.overlap}`;
  const weights = logOdds;
  // The record behind a stated weight, for the cross-check draw's probability (which reads the run).
  const recordOf = (id: string): Agent | undefined => {
    const l = weights?.get(id);
    if (l === undefined) return undefined;
    const run = Math.round(l / params.credibility.growth);
    return { id, stats: { valid: run, invalid: 0, consecutiveValid: run } } as Agent;
  };
  const replay = policy.decide(votes, {
    task,
    currentTrust: (id) => trust.get(id)?.before,
    ...(weights === undefined ? {} : { logOdds: (id: string) => weights.get(id), agent: recordOf, random: NOT_DRAWN }),
  });
  const outcome = replay.outcome === 'validated' ? 'validated' : 'failed';
  if (outcome !== body.outcome) return `the votes give ${outcome}, the decision says ${body.outcome}`;
  if (outcome === 'validated' && replay.digest !== body.digest) return 'the votes accept another digest';
  if (Math.abs(replay.score - body.score) > SCORE_EPSILON) return `the votes give score ${replay.score}, the decision says ${body.score}`;
  for (const change of replay.trustChanges) {
    if (trust.get(change.agentId)?.after !== change.after) return `agent ${change.agentId} should have trust ${change.after} after it`;
  }
  return undefined;
}
