/**
 * Fills a hub's data dir with a large, plausible state in a few seconds, written through the
 * hub's own store (hub/store.ts), so that a hub engine started on it loads it as it would after
 * a restart: pending tasks of mixed sizes and ages, active agents. Deterministic for a seed.
 * Shared by the hub-scale and hub-memory benchmarks.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { createSigner, loadOrCreateKeyFile } from '../keys/index.ts';
import type { Agent, Task } from '../src/core/model.ts';
import { HubStore } from '../hub/store.ts';

export interface SeedOptions {
  tasks: number;
  agents: number;
  /** The hub's clock at seeding: tasks were submitted within the hour before it. */
  now: number;
  /** Agent size (every agent the same, so runs with different task counts compare). */
  agentResources?: { cpu: number; ramGb: number };
  seed?: number;
}

const BATCH = 2000;
const SIZES = [
  { cpu: 0.5, ramGb: 0.5 },
  { cpu: 1, ramGb: 0.5 },
  { cpu: 1, ramGb: 2 },
  { cpu: 2, ramGb: 4 },
] as const;

function hex(label: string, bytes = 32): string {
  return createHash('sha256').update(label).digest('hex').slice(0, bytes * 2);
}

export async function seedHubStore(dataDir: string, options: SeedOptions): Promise<void> {
  const { pair } = await loadOrCreateKeyFile(join(dataDir, 'hub.key'));
  const home = createSigner(pair).nodeId;
  const rng = xoroshiro128plus(options.seed ?? 42);
  const pick = (max: number): number => uniformInt(rng, 0, max - 1);
  const store = await HubStore.open(dataDir);
  try {
    const resources = options.agentResources ?? { cpu: 4, ramGb: 8 };
    for (let start = 0; start < options.agents; start += BATCH) {
      const agents: Agent[] = [];
      for (let i = start; i < Math.min(options.agents, start + BATCH); i++) {
        agents.push({
          id: hex(`agent ${i}`, 16),
          publicKey: hex(`agent key ${i}`),
          name: `agent-${i}`,
          total: resources,
          free: resources,
          reserved: { cpu: 0, ramGb: 0 },
          trust: 5,
          active: true,
          registeredAt: options.now - 3_600_000,
          lastHeartbeat: options.now,
          addressBlock: `10.${(i >> 8) & 255}.${i & 255}.0/24`,
          stats: { valid: 0, invalid: 0, consecutiveValid: 0 },
        });
      }
      await store.commit({ agents });
    }
    for (let start = 0; start < options.tasks; start += BATCH) {
      const tasks: Task[] = [];
      for (let i = start; i < Math.min(options.tasks, start + BATCH); i++) {
        const size = SIZES[pick(SIZES.length)] as (typeof SIZES)[number];
        const submittedAt = options.now - 3_600_000 + Math.floor((i / options.tasks) * 3_600_000);
        tasks.push({
          id: hex(`task ${i}`),
          submitter: hex(`submitter ${pick(100)}`, 16),
          spec: {
            image: 'dcloud-test/busybox:1',
            command: ['sh', '-c', `echo ${i} | sha256sum`],
            cpu: size.cpu,
            ramGb: size.ramGb,
            minTrust: 1 + pick(5),
            overlap: 1 + pick(3),
            timeoutS: 300,
          },
          status: 'pending',
          submittedAt,
          transitions: [
            { status: 'validating', at: submittedAt },
            { status: 'pending', at: submittedAt + 40 },
          ],
          staleness: 0,
          round: 0,
          assignments: [],
          home,
        });
      }
      await store.commit({ tasks });
    }
  } finally {
    await store.close();
  }
}
