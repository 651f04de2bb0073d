import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sim, simTempDir } from '../support/sim.ts';
import { type HubProcess, startHubProcess } from '../support/test-agent.ts';

// `dcloud sim orchestration|churn --live`: the scenario against a real hub process over HTTP,
// simulated agents signing real envelopes, beside the virtual run of the same seed.

const dir = simTempDir('dcloud-sim-live-');

interface Measures {
  submitted: number;
  validated: number;
  notValidated: number;
  unschedulable: number;
  executions: number;
  wait: { avg: number } | null;
}

describe('dcloud sim orchestration --live', () => {
  it('runs a small configuration against a hub process it spawns: every task ends validated or reported unschedulable', async () => {
    const out = join(dir(), 'orch');
    const run = await sim(['orchestration', '--live', '--agents', '6', '--tasks', '14', '--policies', 'fifo,heuristic', '--durations', 'fixed', '--seed', '5', '--out', out, '--json']);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as { mode: string; results: Array<{ policy: string; tasks: number; live: Measures & { stillWaiting: unknown[]; requestErrors: number }; virtual: Measures }> };
    expect(result.mode).toBe('live');
    expect(result.results.map((r) => r.policy)).toEqual(['fifo', 'heuristic']);
    for (const { live, virtual, tasks } of result.results) {
      // The same workload on both sides: what is unschedulable is not submitted, the rest is validated.
      expect(live.submitted + live.unschedulable).toBe(tasks);
      expect(live.submitted).toBeGreaterThan(0);
      expect(live.validated).toBe(live.submitted);
      expect(live.notValidated).toBe(0);
      expect(live.stillWaiting).toEqual([]);
      expect(live.executions).toBeGreaterThanOrEqual(live.validated);
      expect(live.wait).not.toBeNull();
      expect(virtual.submitted).toBe(live.submitted);
      expect(virtual.unschedulable).toBe(live.unschedulable);
      expect(virtual.validated).toBe(virtual.submitted);
    }
    expect((await readdir(out)).sort()).toEqual(['live-validated-at.svg', 'live-wait.svg', 'result.json', 'summary.md']);
    expect(await readFile(join(out, 'summary.md'), 'utf8')).toMatch(/\| fixed \| N=6, M=14 \| fifo \| live \|[\s\S]*\| fixed \| N=6, M=14 \| fifo \| virtual \|/);
  }, 180_000);

  it('loads the hub given by --hub-url', async () => {
    const hubDir = await mkdtemp(join(dir(), 'hub-'));
    let hub: HubProcess | undefined;
    try {
      hub = await startHubProcess({ dataDir: hubDir, args: ['--tick-ms', '100', '--rate-limit-key', '0', '--policy', 'fifo', '--validation-policy', 'trust-sum'] });
      const out = join(dir(), 'given');
      const run = await sim(['orchestration', '--live', '--hub-url', hub.url, '--agents', '4', '--tasks', '6', '--policies', 'fifo', '--durations', 'fixed', '--seed', '3', '--out', out, '--json']);
      expect(run.code).toBe(0);
      const result = JSON.parse(run.out) as { hub: string; results: Array<{ live: Measures }> };
      expect(result.hub).toBe(hub.url);
      const [cell] = result.results;
      expect(cell?.live.notValidated).toBe(0);
      expect(cell?.live.validated).toBe(cell?.live.submitted);
    } finally {
      await hub?.stop();
    }
  }, 180_000);
});

describe('dcloud sim churn --live', () => {
  it('replays the virtual run\'s schedule against a real hub: the same joins, departures and arrivals', async () => {
    const out = join(dir(), 'churn');
    const run = await sim(['churn', '--live', '--agents', '8', '--duration', '120', '--session-mean', '60', '--offline-mean', '20', '--task-mean', '5', '--time-scale', '0.05', '--seed', '2', '--out', out, '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.out) as {
      live: { agents: { joins: number; leaves: number }; tasks: { submitted: number; validated: number }; executions: { started: number }; requestErrors: number };
      virtual: { agents: { joins: number; leaves: number }; tasks: { submitted: number; validated: number } };
    };
    expect(result.live.agents).toEqual({ identities: 8, joins: result.virtual.agents.joins, leaves: result.virtual.agents.leaves });
    expect(result.live.tasks.submitted).toBe(result.virtual.tasks.submitted);
    expect(result.live.tasks.submitted).toBeGreaterThan(0);
    expect(result.live.tasks.validated).toBeGreaterThan(0);
    expect(result.live.executions.started).toBeGreaterThanOrEqual(result.live.tasks.validated);
    expect(result.live.requestErrors).toBe(0);
  }, 180_000);
});

describe('dcloud sim --live: bad input is refused before anything runs or is written', () => {
  it.each([
    [['orchestration', '--hub-url', 'http://127.0.0.1:9'], /--hub-url: only with --live/],
    [['churn', '--time-scale', '0.5'], /--time-scale: only with --live/],
    [['orchestration', '--live', '--hub-url', 'ftp://x'], /--hub-url: expected an http:\/\/ or https:\/\/ URL/],
    [['orchestration', '--live', '--hub-url', 'not a url'], /--hub-url: expected an http:\/\/ or https:\/\/ URL/],
    [['orchestration', '--live', '--time-scale', '0'], /--time-scale: expected a number from 0.001 to 100/],
    [['orchestration', '--live', '--seeds', '2'], /--seeds: a live run takes one seed/],
    [['orchestration', '--live', '--arrival-rate', '2'], /--arrival-rate: not with --live/],
    [['churn', '--live', '--kick'], /--kick: not with --live/],
    [['orchestration', '--live', '--hub-url', 'http://127.0.0.1:9', '--agents', '5,6'], /--hub-url: a given hub runs one configuration/],
    [['trust-validation', '--live'], /unknown option --live for scenario trust-validation/],
  ])('%j exits 2', async (args, message) => {
    const out = join(dir(), `bad-${args.join('_').replace(/[^a-z0-9_.-]/gi, '')}`);
    const run = await sim([...args, '--out', out]);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(message);
    expect(run.out).toBe('');
    await expect(readdir(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
