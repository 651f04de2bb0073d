import { mergeParams, validationPolicy } from '../../src/core/index.ts';
import { type LineRow, lines } from '../harness/charts.ts';
import { InvalidOptionError } from '../harness/errors.ts';
import { defineScenario } from '../harness/scenario.ts';
import { type Summary, round, summarize } from '../harness/stats.ts';
import { type DecisionRecord, FedWorld, type FedSample, type HealRecord } from '../federated/fed-world.ts';

/**
 * Several hubs, each with its own agents; tasks submitted to random hubs; partitions and heals,
 * home-hub crashes and restarts on a schedule; gossip with delays and losses. Every rule of the
 * federation, and the steps that carry it out, are the hub's own functions (hub/federated/: apply,
 * deciding, fence, takeover, decision-check, contact; the engine's state, result intake and
 * rounds; the core), run on a simulated network in virtual time (simulations/federated/). Measures: convergence time after each heal, lost tasks and doubly
 * decided tasks. The last two must be zero; a run that finds any says so loudly.
 */

const options = {
  hubs: { kind: 'int', min: 2, max: 20, default: 5, description: 'hubs in the federation' },
  agents: { kind: 'int', min: 1, max: 100, default: 3, description: 'agents attached to each hub (4 cores, 8 GB each)' },
  tasks: { kind: 'int', min: 1, max: 20_000, default: 200, description: 'tasks, submitted to random hubs over the first 80% of the run' },
  duration: { kind: 'number', min: 10, max: 86_400, default: 1800, description: 'simulated time with disruptions, seconds (then everything heals)' },
  settle: { kind: 'number', min: 0, max: 86_400, default: 1800, description: 'at most this much simulated time after the last heal, until every task ended everywhere, seconds' },
  overlap: { kind: 'int', min: 1, max: 8, default: 2, description: 'replicas per task' },
  'task-mean': { kind: 'number', min: 0.5, max: 3600, default: 20, description: 'mean run time of a replica (exponential), seconds' },
  timeout: { kind: 'int', min: 1, max: 86_400, default: 120, description: 'the tasks\' timeoutS: how long a replica whose result never arrives holds its round' },
  'partition-rate': { kind: 'number', min: 0, max: 1000, default: 4, description: 'partitions per hour (Poisson; one at a time)' },
  'partition-duration': { kind: 'number', min: 1, max: 86_400, default: 120, description: 'mean length of a partition (exponential), seconds' },
  'cut-off': { kind: 'int-list', min: 0, max: 19, default: [], description: 'hub indexes every partition cuts off (default: a random minority each time)' },
  'crash-rate': { kind: 'number', min: 0, max: 1000, default: 2, description: 'home-hub crashes per hour (Poisson; never more than a minority down)' },
  'crash-duration': { kind: 'number', min: 0, max: 86_400, default: 180, description: 'mean time a crashed hub stays down (exponential), seconds; 0: it never returns' },
  delay: { kind: 'number', min: 0, max: 60_000, default: 50, description: 'mean gossip delay (exponential), milliseconds' },
  loss: { kind: 'number', min: 0, max: 1, default: 0.01, description: 'share of gossip messages lost (the logs\' sync repairs it)' },
  lease: { kind: 'number', min: 1, max: 86_400, default: 60, description: 'the takeover lease (dcloud hub --lease-ms), seconds' },
  'sync-interval': { kind: 'number', min: 1, max: 86_400, default: 30, description: 'anti-entropy sync between connected hubs (--sync-interval-ms), seconds' },
  'no-quorum': { kind: 'flag', default: false, description: 'switch off fencing\'s quorum rule (hub/federated/fence.ts): shows what the rank rule alone lets through' },
} as const;

