import type { Envelope, Resources, TaskSpecBody } from '../protocol/messages.ts';
import type { Agent, AssignmentStatus, TaskDecision, TaskResult, TaskStatus, Transition } from '../src/core/model.ts';

/**
 * The contract between the hub's engine (state, store, scheduling loop: hub/engine.ts) and its
 * edges (HTTP API, federation, dashboard). Edges pass signed envelopes in and read views out;
 * every decision is made behind this interface. Errors are DcloudError subclasses whose `status`
 * is the HTTP status to answer with and whose `code` is stable.
 */

/** Private-registry credentials: held in memory and in the hub's store, never echoed, logged or gossiped. */
export interface RegistryAuth {
  username: string;
  password: string;
  /** Registry host, e.g. 127.0.0.1:5001; derived from the image name when omitted. */
  serveraddress?: string;
}

export interface AssignmentView {
  id: string;
  agentId: string;
  round: number;
  status: AssignmentStatus;
  issuedAt: number;
  deadline: number;
  reason?: string;
  digest?: string | null;
}

export interface TaskView {
  id: string;
  submitter: string;
  home: string;
  status: TaskStatus;
  spec: TaskSpecBody;
  submittedAt: number;
  transitions: Transition[];
  staleness: number;
  round: number;
  assignments: AssignmentView[];
  result?: TaskResult & { /** stdout decoded as UTF-8, for people. */ text: string };
  trustScore?: number;
  /** Why it is invalid/failed/abandoned, or, while it waits, why it is not running yet. */
  reason?: string;
  /** The hub that took the task over when its home fell silent (docs/FEDERATION.md); absent while the home decides. */
  decider?: string;
  /** `spot-check`: a known-answer task the hub made to test an agent; absent for users' tasks. */
  kind?: 'spot-check';
  /** Each decision taken on it, oldest first: the votes, each voter's weight then, the policy that decided. */
  decisions?: TaskDecision[];
}

/** An agent as the API shows it: everything but the address block it registered from. */
export type AgentView = Omit<Agent, 'addressBlock'>;

export interface NetworkView {
  agents: { active: number; inactive: number; total: number };
  resources: { total: Resources; free: Resources };
  averageTrust: number;
  tasks: Record<TaskStatus, number>;
  /** In a federation: the same totals over every hub's agents and tasks this hub knows of (the fields above are its own). */
  federation?: Omit<NetworkView, 'federation' | 'validation'> & { hubs: number };
  /** How this hub accepts results (docs/VALIDATION.md), and whether its sources of records work. */
  validation?: ValidationView;
}

export interface ValidationView {
  policy: 'credibility' | 'trust-sum';
  /** The known-answer tasks' image (credibility policy): `unusable` with the reason when the hub could not pull it. */
  spotCheck?: { image: string; status: 'checking' | 'ready' | 'unusable'; reason?: string; checkedAt?: number };
  /** Agents the operator vouches for (--trusted-agents), as configured. */
  trustedAgents: number;
}

/** What an agent receives from POST /v1/work. */
export interface WorkGrant {
  /** The hub-signed `assignment` envelope. */
  assignment: Envelope;
  /** Only for a private image, only to the assigned agent, only over this response. */
  registryAuth?: RegistryAuth;
}

export type HubEvent =
  | { type: 'task'; task: TaskView }
  | { type: 'agent'; agent: AgentView }
  | { type: 'decision'; taskId: string; outcome: 'validated' | 'failed'; score: number; digest: string | null };

export interface TaskFilter {
  submitter?: string;
  status?: TaskStatus;
  limit?: number;
  /** `user` (default): submitted tasks only; `spot-check`: the hub's known-answer tasks; `all`. */
  kind?: 'user' | 'spot-check' | 'all';
}

export interface HubEngine {
  /** The hub's own signing identity (assignments and decisions are signed with it). */
  readonly identity: { nodeId: string; publicKey: string };
  start(): Promise<void>;
  stop(): Promise<void>;

  registerAgent(envelope: unknown, meta: { address: string }): Promise<{ agent: AgentView; created: boolean }>;
  /** A proof-of-work challenge for a new agent's registration; null when this hub asks for none. */
  registrationChallenge?(): { challenge: string; bits: number; expiresAt: number } | null;
  /** The operator approves a pending agent (--approve-agents): from then on it gets work. */
  approveAgent?(agentId: string): Promise<AgentView>;
  heartbeat(envelope: unknown): Promise<AgentView>;
  /** null when there is nothing for this agent now (HTTP 204). */
  requestWork(envelope: unknown): Promise<WorkGrant | null>;
  submitResult(envelope: unknown): Promise<{ assignmentId: string; duplicate: boolean; task: TaskView }>;
  submitTask(envelope: unknown, registryAuth?: RegistryAuth): Promise<{ task: TaskView; created: boolean }>;

  getTask(id: string): TaskView | undefined;
  listTasks(filter: TaskFilter): TaskView[];
  getAgent(id: string): AgentView | undefined;
  /** Every agent this hub knows of (the dashboard's list). */
  listAgents(): AgentView[];
  network(): NetworkView;

  /** Subscribe to changes; returns the unsubscribe function. */
  subscribe(listener: (event: HubEvent) => void): () => void;
}
