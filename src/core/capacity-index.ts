import type { Resources } from '../../protocol/messages.ts';
import { CapacityExceededError, UnknownAgentError } from './errors.ts';
import type { Agent } from './model.ts';
import { type AgentHandle, type AgentQuery, OrderedAgents } from './ordered-agents.ts';
import { resourceWeight, roundResource } from './resources.ts';

/** What the index needs of an agent. */
export type CapacityAgent = Pick<Agent, 'id' | 'total' | 'free' | 'reserved' | 'trust' | 'active'>;

/** A task's request as the index sees it. */
export interface CapacityRequest {
  cpu: number;
  ramGb: number;
  minTrust: number;
}

/** An agent that can take a request now. */
export interface Candidate {
  agentId: string;
  /** Free capacity before this request is reserved. */
  available: Resources;
  trust: number;
}

/** One agent as the index holds it. */
export interface CapacityEntry {
  id: string;
  total: Resources;
  /** As the agent last reported it. */
  free: Resources;
  /** Held by the hub for open assignments. */
  reserved: Resources;
  /** min(free, total) - reserved, at least 0: what the scheduler may still hand out. */
  available: Resources;
  trust: number;
  active: boolean;
}

/** Aggregates that explain waiting tasks (explainWaiting). */
export interface CapacityStats {
  registered: number;
  active: number;
  /** Largest available cpu / ram among active agents (0 when none). */
  maxFreeCpu: number;
  maxFreeRam: number;
  /** Highest trust among active agents (null when none is active). */
  maxTrust: number | null;
  /** Largest total cpu / ram among all registered agents. */
  maxTotalCpu: number;
  maxTotalRam: number;
}

/**
 * Agents indexed by the capacity the hub may still hand out, so that the scheduler finds the
 * best-fitting agents for a request without scanning them all.
 *
 * Best fit: among active agents with available cpu >= request cpu, available ram >= request
 * ram and trust >= request minTrust, the smallest surplus (available cpu - cpu) + (available ram
 * - ram) / 2, with the weights of the thesis' R; ties go to higher trust, then to the smaller id.
 * (The original normalised each surplus by the request, which orders agents differently for
 * every request and can only be answered by a scan.)
 *
 * `available` = min(reported free, total) - reserved, at least 0. `upsert` takes the agent's
 * `reserved` as the hub's reservation: the hub keeps Agent.reserved in step with reserve/release
 * (planAssignments returns what it reserved), so a heartbeat upsert never forgets a reservation.
 */
export class CapacityIndex {
  private readonly agents = new Map<string, Slot>();
  /** Active agents by available capacity. */
  private readonly free = new OrderedAgents();
  /** All registered agents by total capacity; only counted, so trust changes need not move them. */
  private readonly total = new OrderedAgents({ trustBreaksTies: false });

  /** Registered agents held. */
  get size(): number {
    return this.agents.size;
  }

  /** The agent as the index holds it now. Read it at once: reservations change it in place. */
  get(agentId: string): CapacityEntry | undefined {
    return this.agents.get(agentId);
  }

  /** Adds or refreshes an agent (registration, heartbeat, trust change, going inactive). */
  upsert(agent: CapacityAgent): void {
    let slot = this.agents.get(agent.id);
    if (slot === undefined) {
      slot = {
        id: agent.id,
        total: { cpu: 0, ramGb: 0 },
        free: { cpu: 0, ramGb: 0 },
        reserved: { cpu: 0, ramGb: 0 },
        available: { cpu: 0, ramGb: 0 },
        trust: 0,
        active: false,
        freeHandle: null,
        totalHandle: null,
      };
      this.agents.set(agent.id, slot);
    }
    slot.total.cpu = agent.total.cpu;
    slot.total.ramGb = agent.total.ramGb;
    slot.free.cpu = agent.free.cpu;
    slot.free.ramGb = agent.free.ramGb;
    slot.reserved.cpu = agent.reserved.cpu;
    slot.reserved.ramGb = agent.reserved.ramGb;
    slot.trust = agent.trust;
    slot.active = agent.active;
    slot.totalHandle = this.total.set(slot.id, slot.total.cpu, slot.total.ramGb, slot.trust, slot.active, slot.totalHandle);
    this.refresh(slot);
  }

  remove(agentId: string): boolean {
    if (!this.agents.delete(agentId)) return false;
    this.free.delete(agentId);
    this.total.delete(agentId);
    return true;
  }

