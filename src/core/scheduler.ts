import type { Resources } from '../../protocol/messages.ts';
import type { Backlog, TaskShape } from './backlog.ts';
import type { CapacityIndex, CapacityRequest, Candidate } from './capacity-index.ts';
import { assignmentDeadline } from './health.ts';
import type { Task } from './model.ts';
import type { CoreParams, SchedulingPolicy } from './params.ts';
import { replicasWanted } from './replication.ts';

/**
 * One scheduling pass: the active queue, in priority order, is matched to agents by best fit.
 * The defects of the original it must not share (DESIGN 3a), and how:
 * - capacity is checked AND reserved in the index as the pass plans, so two tasks never get
 *   the same free core, in this pass or the next (the index keeps the reservation);
 * - an agent never holds two replicas of one task (holders and planned agents are excluded);
 * - the overlap count is never exceeded, and a task gets ALL its missing replicas in one pass
 *   or none: no half-assigned task holds capacity while it waits for agents that never come;
 * - a task that cannot run gets a reason a person can act on (explainWaiting).
 */

/** Why a task is not running yet. */
export type WaitCode =
  /** No registered agent, active or not, has enough TOTAL capacity: it cannot run until one joins. */
  | 'NEVER_FITS'
  /** No agent is active. */
  | 'NO_AGENTS'
  /** No active agent has the trust the task requires. */
  | 'NO_AGENT_TRUST'
  /** Fewer agents could ever run it (active, trusted, big enough) than its overlap count. */
  | 'TOO_FEW_AGENTS'
  /** No active agent has that much free CPU now. */
  | 'NO_AGENT_CPU'
  /** No active agent has that much free RAM now. */
  | 'NO_AGENT_RAM'
  /** Enough agents could run it, but too few of them have the free capacity now. */
  | 'BUSY'
  /** Agents could take it now: it waits for its turn in the active queue. */
  | 'QUEUED';

export interface WaitReason {
  code: WaitCode;
  reason: string;
}

export interface WaitingTask extends WaitReason {
  taskId: string;
}

/** The replicas a task already has in its current round. */
export interface OpenReplicas {
  /** Agents holding an open or reported replica: they count toward the overlap. */
  agentIds: readonly string[];
  /** Agents that must not get it again this round (their replica failed or expired). */
  excluded?: readonly string[];
}

export interface PlannedAssignment {
  taskId: string;
  agentId: string;
  /** Already reserved in the index; add it to Agent.reserved, release it when the assignment closes. */
  reserved: Resources;
  /** assignmentDeadline(task, now, params). */
  deadline: number;
}

export interface PlanInput {
  /** The active queue, best first (selectActiveQueue). */
  queue: readonly Task[];
  index: CapacityIndex;
  openAssignments: (taskId: string) => OpenReplicas;
  params: CoreParams;
  now: number;
  /**
   * Whether `agentId` may run a replica of `task` beside the agents already holding one (the
   * caller knows those) and `alongside`, chosen for it in this pass: e.g. placement diversity
   * (replication.ts, mayHoldReplica). Without it, every agent with the capacity and trust may.
   */
  eligible?: (task: Task, agentId: string, alongside: readonly string[]) => boolean;
}

export interface Plan {
  assignments: PlannedAssignment[];
  waiting: WaitingTask[];
}

/**
 * Plans one pass over the active queue, reserving in `index` what it assigns. The caller must
 * record the planned assignments (so `openAssignments` reports them) before the next pass.
 * Tasks that need no replica (complete rounds) and tasks not in a schedulable status are skipped.
 */
