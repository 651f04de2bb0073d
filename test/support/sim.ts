import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import { runSim } from '../../simulations/cli.ts';
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

/** A temporary folder made before the calling file's tests and removed after them; call the getter inside a test. */
export function simTempDir(prefix: string): () => string {
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (dir === undefined) throw new Error('simTempDir: used outside a test');
    return dir;
  };
}

/** Runs `dcloud sim ARGS` in this process and collects what it writes. */
export async function sim(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runSim(args, { stdout, stderr });
  return { code, out, err };
}