export interface FederationRun {
  seed: number;
  tasks: { submitted: number; validated: number; abandoned: number; decisions: number; takeovers: number };
  /** Must be zero: accepted tasks that some live hub does not know, or that never ended. */
  lost: { count: number; unknown: string[]; stuck: string[] };
  /** Must be zero: tasks validated twice, or one round decided by two hubs. */
  doublyDecided: { count: number; tasks: Array<{ taskId: string; decisions: DecisionRecord[] }> };
  /** Tasks whose end differs between hubs at the end of the run. */
  divergent: string[];
  /** Largest difference in an agent's trust between two live hubs at the end. */
  trustSpread: number;
  heals: HealRecord[];
  convergence: Summary | null;
  network: { partitions: number; crashes: number; gossipSent: number; gossipLost: number; syncs: number; deferredEntries: number; refusedEntries: number; ignoredClaims: number; fenced: number };
  samples: FedSample[];
}

export interface FederationInput {
  seed: number;
  hubs: number;
  agents: number;
  tasks: number;
  durationS: number;
  settleS: number;
  overlap: number;
  taskMeanS: number;
  timeoutS: number;
  partitionRate: number;
  partitionMeanS: number;
  cutOff: readonly number[];
  crashRate: number;
  crashMeanS: number;
  delayMs: number;
  loss: number;
  leaseS: number;
  syncIntervalS: number;
  quorum?: boolean;
  progress?: (done: number, total: number) => void;
}

export function runFederation(input: FederationInput): FederationRun {
  const params = mergeParams({});
  const world = new FedWorld({
    seed: input.seed,
    hubs: input.hubs,
    agentsPerHub: input.agents,
    tasks: input.tasks,
    durationS: input.durationS,
    overlap: input.overlap,
    taskMeanS: input.taskMeanS,
    timeoutS: input.timeoutS,
    partitionRate: input.partitionRate,
    partitionMeanS: input.partitionMeanS,
    cutOff: input.cutOff,
    crashRate: input.crashRate,
    crashMeanS: input.crashMeanS,
    gossipDelayMs: input.delayMs,
    gossipLoss: input.loss,
    leaseS: input.leaseS,
    syncIntervalS: input.syncIntervalS,
    settleS: input.settleS,
    quorum: input.quorum ?? true,
    params,
    policy: validationPolicy(params),
  });
  world.run(input.progress);
  const end = world.finalCheck();
  const doubly = world.doublyDecided();
  const converged = world.heals.flatMap((h) => (h.convergedAfterS === null ? [] : [h.convergedAfterS]));
  const sum = (pick: (h: (typeof world.hubs)[number]) => number): number => world.hubs.reduce((a, h) => a + pick(h), 0);
  return {
    seed: input.seed,
    tasks: {
      submitted: world.submitted.length,
      validated: end.validated,
      abandoned: end.abandoned,
      decisions: world.decisions.length,
      takeovers: sum((h) => h.counts.takeovers),
    },
    lost: { count: end.lostUnknown.length + end.lostStuck.length, unknown: end.lostUnknown, stuck: end.lostStuck },
    doublyDecided: { count: doubly.length, tasks: doubly },
    divergent: end.divergent,
    trustSpread: round(end.trustSpread, 6),
    heals: world.heals,
    convergence: summarize(converged),
    network: {
      ...world.counts,
      deferredEntries: sum((h) => h.counts.deferred),
      refusedEntries: sum((h) => h.counts.rejected),
      ignoredClaims: sum((h) => h.counts.ignoredClaims),
      fenced: sum((h) => h.counts.fenced),
    } as FederationRun['network'],
    samples: world.samples,
  };
}

/** Whether a run broke the federation's promises: anything lost, decided twice, or left different on two hubs. */
export function violations(run: FederationRun): string[] {
  const out: string[] = [];
  if (run.lost.count > 0) out.push(`${run.lost.count} lost task(s) (${run.lost.unknown.length} unknown to a live hub, ${run.lost.stuck.length} never ended)`);
  if (run.doublyDecided.count > 0) out.push(`${run.doublyDecided.count} doubly decided task(s)`);
  if (run.divergent.length > 0) out.push(`${run.divergent.length} task(s) ending differently on two hubs`);
  if (run.trustSpread > 1e-6) out.push(`trust differs between hubs by up to ${run.trustSpread}`);
  return out;
}

