import type { TrustParams } from './params.ts';

/**
 * Trust arithmetic. Values are rounded to a millionth so that many small steps (+0.1 ten times)
 * land on the decimal a person expects and two hubs replaying the same decisions agree exactly.
 */

/** `value` limited to [min, max] and rounded. */
export function clampTrust(value: number, trust: TrustParams): number {
  const rounded = Math.round(value * 1e6) / 1e6;
  return Math.min(trust.max, Math.max(trust.min, rounded));
}

/** Trust after agreeing with an accepted result: + reward, at most max. */
export function rewardTrust(value: number, trust: TrustParams): number {
  return clampTrust(value + trust.reward, trust);
}

/** Trust after disagreeing with an accepted result: - penalty, at least min. */
export function penalizeTrust(value: number, trust: TrustParams): number {
  return clampTrust(value - trust.penalty, trust);
}

/** A trust change a decision makes, as it is signed into the decision message. */
export interface TrustChange {
  agentId: string;
  before: number;
  after: number;
}


/**
 * Applies decided trust changes to a set of agents, returning new agent objects for the changed
 * ones only (the others are returned as they were).
 */
export function applyTrustChanges<A extends { id: string; trust: number }>(agents: readonly A[], changes: readonly TrustChange[]): A[] {
  const after = new Map(changes.map((change) => [change.agentId, change.after]));
  return agents.map((agent) => {
    const trust = after.get(agent.id);
    return trust === undefined ? agent : { ...agent, trust };
  });
}