export function planAssignments({ queue, index, openAssignments, params, now, eligible }: PlanInput): Plan {
  const assignments: PlannedAssignment[] = [];
  const waiting: WaitingTask[] = [];
  // Agents planned for a task in this pass (a task listed twice must not get them again).
  const plannedThisPass = new Map<string, string[]>();
  for (let q = 0; q < queue.length; q++) {
    const task = queue[q] as Task;
    if (task.status !== 'pending' && task.status !== 'in_queue' && task.status !== 'in_progress') continue;
    const open = openAssignments(task.id);
    const planned = plannedThisPass.size === 0 ? NONE_PLANNED : (plannedThisPass.get(task.id) ?? NONE_PLANNED);
    const holders = open.agentIds.length + planned.length;
    const missing = replicasWanted(task) - holders;
    if (missing <= 0) continue;
    const request = requestOf(task);
    // Most tasks of a pass hold no replica yet: no set to build for them (`eligible` adds to it).
    const exclude = eligible !== undefined || holders > 0 || (open.excluded?.length ?? 0) > 0 ? new Set([...open.agentIds, ...(open.excluded ?? []), ...planned]) : undefined;
    const chosen = eligible === undefined ? index.candidates(request, missing, exclude) : eligibleCandidates(index, request, missing, exclude ?? new Set(), (agentId, alongside) => eligible(task, agentId, alongside));
    if (chosen.length < missing) {
      waiting.push({ taskId: task.id, ...explainWaiting(task, index, { holders, exclude }) });
      continue;
    }
    const reserved: Resources = { cpu: task.spec.cpu, ramGb: task.spec.ramGb };
    const deadline = assignmentDeadline(task, now, params);
    const placed = chosen.map((c) => c.agentId);
    for (let c = 0; c < placed.length; c++) {
      const agentId = placed[c] as string;
      index.reserve(agentId, reserved);
      assignments.push({ taskId: task.id, agentId, reserved, deadline });
    }
    plannedThisPass.set(task.id, planned.length === 0 ? placed : [...planned, ...placed]);
  }
  return { assignments, waiting };
}

const NONE_PLANNED: readonly string[] = Object.freeze([]);

/**
 * Up to `k` best-fitting candidates that `accept` takes, each judged beside those taken before it;
 * the ones it refuses join `exclude`, so the walk moves on past them.
 */
function eligibleCandidates(index: CapacityIndex, request: CapacityRequest, k: number, exclude: Set<string>, accept: (agentId: string, alongside: readonly string[]) => boolean): Candidate[] {
  const taken: Candidate[] = [];
  const alongside: string[] = [];
  while (taken.length < k) {
    const batch = index.candidates(request, k - taken.length, exclude);
    if (batch.length === 0) break;
    for (const candidate of batch) {
      exclude.add(candidate.agentId);
      if (taken.length < k && accept(candidate.agentId, alongside)) {
        taken.push(candidate);
        alongside.push(candidate.agentId);
      }
    }
  }
  return taken;
}

/**
 * The active queue: the `k` tasks a pass considers (scheduling.activeQueueSize in the thesis),
 * best first under `policy`, among the tasks the registered agents could ever run.
 *
 * A task they could not run even if every one of them were idle (fewer registered agents, active
 * or not, have its size in total than it needs replicas: explainWaiting's NEVER_FITS, or
 * TOO_FEW_AGENTS for good) is parked in the backlog, and the selection looks past it. Left in the
 * queue, it would hold its place for ever: under FIFO, nothing behind it would ever run. Parked
 * tasks stay in the backlog, explainWaiting still gives their reason, and they come back at the
 * first pass after agents that fit them register (one check per parked task shape).
 */
export function selectActiveQueue(backlog: Backlog, index: CapacityIndex, k: number, now: number, policy: SchedulingPolicy): Task[] {
  if (backlog.parkedCount > 0) backlog.unpark((shape) => couldEverRun(shape, index));
  const queue: Task[] = [];
  if (k <= 0) return queue;
  const hopeless: string[] = [];
  // Most tasks share a few shapes, and within one pass the answer for a shape cannot change.
  const verdicts: ShapeVerdict[] = [];
  for (const task of backlog.ordered(now, policy)) {
    if (!couldEverRunCached(task, index, verdicts)) {
      hopeless.push(task.id);
      continue;
    }
    queue.push(task);
    if (queue.length >= k) break;
  }
  // After the walk: the backlog must not change while `ordered` runs.
  for (const taskId of hopeless) backlog.park(taskId);
  return queue;
}

/** Whether enough registered agents, active or not, have the shape's size in total. */
function couldEverRun(shape: TaskShape, index: CapacityIndex): boolean {
  return index.countEverFitting({ cpu: shape.cpu, ramGb: shape.ramGb }, shape.replicas) >= shape.replicas;
}

