import { describe, expect, it } from 'vitest';
import { type Agent, CapacityExceededError, CapacityIndex, type CapacityRequest, UnknownAgentError } from '../../src/core/index.ts';
import { makeAgent, seededRandom } from './core-fixtures.ts';

interface Model {
  agent: Agent;
  reserved: { cpu: number; ramGb: number };
}

function available(m: Model): { cpu: number; ramGb: number } {
  const clamp = (free: number, reserved: number, total: number): number => Math.max(0, Math.round((Math.min(free, total) - reserved) * 1e6) / 1e6);
  return { cpu: clamp(m.agent.free.cpu, m.reserved.cpu, m.agent.total.cpu), ramGb: clamp(m.agent.free.ramGb, m.reserved.ramGb, m.agent.total.ramGb) };
}

/** The best fit by a scan of every agent. */
function bruteCandidates(models: Map<string, Model>, request: CapacityRequest, k: number, exclude: Set<string>): string[] {
  return [...models.values()]
    .filter((m) => m.agent.active && !exclude.has(m.agent.id) && m.agent.trust >= request.minTrust)
    .map((m) => ({ m, free: available(m) }))
    .filter(({ free }) => free.cpu >= request.cpu && free.ramGb >= request.ramGb)
    .sort((x, y) => {
      const surplus = (f: { cpu: number; ramGb: number }): number => f.cpu + f.ramGb / 2;
      return surplus(x.free) - surplus(y.free) || y.m.agent.trust - x.m.agent.trust || (x.m.agent.id < y.m.agent.id ? -1 : 1);
    })
    .slice(0, k)
    .map(({ m }) => m.agent.id);
}

function randomAgent(random: () => number, id: string): Agent {
  const cpu = [1, 2, 4, 8, 16][Math.floor(random() * 5)] as number;
  const ramGb = [1, 2, 4, 8, 32][Math.floor(random() * 5)] as number;
  return makeAgent({
    id,
    total: { cpu, ramGb },
    free: { cpu: Math.round(random() * cpu * 2) / 2, ramGb: Math.round(random() * ramGb * 2) / 2 },
    trust: Math.round((1 + random() * 9) * 10) / 10,
    active: random() < 0.85,
  });
}

