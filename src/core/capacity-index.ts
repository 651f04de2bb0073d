import type { Resources } from '../../protocol/messages.ts';
import { CapacityExceededError, UnknownAgentError } from './errors.ts';
import type { Agent } from './model.ts';
import { type AgentQuery, OrderedAgents } from './ordered-agents.ts';
import { addResources, resourceWeight, roundResource, subtractResources } from './resources.ts';

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
  private readonly agents = new Map<string, CapacityEntry>();
  /** Active agents by available capacity. */
  private readonly free = new OrderedAgents();
  /** All registered agents by total capacity; only counted, so trust changes need not move them. */
  private readonly total = new OrderedAgents({ trustBreaksTies: false });

  /** Registered agents held. */
  get size(): number {
    return this.agents.size;
  }

  get(agentId: string): CapacityEntry | undefined {
    return this.agents.get(agentId);
  }

  /** Adds or refreshes an agent (registration, heartbeat, trust change, going inactive). */
  upsert(agent: CapacityAgent): void {
    this.store({
      id: agent.id,
      total: { cpu: agent.total.cpu, ramGb: agent.total.ramGb },
      free: { cpu: agent.free.cpu, ramGb: agent.free.ramGb },
      reserved: { cpu: agent.reserved.cpu, ramGb: agent.reserved.ramGb },
      trust: agent.trust,
      active: agent.active,
    });
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
    const entry = this.agents.get(agentId);
    if (entry === undefined) throw new UnknownAgentError(agentId);
    const { available } = entry;
    if (resources.cpu > available.cpu || resources.ramGb > available.ramGb) {
      throw new CapacityExceededError(agentId, `cannot reserve ${resources.cpu} CPU / ${resources.ramGb} GB: only ${available.cpu} CPU / ${available.ramGb} GB available`);
    }
    return this.store({ ...entry, reserved: addResources(entry.reserved, resources) }, true).available;
  }

  /** Gives back what `reserve` held (an assignment closed). False for an agent not held. */
  release(agentId: string, resources: Resources): boolean {
    const entry = this.agents.get(agentId);
    if (entry === undefined) return false;
    this.store({ ...entry, reserved: subtractResources(entry.reserved, resources) }, true);
    return true;
  }

  /**
   * Up to `k` agents that can take `request` now, best fit first, skipping `exclude` (agents
   * that already hold a replica of the task). Costs the blocks and agents visited (ordered-agents.ts), not a scan of every agent.
   */
  candidates(request: CapacityRequest, k: number, exclude?: ReadonlySet<string>): Candidate[] {
    return this.free.first(freeQuery(request), k, exclude).map((agentId) => {
      const agent = this.agents.get(agentId) as CapacityEntry;
      return { agentId, available: agent.available, trust: agent.trust };
    });
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

  /** `reservation`: only `reserved` changed, so the totals' set has nothing to learn. */
  private store(fields: Omit<CapacityEntry, 'available'>, reservation = false): CapacityEntry {
    const available = {
      cpu: availableOf(fields.free.cpu, fields.reserved.cpu, fields.total.cpu),
      ramGb: availableOf(fields.free.ramGb, fields.reserved.ramGb, fields.total.ramGb),
    };
    const entry: CapacityEntry = { id: fields.id, total: fields.total, free: fields.free, reserved: fields.reserved, available, trust: fields.trust, active: fields.active };
    this.agents.set(entry.id, entry);
    if (!reservation) this.total.set(entry.id, entry.total.cpu, entry.total.ramGb, entry.trust, entry.active);
    if (entry.active) this.free.set(entry.id, available.cpu, available.ramGb, entry.trust, true);
    else this.free.delete(entry.id);
    return entry;
  }
}

function freeQuery(request: CapacityRequest): AgentQuery {
  return { cpu: request.cpu, ram: request.ramGb, minKey: resourceWeight(request), trust: request.minTrust };
}

/** A report above the total is capped first: reservations come out of what truly exists. */
function availableOf(free: number, reserved: number, total: number): number {
  return Math.max(0, roundResource(Math.min(free, total) - reserved));
}