interface ShapeVerdict extends TaskShape {
  readonly fits: boolean;
}

/** Shapes remembered per pass; past that many distinct ones, the rest are simply asked. */
const MAX_SHAPE_VERDICTS = 32;

/** couldEverRun for the task's shape, asked once per shape per pass (`verdicts`). */
function couldEverRunCached(task: Task, index: CapacityIndex, verdicts: ShapeVerdict[]): boolean {
  const { cpu, ramGb } = task.spec;
  const replicas = replicasWanted(task);
  for (let i = 0; i < verdicts.length; i++) {
    const v = verdicts[i] as ShapeVerdict;
    if (v.cpu === cpu && v.ramGb === ramGb && v.replicas === replicas) return v.fits;
  }
  const shape = { cpu, ramGb, replicas };
  const fits = couldEverRun(shape, index);
  if (verdicts.length < MAX_SHAPE_VERDICTS) verdicts.push({ ...shape, fits });
  return fits;
}

export interface WaitContext {
  /** Replicas the task already holds in its round (default 0). */
  holders?: number;
  /** Agents that cannot take it (they hold or lost a replica of it). */
  exclude?: ReadonlySet<string>;
}

/**
 * Why `task` cannot get its missing replicas now, most fundamental reason first: HTCondor's
 * "better-analyze" for one task. The counts stop at what the task needs, so this stays cheap.
 */
export function explainWaiting(task: Task, index: CapacityIndex, context: WaitContext = {}): WaitReason {
  const { cpu, ramGb, minTrust } = task.spec;
  const overlap = replicasWanted(task);
  const holders = context.holders ?? 0;
  const missing = Math.max(1, overlap - holders);
  const request = requestOf(task);
  const size = `${cores(cpu)} and ${gb(ramGb)} RAM`;
  const stats = index.stats();

  if (index.countEverFitting({ cpu, ramGb }, 1) === 0) {
    return { code: 'NEVER_FITS', reason: `no registered agent has ${size} in total (largest: ${cores(stats.maxTotalCpu)}, ${gb(stats.maxTotalRam)})` };
  }
  if (stats.active === 0 || stats.maxTrust === null) return { code: 'NO_AGENTS', reason: 'no agent is active' };
  if (stats.maxTrust < minTrust) {
    return { code: 'NO_AGENT_TRUST', reason: `no active agent has trust >= ${minTrust.toFixed(1)} (highest: ${stats.maxTrust.toFixed(1)})` };
  }
  const capable = index.countCapable(request, missing, context.exclude);
  if (capable < missing) {
    const eligible = holders + capable;
    return {
      code: 'TOO_FEW_AGENTS',
      reason: `${eligible} agent${plural(eligible)} ${eligible === 1 ? 'is' : 'are'} eligible (active, trust >= ${minTrust.toFixed(1)}, ${size} in total); overlap count needs ${overlap}`,
    };
  }
  if (stats.maxFreeCpu < cpu) return { code: 'NO_AGENT_CPU', reason: `no active agent has ${cores(cpu, 'free ')} (largest free: ${number(stats.maxFreeCpu)})` };
  if (stats.maxFreeRam < ramGb) return { code: 'NO_AGENT_RAM', reason: `no active agent has ${gb(ramGb)} free RAM (largest free: ${gb(stats.maxFreeRam)})` };
  const free = index.countEligible(request, missing, context.exclude);
  if (free >= missing) return { code: 'QUEUED', reason: 'agents can take it now; it waits for its turn in the active queue' };
  return { code: 'BUSY', reason: `eligible agents are busy: ${free} can take ${size} now, ${missing} needed` };
}

function requestOf(task: Task): CapacityRequest {
  return { cpu: task.spec.cpu, ramGb: task.spec.ramGb, minTrust: task.spec.minTrust };
}

function number(value: number): string {
  return String(Math.round(value * 100) / 100);
}

function cores(value: number, qualifier = ''): string {
  return `${number(value)} ${qualifier}CPU core${value === 1 ? '' : 's'}`;
}

function gb(value: number): string {
  return `${number(value)} GB`;
}

function plural(n: number): string {
  return n === 1 ? '' : 's';
}