describe('capacity index', () => {
  it('gives the same best-fit candidates as a brute-force scan (seeded, with churn and reservations)', () => {
    const random = seededRandom(11);
    const index = new CapacityIndex();
    const models = new Map<string, Model>();
    for (let i = 0; i < 600; i++) {
      const agent = randomAgent(random, `agent-${String(i).padStart(4, '0')}`);
      index.upsert(agent);
      models.set(agent.id, { agent, reserved: { ...agent.reserved } });
    }
    const ids = [...models.keys()];
    for (let round = 0; round < 300; round++) {
      const request: CapacityRequest = {
        cpu: [0.5, 1, 2, 3, 4, 8][Math.floor(random() * 6)] as number,
        ramGb: [0.5, 1, 2, 4, 8][Math.floor(random() * 5)] as number,
        minTrust: Math.floor(random() * 9),
      };
      const exclude = new Set(Array.from({ length: 3 }, () => ids[Math.floor(random() * ids.length)] as string));
      const k = 1 + Math.floor(random() * 6);
      const got = index.candidates(request, k, exclude).map((c) => c.agentId);
      expect(got).toEqual(bruteCandidates(models, request, k, exclude));
      expect(index.countEligible(request, undefined, exclude)).toBe(bruteCandidates(models, request, Infinity, exclude).length);

      // Churn: reserve for the best candidate, release somewhere, refresh an agent's report.
      const first = got[0];
      if (first !== undefined) {
        index.reserve(first, { cpu: request.cpu, ramGb: request.ramGb });
        const m = models.get(first) as Model;
        m.reserved = { cpu: m.reserved.cpu + request.cpu, ramGb: m.reserved.ramGb + request.ramGb };
      }
      const other = models.get(ids[Math.floor(random() * ids.length)] as string) as Model;
      if (other.reserved.cpu > 0) {
        index.release(other.agent.id, { cpu: 0.5, ramGb: 0.5 });
        other.reserved = { cpu: Math.max(0, other.reserved.cpu - 0.5), ramGb: Math.max(0, other.reserved.ramGb - 0.5) };
      }
      if (random() < 0.3) {
        const refreshed = { ...randomAgent(random, other.agent.id), reserved: other.reserved };
        index.upsert(refreshed);
        other.agent = refreshed;
      }
    }
  });

  it('counts available capacity as reported free minus reserved, never above the total', () => {
    const index = new CapacityIndex();
    index.upsert(makeAgent({ id: 'a', total: { cpu: 4, ramGb: 8 }, free: { cpu: 6, ramGb: 3 }, reserved: { cpu: 1, ramGb: 0 } }));
    // A report above the total (6 of 4 cores) counts as the total: 4 - 1 reserved = 3.
    expect(index.get('a')?.available).toEqual({ cpu: 3, ramGb: 3 });
    index.reserve('a', { cpu: 2.5, ramGb: 3 });
    expect(index.get('a')?.available).toEqual({ cpu: 0.5, ramGb: 0 });
    index.release('a', { cpu: 2.5, ramGb: 3 });
    expect(index.get('a')?.available).toEqual({ cpu: 3, ramGb: 3 });
  });

  it('hands out candidates whose available capacity stays as it was when a reservation follows', () => {
    const index = new CapacityIndex();
    index.upsert(makeAgent({ id: 'a', total: { cpu: 4, ramGb: 8 } }));
    const [candidate] = index.candidates({ cpu: 1, ramGb: 2, minTrust: 0 }, 1);
    expect(index.reserve('a', { cpu: 1, ramGb: 2 })).toEqual({ cpu: 3, ramGb: 6 });
    expect(candidate?.available).toEqual({ cpu: 4, ramGb: 8 });
    // Inactive, then active again with a reservation the hub still holds: the index follows the agent.
    index.upsert(makeAgent({ id: 'a', total: { cpu: 4, ramGb: 8 }, reserved: { cpu: 1, ramGb: 2 }, active: false }));
    expect(index.candidates({ cpu: 1, ramGb: 1, minTrust: 0 }, 1)).toEqual([]);
    index.upsert(makeAgent({ id: 'a', total: { cpu: 4, ramGb: 8 }, reserved: { cpu: 1, ramGb: 2 } }));
    expect(index.candidates({ cpu: 3, ramGb: 6, minTrust: 0 }, 1).map((c) => c.available)).toEqual([{ cpu: 3, ramGb: 6 }]);
    expect(index.remove('a')).toBe(true);
    index.upsert(makeAgent({ id: 'a', total: { cpu: 2, ramGb: 2 } }));
    expect(index.get('a')?.available).toEqual({ cpu: 2, ramGb: 2 });
    expect(index.countEverFitting({ cpu: 4, ramGb: 8 })).toBe(0);
  });

  it('refuses to overbook or to reserve on an unknown agent, with typed errors', () => {
    const index = new CapacityIndex();
    index.upsert(makeAgent({ id: 'a', total: { cpu: 2, ramGb: 2 } }));
    index.reserve('a', { cpu: 1.5, ramGb: 1 });
    expect(() => index.reserve('a', { cpu: 1, ramGb: 0.5 })).toThrow(CapacityExceededError);
    expect(() => index.reserve('nobody', { cpu: 1, ramGb: 1 })).toThrow(UnknownAgentError);
    expect(index.release('nobody', { cpu: 1, ramGb: 1 })).toBe(false);
  });

  it('gives back exactly what fractional reservations took', () => {
    const index = new CapacityIndex();
    index.upsert(makeAgent({ id: 'a', total: { cpu: 1, ramGb: 1 } }));
    for (let i = 0; i < 10; i++) index.reserve('a', { cpu: 0.1, ramGb: 0.1 });
    expect(index.get('a')?.available).toEqual({ cpu: 0, ramGb: 0 });
    for (let i = 0; i < 10; i++) index.release('a', { cpu: 0.1, ramGb: 0.1 });
    expect(index.get('a')?.available).toEqual({ cpu: 1, ramGb: 1 });
    expect(index.candidates({ cpu: 1, ramGb: 1, minTrust: 0 }, 1).map((c) => c.agentId)).toEqual(['a']);
  });

  it('offers only active agents, prefers the closest fit and then the higher trust', () => {
    const index = new CapacityIndex();
    index.upsert(makeAgent({ id: 'huge', total: { cpu: 16, ramGb: 64 }, trust: 9 }));
    index.upsert(makeAgent({ id: 'snug-low', total: { cpu: 2, ramGb: 2 }, trust: 5 }));
    index.upsert(makeAgent({ id: 'snug-high', total: { cpu: 2, ramGb: 2 }, trust: 8 }));
    index.upsert(makeAgent({ id: 'asleep', total: { cpu: 2, ramGb: 2 }, trust: 10, active: false }));
    index.upsert(makeAgent({ id: 'untrusted', total: { cpu: 2, ramGb: 2 }, trust: 2 }));
    const got = index.candidates({ cpu: 2, ramGb: 2, minTrust: 5 }, 10).map((c) => c.agentId);
    expect(got).toEqual(['snug-high', 'snug-low', 'huge']);
    expect(index.candidates({ cpu: 2, ramGb: 2, minTrust: 5 }, 10, new Set(['snug-high'])).map((c) => c.agentId)).toEqual(['snug-low', 'huge']);
    expect(index.stats()).toEqual({ registered: 5, active: 4, maxFreeCpu: 16, maxFreeRam: 64, maxTrust: 9, maxTotalCpu: 16, maxTotalRam: 64 });
    expect(index.countEverFitting({ cpu: 2, ramGb: 2 })).toBe(5);
    expect(index.countCapable({ cpu: 2, ramGb: 2, minTrust: 5 })).toBe(3);
    expect(index.remove('huge')).toBe(true);
    expect(index.stats().maxTotalCpu).toBe(2);
    expect(index.candidates({ cpu: 4, ramGb: 1, minTrust: 0 }, 1)).toEqual([]);
  });
});
