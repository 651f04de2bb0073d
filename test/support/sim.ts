import type { LogEntry } from '../../simulations/harness/world.ts';
import type { SybilInput } from '../../simulations/scenarios/sybil.ts';

/** A small sybil run (20 honest agents, half an hour) with no attacker: tests add theirs. */
export const SMALL_SYBIL_RUN: SybilInput = {
  seed: 2,
  fraction: 0,
  collude: 1,
  mintPerHour: 0,
  honest: 20,
  overlap: 3,
  minTrust: 5,
  load: 0.5,
  taskMeanS: 30,
  durationS: 1800,
  validation: 'trust-sum',
  scheduling: 'heuristic',
};

/**
 * Replays a simulation's event log and yields, after each execution start or end, the agent
 * concerned and what it is running in total at that instant.
 */
export function* replayUsage(log: readonly LogEntry[]): Generator<{ kind: 'start' | 'end'; agent: string; used: { cpu: number; ramGb: number } }> {
  const used = new Map<string, { cpu: number; ramGb: number }>();
  for (const e of log) {
    if (e.kind !== 'start' && e.kind !== 'end') continue;
    const u = used.get(e.agent) ?? { cpu: 0, ramGb: 0 };
    const sign = e.kind === 'start' ? 1 : -1;
    u.cpu += sign * e.cpu;
    u.ramGb += sign * e.ramGb;
    used.set(e.agent, u);
    yield { kind: e.kind, agent: e.agent, used: u };
  }
}