/** Options that depend on each other, checked before anything runs or is written (the shell calls it first). */
export function checkFederationOptions(o: { hubs: number; 'cut-off': readonly number[] }): void {
  const cut = o['cut-off'];
  for (const i of cut) {
    if (i >= o.hubs) throw new InvalidOptionError('cut-off', cut.join(','), `hub indexes from 0 to ${o.hubs - 1} (there are ${o.hubs} hubs)`);
  }
  if (cut.length >= o.hubs) throw new InvalidOptionError('cut-off', cut.join(','), `at most ${o.hubs - 1} of the ${o.hubs} hubs: a partition leaves someone on the other side`);
}

const scenario = defineScenario({
  name: 'federation',
  description: 'several hubs with partitions, heals and crashes: convergence, lost and doubly decided tasks (must be 0)',
  options,
  run({ seeds, options: o, progress }) {
    checkFederationOptions(o);
    const runs: FederationRun[] = [];
    for (const [i, seed] of seeds.entries()) {
      runs.push(
        runFederation({
          seed,
          hubs: o.hubs,
          agents: o.agents,
          tasks: o.tasks,
          durationS: o.duration,
          settleS: o.settle,
          overlap: o.overlap,
          taskMeanS: o['task-mean'],
          timeoutS: o.timeout,
          partitionRate: o['partition-rate'],
          partitionMeanS: o['partition-duration'],
          cutOff: o['cut-off'],
          crashRate: o['crash-rate'],
          crashMeanS: o['crash-duration'],
          delayMs: o.delay,
          loss: o.loss,
          leaseS: o.lease,
          syncIntervalS: o['sync-interval'],
          quorum: !o['no-quorum'],
          progress: (done, total) => progress?.(i * total + done, seeds.length * total),
        }),
      );
    }
    const result = { scenario: 'federation', seeds: [...seeds], options: { ...o }, violations: runs.map((r) => ({ seed: r.seed, found: violations(r) })), runs };
    return { result, summary: summary(runs, o), charts: charts(runs), text: text(runs) };
  },
});

export const federation = Object.assign(scenario, { check: (options: Record<string, unknown>) => checkFederationOptions(options as Parameters<typeof checkFederationOptions>[0]) });

function charts(runs: readonly FederationRun[]): Array<{ name: string; spec: ReturnType<typeof lines> }> {
  const heals: LineRow[] = runs.flatMap((r) => r.heals.filter((h) => h.convergedAfterS !== null).map((h) => ({ x: round(h.at / 1000, 1), y: h.convergedAfterS as number, series: `seed ${r.seed}: ${h.kind}` })));
  const timeline: LineRow[] = runs.flatMap((r) =>
    r.samples.flatMap((s) => [
      { x: s.t, y: s.decided, series: `seed ${r.seed}: tasks validated` },
      { x: s.t, y: s.hubsUp * 10, series: `seed ${r.seed}: hubs up x 10` },
      { x: s.t, y: s.partitioned ? 5 : 0, series: `seed ${r.seed}: partitioned (5) or not (0)` },
    ]),
  );
  return [
    { name: 'convergence', spec: lines({ title: 'Convergence after each heal (every live hub holds the same decisions and trust)', xTitle: 'heal at, seconds', yTitle: 'seconds to converge', rows: heals, seriesTitle: 'run: event' }) },
    { name: 'timeline', spec: lines({ title: 'The federation over time', xTitle: 'seconds', yTitle: 'count', rows: timeline, seriesTitle: 'series' }) },
  ];
}

const LOUD = '!!! FEDERATION INVARIANT BROKEN';

