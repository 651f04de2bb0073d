import type { Envelope, Resources, TaskSpecBody } from '../../protocol/messages.ts';

/**
 * The plain data every side shares: the hub stores it, the simulator fabricates it, the pure
 * functions of src/core decide over it. No classes, no I/O: values in, values out.
 */

/**
 * The thesis' Table 5.1 states, plus `abandoned`: a task that failed until its staleness reached
 * the ceiling (the thesis "cancels and removes" it; we keep it, terminal, with the reason).
 */
export type TaskStatus =
  | 'validating'
  | 'pending'
  | 'invalid'
  | 'in_queue'
  | 'in_progress'
  | 'completed'
  | 'validated'
  | 'failed'
  | 'abandoned';

export interface Transition {
  status: TaskStatus;
  /** ms since the epoch (virtual ms in the simulator). */
  at: number;
  reason?: string;
}

export interface TaskResult {
  digest: string;
  /** base64 of the (capped) stdout agreed on. */
  stdout: string;
  exitCode: number | null;
}

export interface Task {
  /** Content id of the submitter's signed spec envelope. */
  id: string;
  /** Node id of the submitter's key. */
  submitter: string;
  spec: TaskSpecBody;
  status: TaskStatus;
  submittedAt: number;
  transitions: Transition[];
  /** Failures so far (the thesis' staleCounter). */
  staleness: number;
  /** Consensus rounds started (1 on the first assignment). */
  round: number;
  /** Assignment ids of the current round. */
  assignments: string[];
  /**
   * Replicas the current round needs, when the validation policy sets it (a credibility policy
   * starts small and asks for more: replication.ts); `spec.overlap` when absent.
   */
  replicas?: number;
  result?: TaskResult;
  /** 0-10, one decimal: the winning share of the deciding weight, times ten. */
  trustScore?: number;
  /** Why the task is invalid, failed, abandoned, or not running yet. */
  reason?: string;
  /** Node id of the hub that decides this task. */
  home: string;
  /** Node id of the hub that took the task over when its home fell silent (docs/FEDERATION.md); `home` decides when absent. */
  decider?: string;
  /**
   * A known-answer task the hub made itself (spot-check.ts), not a user's: `known` is the digest
   * an honest agent reports. Never shown among users' tasks, never federated.
   */
  spotCheck?: { known: string };
  /** The decisions taken on it so far, oldest first (what its view shows). */
  decisions?: TaskDecision[];
}

/** One vote of a decision as it is kept: each voter's weight at decision time. */
export interface DecisionVoter {
  agentId: string;
  /** Its trust when it voted. */
  trust: number;
  /** Credibility policy: the probability that its result is right, from its verified record then. */
  credibility?: number;
  /** Credibility policy: its log-odds (re-examining the decision needs them: spot-check.ts dependentDecisions). */
  logOdds?: number;
}

/** A decision on a task, kept on the task for its view and for later re-examination. */
export interface TaskDecision {
  round: number;
  at: number;
  /** The validation policy that decided (`spot-check`: judged against the known answer). */
  policy: string;
  outcome: 'validated' | 'failed' | 'undecided';
  digest: string | null;
  score: number;
  reason: string;
  /** Groups of agreeing votes, strongest first. */
  votes: Array<{ digest: string; voters: DecisionVoter[] }>;
  /** Set when an agent whose vote this acceptance needed was later caught lying. */
  disputed?: { agentId: string; at: number; reason: string };
}

export type AssignmentStatus =
  | 'assigned' // handed to the scheduler's chosen agent, not yet fetched
  | 'running' // fetched by the agent
  | 'reported' // a signed result arrived
  | 'failed' // the agent reported a failure (pull, start, timeout...)
  | 'expired' // no answer before the deadline, or the agent went inactive
  | 'cancelled'; // the task was decided without it

export interface Vote {
  agentId: string;
  /** null when the agent reported a failure instead of an output. */
  digest: string | null;
  /** The agent's trust when it voted. */
  trust: number;
}

export interface Assignment {
  id: string;
  taskId: string;
  agentId: string;
  round: number;
  status: AssignmentStatus;
  issuedAt: number;
  deadline: number;
  /** Resources reserved on the agent while the assignment is open. */
  reserved: Resources;
  reason?: string;
  /** The agent's signed result, kept so any hub can recheck the decision. */
  result?: Envelope;
  digest?: string | null;
}

export interface AgentStats {
  valid: number;
  invalid: number;
  /** Valid results in a row since the last invalid one (adaptive replication, BOINC). */
  consecutiveValid: number;
  /** Known-answer tasks (spot-checks) answered right. */
  spotChecksPassed?: number;
  /** Known-answer tasks answered wrong: a proven liar, with no influence and no more work (spot-check.ts). */
  spotChecksFailed?: number;
  /**
   * The hub's operator vouches for this agent (track-record.ts, vouchFor): true while its record
   * is the operator's grant, false once it lost that grant with a wrong result (never given back
   * to this key); absent for every other agent.
   */
  vouched?: boolean;
}

export interface Agent {
  id: string;
  publicKey: string;
  name: string;
  total: Resources;
  /** Free resources the agent last reported (capped by its owner). */
  free: Resources;
  /** Resources the hub has reserved for open assignments on this agent. */
  reserved: Resources;
  trust: number;
  active: boolean;
  registeredAt: number;
  lastHeartbeat: number;
  /** Network address block the agent registered from (placement diversity). */
  addressBlock?: string;
  stats: AgentStats;
  /** Registered but not yet approved by the hub's operator: it gets no work until then. */
  pending?: boolean;
}