  /**
   * Holds `resources` on an agent for an assignment. Throws UnknownAgentError for an agent not
   * held and CapacityExceededError when the agent has less available: nothing is ever overbooked.
   * Returns what remains available.
   */
  reserve(agentId: string, resources: Resources): Resources {
    const slot = this.agents.get(agentId);
    if (slot === undefined) throw new UnknownAgentError(agentId);
    const { available } = slot;
    if (resources.cpu > available.cpu || resources.ramGb > available.ramGb) {
      throw new CapacityExceededError(agentId, `cannot reserve ${resources.cpu} CPU / ${resources.ramGb} GB: only ${available.cpu} CPU / ${available.ramGb} GB available`);
    }
    // In place, as addResources computes it: a reservation is the hottest change of all.
    slot.reserved.cpu = roundResource(slot.reserved.cpu + resources.cpu);
    slot.reserved.ramGb = roundResource(slot.reserved.ramGb + resources.ramGb);
    this.refresh(slot);
    return { cpu: available.cpu, ramGb: available.ramGb };
  }

  /** Gives back what `reserve` held (an assignment closed). False for an agent not held. */
  release(agentId: string, resources: Resources): boolean {
    const slot = this.agents.get(agentId);
    if (slot === undefined) return false;
    // As subtractResources computes it.
    slot.reserved.cpu = Math.max(0, roundResource(slot.reserved.cpu - resources.cpu));
    slot.reserved.ramGb = Math.max(0, roundResource(slot.reserved.ramGb - resources.ramGb));
    this.refresh(slot);
    return true;
  }

  /**
   * Up to `k` agents that can take `request` now, best fit first, skipping `exclude` (agents
   * that already hold a replica of the task). Costs the blocks and agents visited (ordered-agents.ts), not a scan of every agent.
   */
  candidates(request: CapacityRequest, k: number, exclude?: ReadonlySet<string>): Candidate[] {
    // The free set holds each agent's available capacity and trust: no lookup of the slot.
    return this.free.firstEntries(freeQuery(request), k, exclude).map((entry) => ({ agentId: entry.id, available: { cpu: entry.cpu, ramGb: entry.ram }, trust: entry.trust }));
  }

  /** Active agents that can take `request` now (counting stops at `limit`). */
  countEligible(request: CapacityRequest, limit?: number, exclude?: ReadonlySet<string>): number {
    return this.free.count(freeQuery(request), limit, exclude);
  }

  /**
   * Active agents with enough trust whose TOTAL capacity fits the request: those that could
   * take it once idle (counting stops at `limit`).
   */
  countCapable(request: CapacityRequest, limit?: number, exclude?: ReadonlySet<string>): number {
    return this.total.count({ cpu: request.cpu, ram: request.ramGb, minKey: resourceWeight(request), trust: request.minTrust }, limit, exclude);
  }

  /** Registered agents, active or not, whose total capacity fits `resources` (stops at `limit`). */
  countEverFitting(resources: Resources, limit?: number): number {
    return this.total.count({ cpu: resources.cpu, ram: resources.ramGb, minKey: resourceWeight(resources) }, limit);
  }

  stats(): CapacityStats {
    const maxTrust = this.free.maxActiveTrust;
    return {
      registered: this.agents.size,
      active: this.free.size,
      maxFreeCpu: this.free.maxCpu,
      maxFreeRam: this.free.maxRam,
      maxTrust: Number.isFinite(maxTrust) ? maxTrust : null,
      maxTotalCpu: this.total.maxCpu,
      maxTotalRam: this.total.maxRam,
    };
  }

  /** Recomputes what the slot has available and files it in the set of free capacity. */
  private refresh(slot: Slot): void {
    const { free, reserved, total, available } = slot;
    available.cpu = availableOf(free.cpu, reserved.cpu, total.cpu);
    available.ramGb = availableOf(free.ramGb, reserved.ramGb, total.ramGb);
    if (slot.active) slot.freeHandle = this.free.set(slot.id, available.cpu, available.ramGb, slot.trust, true, slot.freeHandle);
    else if (slot.freeHandle !== null) {
      this.free.delete(slot.id);
      slot.freeHandle = null;
    }
  }
}

/**
 * An entry with its places in the two sets, so that a reservation moves the agent without
 * looking it up again by id. The entry's objects are the index's own and change in place: a
 * reservation allocates nothing.
 */
interface Slot extends CapacityEntry {
  freeHandle: AgentHandle | null;
  totalHandle: AgentHandle | null;
}

function freeQuery(request: CapacityRequest): AgentQuery {
  return { cpu: request.cpu, ram: request.ramGb, minKey: resourceWeight(request), trust: request.minTrust };
}

/** A report above the total is capped first: reservations come out of what truly exists. */
function availableOf(free: number, reserved: number, total: number): number {
  return Math.max(0, roundResource(Math.min(free, total) - reserved));
}
