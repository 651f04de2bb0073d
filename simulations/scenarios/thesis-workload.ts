import { hash } from 'node:crypto';
import type { TaskSpecBody } from '../../protocol/messages.ts';
import { type CapacityIndex, type Task, type WaitReason, explainWaiting } from '../../src/core/index.ts';
import { taskSpec } from '../../src/core/task-spec.ts';
import type { Random } from '../harness/random.ts';
import type { AgentSpec } from '../harness/world.ts';

/**
 * The random agents and tasks of the thesis' experiment 6.2, as its setup endpoints drew them:
 * agents with CPU U{1..4}, RAM U{1..8} GB and trust U(1, 10); tasks with CPU U{1..6}, RAM
 * U{1..10} GB, an overlap count of 1..5 (weights .10/.35/.35/.15/.05) and a required trust
 * U(1, 10), redrawn until at least `overlap` agents exceed it by 0.5.
 */

export const OVERLAP_WEIGHTS: readonly number[] = [0.1, 0.35, 0.35, 0.15, 0.05];
const OVERLAPS = [1, 2, 3, 4, 5];
const TRUST_MARGIN = 0.5;
const MAX_TRUST_DRAWS = 1000;

/**
 * A node id (32 hex) for a simulated agent: hash-like, as real node ids are (the capacity index
 * breaks ties by id). One-shot hashing: building 10,000 agents hashes 10,000 labels.
 */
export function agentId(label: string): string {
  return hash('sha256', `dcloud-sim-agent\n${label}`, 'hex').slice(0, 32);
}

/** Rounds trust to the one decimal people see, so reports read like the thesis' tables. */
function oneDecimal(x: number): number {
  return Math.round(x * 10) / 10;
}

export function thesisAgent(index: number, rng: Random): Omit<AgentSpec, 'behaviour'> {
  const cpu = rng.int(1, 4);
  const ramGb = rng.int(1, 8);
  const trust = oneDecimal(rng.uniform(1, 10));
  return { id: agentId(`agent-${index}`), name: `agent-${index}`, total: { cpu, ramGb }, trust };
}

export function thesisTask(index: number, agentTrusts: readonly number[], rng: Random): TaskSpecBody {
  const cpu = rng.int(1, 6);
  const ramGb = rng.int(1, 10);
  const overlap = rng.weighted(OVERLAPS, OVERLAP_WEIGHTS);
  let minTrust = oneDecimal(rng.uniform(1, 10));
  for (let draws = 1; countAbove(agentTrusts, minTrust + TRUST_MARGIN) < overlap; draws++) {
    // With too few agents no draw can succeed: settle for the lowest trust the range allows.
    if (draws >= MAX_TRUST_DRAWS) {
      minTrust = 1;
      break;
    }
    minTrust = oneDecimal(rng.uniform(1, 10));
  }
  return taskSpec({ image: 'sim/task', command: ['run', String(index)], cpu, ramGb, minTrust, overlap, timeoutS: 600 });
}

function countAbove(trusts: readonly number[], level: number): number {
  let n = 0;
  for (const t of trusts) if (t >= level) n++;
  return n;
}

/**
 * Why a task could never run on the registered agents, or null when it can: the core's own
 * explanation, asked while every agent is idle, so only permanent reasons remain (no agent
 * big enough, too few big and trusted enough for the overlap count).
 */
export function unschedulableReason(id: string, spec: TaskSpecBody, idleIndex: CapacityIndex): WaitReason | null {
  const task: Task = { id, submitter: 'simulation', spec, status: 'pending', submittedAt: 0, transitions: [], staleness: 0, round: 0, assignments: [], home: 'sim-hub' };
  const why = explainWaiting(task, idleIndex);
  return why.code === 'QUEUED' ? null : why;
}