function text(runs: readonly FederationRun[]): string {
  const out: string[] = [];
  for (const r of runs) {
    const c = r.convergence;
    out.push(
      `seed ${r.seed}: ${r.tasks.submitted} tasks, ${r.tasks.validated} validated, ${r.tasks.abandoned} abandoned, ${r.tasks.takeovers} takeovers; ${r.network.partitions} partitions, ${r.network.crashes} crashes`,
      `  convergence after ${r.heals.length} heals: ${c === null ? 'n/a' : `min ${c.min} s / avg ${c.avg} s / max ${c.max} s`}${r.heals.some((h) => h.convergedAfterS === null && !h.interrupted) ? ' (some never converged)' : ''}`,
      `  lost tasks: ${r.lost.count}   doubly decided tasks: ${r.doublyDecided.count}   divergent at the end: ${r.divergent.length}   trust spread: ${r.trustSpread}`,
    );
    const v = violations(r);
    if (v.length > 0) out.push(`  ${LOUD} (seed ${r.seed}): ${v.join('; ')}`);
  }
  return `${out.join('\n')}\n`;
}

function summary(runs: readonly FederationRun[], o: Record<string, unknown>): string {
  const out = ['# federation', ''];
  out.push(
    `${o.hubs} hubs with ${o.agents} agents each; ${o.tasks} tasks (overlap ${o.overlap}) submitted to random hubs; ${o['partition-rate']} partitions per hour (mean ${o['partition-duration']} s), ${o['crash-rate']} home-hub crashes per hour (mean ${o['crash-duration']} s down); gossip delay ${o.delay} ms, loss ${o.loss}; lease ${o.lease} s, sync every ${o['sync-interval']} s. After ${o.duration} s everything heals and the run settles for ${o.settle} s.`,
    '',
    'The rules are the hub\'s own (hub/federated/ and the core); only the network, the clock and the agents are simulated. Convergence: from a heal (or a restart) until every live hub holds every task decided anywhere by then the same way, and the same trust for every agent. A lost task is one accepted by a hub that some live hub does not know or that never ended; a doubly decided task was validated twice or had one round decided by two hubs. Both must be zero.',
    '',
    '![convergence](convergence.svg)',
    '',
    '![timeline](timeline.svg)',
    '',
    '| seed | submitted | validated | abandoned | takeovers | partitions | crashes | heals | convergence min / avg / max (s) | **lost** | **doubly decided** | divergent | trust spread |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |',
  );
  for (const r of runs) {
    const c = r.convergence;
    out.push(
      `| ${r.seed} | ${r.tasks.submitted} | ${r.tasks.validated} | ${r.tasks.abandoned} | ${r.tasks.takeovers} | ${r.network.partitions} | ${r.network.crashes} | ${r.heals.length} | ${c === null ? 'n/a' : `${c.min} / ${c.avg} / ${c.max}`} | **${r.lost.count}** | **${r.doublyDecided.count}** | ${r.divergent.length} | ${r.trustSpread} |`,
    );
  }
  out.push('');
  for (const r of runs) {
    const v = violations(r);
    if (v.length === 0) continue;
    out.push(`## ${LOUD}: seed ${r.seed}`, '', ...v.map((x) => `- ${x}`), '');
    for (const d of r.doublyDecided.tasks.slice(0, 10)) {
      out.push(`- task ${d.taskId.slice(0, 16)}…: ${d.decisions.map((x) => `${x.origin} round ${x.round} ${x.outcome} (${x.policy}) at ${round(x.at / 1000, 1)} s`).join('; ')}`);
    }
    out.push('');
  }
  out.push('## Heals', '', '| seed | event | at (s) | lasted (s) | hubs | decided by then | converged after (s) |', '| ---: | --- | ---: | ---: | --- | ---: | --- |');
  for (const r of runs) {
    for (const h of r.heals) {
      out.push(`| ${r.seed} | ${h.kind} | ${round(h.at / 1000, 1)} | ${h.lastedS} | ${h.hubs.join(', ')} | ${h.decidedByThen} | ${h.convergedAfterS ?? (h.interrupted ? 'interrupted by the next disruption' : 'never')} |`);
    }
  }
  out.push('');
  return out.join('\n');
}
