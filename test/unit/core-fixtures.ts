import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Agent, Task, TaskStatus } from '../../src/core/index.ts';
import type { TaskSpecBody } from '../../protocol/messages.ts';

/** Plain-data builders and a seeded random source for the core's unit tests. */

/** Uniform in [0, 1), reproducible from `seed`. */
export function seededRandom(seed: number): () => number {
  const rng = xoroshiro128plus(seed);
  for (let i = 0; i < 16; i++) rng.next();
  return () => uniformFloat64(rng);
}

export interface TaskFields extends Partial<Omit<Task, 'spec'>> {
  spec?: Partial<TaskSpecBody>;
}

export function makeTask(fields: TaskFields = {}): Task {
  const { spec, ...rest } = fields;
  const status: TaskStatus = rest.status ?? 'pending';
  return {
    id: 't1',
    submitter: 'submitter',
    home: 'hub',
    status,
    submittedAt: 0,
    transitions: [{ status, at: rest.submittedAt ?? 0 }],
    staleness: 0,
    round: 0,
    assignments: [],
    ...rest,
    spec: { image: 'busybox', command: ['echo', '42'], cpu: 1, ramGb: 1, minTrust: 5, overlap: 1, timeoutS: 60, ...spec },
  };
}

export interface AgentFields extends Partial<Omit<Agent, 'total' | 'free' | 'reserved'>> {
  total?: Partial<Agent['total']>;
  free?: Partial<Agent['free']>;
  reserved?: Partial<Agent['reserved']>;
}

export function makeAgent(fields: AgentFields = {}): Agent {
  const { total, free, reserved, ...rest } = fields;
  const totals = { cpu: 4, ramGb: 8, ...total };
  return {
    id: 'a1',
    publicKey: '00'.repeat(32),
    name: 'agent',
    trust: 5,
    active: true,
    registeredAt: 0,
    lastHeartbeat: 0,
    stats: { valid: 0, invalid: 0, consecutiveValid: 0 },
    ...rest,
    total: totals,
    free: { ...totals, ...free },
    reserved: { cpu: 0, ramGb: 0, ...reserved },
  };
}
