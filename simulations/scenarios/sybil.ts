import { SCHEDULING_POLICIES, type SchedulingPolicy, VALIDATION_POLICIES, type ValidationPolicyName, mergeParams, onProbation, spotCheckDue, validationPolicy } from '../../src/core/index.ts';
import { taskSpec } from '../../src/core/task-spec.ts';
import { Attacker, type Behaviour } from '../harness/behaviour.ts';
import { type LineRow, lines } from '../harness/charts.ts';
import { exponentialDuration } from '../harness/durations.ts';
import { Random } from '../harness/random.ts';
import { defineScenario } from '../harness/scenario.ts';
import { round, summarize } from '../harness/stats.ts';
import { World } from '../harness/world.ts';
import { agentId } from './thesis-workload.ts';

/**
 * The Sybil attack (Douceur 2002) against trust-weighted validation: one party holds a share f
 * of the identities, mints new keys at a steady rate (each starts at the hub's initial trust,
 * like any newcomer), and on each task decides with probability s that all its identities
 * report the same wrong result; otherwise they answer correctly, to earn trust. Every
 * validation policy the core offers is run on the same workload and attack.
 *
 * The hub places replicas of a task in distinct address blocks (core: mayHoldReplica). Honest
 * agents each have their own; the attacker's identities share `--attacker-blocks` blocks, or,
 * with 0 (the default, its strongest position), each has one of its own. Under the credibility
 * policy, an agent that asks for work may get a known-answer task instead (a spot-check, which
 * the attacker cannot tell from the others): always while it is on probation, at
 * credibility.spotCheckRate after; and a round starts with one replica, adding more while the
 * result is not credible enough (adaptive replication).
 */

const options = {
  fractions: { kind: 'number-list', min: 0, max: 0.95, default: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6], description: 'share f of the identities the attacker holds at the start' },
  collude: { kind: 'number', min: 0, max: 1, default: 0.5, description: 's: probability that the attacker lies (all its identities, same wrong result) on a task' },
  'mint-rate': { kind: 'number', min: 0, max: 1_000_000, default: 60, description: 'new attacker identities per hour' },
  honest: { kind: 'int', min: 1, max: 100_000, default: 50, description: 'honest agents' },
  overlap: { kind: 'int', min: 1, max: 16, default: 3, description: 'replicas per task' },
  'min-trust': { kind: 'number', min: 0, max: 10, default: 5, description: 'trust a task requires (newcomers start at trust.initial = 5.0)' },
  load: { kind: 'number', min: 0.01, max: 10, default: 0.5, description: 'task arrivals as a share of the honest agents\' CPU' },
  'task-mean': { kind: 'number', min: 0.1, max: 86_400, default: 60, description: 'mean run time of a replica (exponential), seconds' },
  duration: { kind: 'number', min: 1, max: 30 * 86_400, default: 3600, description: 'simulated time, seconds' },
  policies: { kind: 'choice-list', choices: VALIDATION_POLICIES, default: VALIDATION_POLICIES, description: 'validation policies compared' },
  scheduling: { kind: 'choice', choices: SCHEDULING_POLICIES, default: 'heuristic', description: 'scheduling policy' },
  'attacker-blocks': { kind: 'int', min: 0, max: 1_000_000, default: 0, description: 'network address blocks the attacker\'s identities share (0: one each, the strongest attacker)' },
  warmup: { kind: 'number', min: 0, max: 30 * 86_400, default: 0, description: 'seconds before tasks count in the rates (agents earn their records meanwhile)' },
} as const;

/** Every agent: 4 cores, 8 GB; every task: 1 core, 1 GB. Capacity is not what this is about. */
const AGENT = { cpu: 4, ramGb: 8 } as const;
const TASK = { cpu: 1, ramGb: 1 } as const;
const WRONG = 'sybil-wrong-result';

export interface SybilInput {
  seed: number;
  fraction: number;
  collude: number;
  mintPerHour: number;
  honest: number;
  overlap: number;
  minTrust: number;
  load: number;
  taskMeanS: number;
  durationS: number;
  validation: ValidationPolicyName;
  scheduling: SchedulingPolicy;
  /** Address blocks the attacker's identities share; 0: one each. */
  attackerBlocks?: number;
  /** Tasks submitted (and spot-checks handed out) before this many seconds do not count in the rates. */
  warmupS?: number;
}

export interface SybilResult {
  fraction: number;
  policy: ValidationPolicyName;
  identities: { honest: number; attackerAtStart: number; minted: number };
  /**
   * submitted, validated, abandoned, validatedPerHour: the whole run. counted: the validated
   * tasks submitted after the warm-up; acceptedWrong: the wrong results among them.
   */
  tasks: { submitted: number; validated: number; abandoned: number; counted: number; acceptedWrong: number; acceptedWrongRate: number; validatedPerHour: number };
  /**
   * Replicas started for the finished tasks submitted after the warm-up (abandoned ones and the
   * spot-checks handed out after it included) per task validated among them.
   */
  executionsPerAcceptedTask: number;
  /** Known-answer tasks the hub added, and the attacker identities they caught lying. */
  spotChecks: { added: number; liarsCaught: number };
  /** Fresh (minted) identities: how soon their votes counted, and how soon they won a wrong result. */
  freshIdentities: { voted: number; mintToFirstVoteS: number | null; wonWrong: number; mintToFirstWrongWinS: number | null };
  /** Attacker identities whose trust stayed at or above the tasks' minimum at the end (still eligible). */
  attackerEligibleAtEnd: number;
}

export function runSybil(input: SybilInput): SybilResult {
  const params = mergeParams({ validation: { policy: input.validation }, scheduling: { policy: input.scheduling } });
  const root = new Random(input.seed);
  const taskRng = root.stream();
  const attackRng = root.stream();
  const runRng = root.stream();
  const policyRng = root.stream();
  const spotRng = root.stream();
  const attacker = new Attacker(attackRng);
  const credibility = input.validation === 'credibility';
  const sybil: Behaviour = { kind: 'sybil', wrong: WRONG, collude: input.collude, attacker };
  const endMs = Math.round(input.durationS * 1000);
  const warmupMs = Math.round((input.warmupS ?? 0) * 1000);

  const spec = (id: string): ReturnType<typeof taskSpec> => taskSpec({ image: 'sim/task', command: ['run', id], cpu: TASK.cpu, ramGb: TASK.ramGb, minTrust: input.minTrust, overlap: input.overlap, timeoutS: 600 });

  const minted = new Map<string, { at: number; firstVote?: number; firstWrongWin?: number }>();
  const attackerIds = new Set<string>();
  let acceptedWrong = 0;
  let executions = 0;
  let checks = 0;
  let accepted = 0;
  const world = new World({
    params,
    scheduling: input.scheduling,
    validation: validationPolicy(params),
    duration: exponentialDuration(input.taskMeanS),
    rng: runRng,
    tickMs: 1000,
    forgetFinished: true,
    onDecision: (task, decision) => {
      const now = world.now;
      for (const group of decision.groups) {
        for (const voter of group.voters) {
          const fresh = minted.get(voter);
          if (fresh === undefined) continue;
          fresh.firstVote ??= now - fresh.at;
          if (decision.outcome === 'validated' && group.digest === WRONG && decision.digest === WRONG) fresh.firstWrongWin ??= now - fresh.at;
        }
      }
      if (decision.outcome === 'validated') attacker.forget(task.id);
    },
    onFinished: (record) => {
      if (record.submittedAt < warmupMs) return;
      executions += record.executions;
      if (record.status !== 'validated' || record.spotCheck) return;
      accepted++;
      if (record.acceptedWrong) acceptedWrong++;
    },
    onSpotCheck: (task) => attacker.forget(task.id),
    policyRng,
    diversity: true,
    // Under the credibility policy, an agent asking for work may get a known-answer task instead:
    // always on probation (each of its free cores), at credibility.spotCheckRate after.
    onAgentReady: (agentId) => {
      if (!credibility) return;
      const agent = world.hub.agents.get(agentId);
      while (agent !== undefined && spotCheckDue(agent.stats, () => spotRng.float(), params)) {
        const id = `check-${checks++}`;
        if (!world.spotCheck(agentId, spec(id), `result-of-${id}`, id)) break;
        if (!onProbation(agent.stats, params)) break;
      }
    },
  });

  const join = (label: string, behaviour: Behaviour, addressBlock: string): string => {
    const id = agentId(label);
    world.join({ id, name: label, total: { ...AGENT }, trust: params.trust.initial, behaviour, addressBlock });
    return id;
  };
  const blocks = input.attackerBlocks ?? 0;
  let attackerIdentities = 0;
  const joinAttacker = (label: string): string => {
    const n = attackerIdentities++;
    return join(label, sybil, blocks === 0 ? `block-${label}` : `attacker-block-${n % blocks}`);
  };
  for (let i = 0; i < input.honest; i++) join(`honest-${i}`, { kind: 'honest' }, `block-honest-${i}`);
  const attackerAtStart = input.fraction === 0 ? 0 : Math.round((input.fraction / (1 - input.fraction)) * input.honest);
  for (let i = 0; i < attackerAtStart; i++) attackerIds.add(joinAttacker(`sybil-${i}`));
  let mintedCount = 0;
  if (input.mintPerHour > 0) {
    const mint = (): void => {
      const id = joinAttacker(`sybil-minted-${mintedCount++}`);
      attackerIds.add(id);
      minted.set(id, { at: world.now });
      const next = world.now + Math.max(1, Math.round(attackRng.exponential(3_600_000 / input.mintPerHour)));
      if (next < endMs) world.at(next, mint);
    };
    world.at(Math.max(1, Math.round(attackRng.exponential(3_600_000 / input.mintPerHour))), mint);
  }

  const rate = (input.load * input.honest * AGENT.cpu) / (TASK.cpu * input.taskMeanS * input.overlap);
  let n = 0;
  const arrive = (): void => {
    const id = `task-${n++}`;
    world.submit(spec(id), `result-of-${id}`, id);
    const next = world.now + Math.max(1, Math.round(taskRng.exponential(1000 / rate)));
    if (next < endMs) world.at(next, arrive);
  };
  world.at(Math.max(1, Math.round(taskRng.exponential(1000 / rate))), arrive);
  world.run({ until: endMs });

  const fresh = [...minted.values()];
  const firstVotes = fresh.flatMap((f) => (f.firstVote === undefined ? [] : [f.firstVote / 1000]));
  const wrongWins = fresh.flatMap((f) => (f.firstWrongWin === undefined ? [] : [f.firstWrongWin / 1000]));
  let eligible = 0;
  for (const id of attackerIds) if ((world.hub.agents.get(id)?.trust ?? 0) >= input.minTrust) eligible++;
  const validated = world.hub.counts.validated;
  return {
    fraction: input.fraction,
    policy: input.validation,
    identities: { honest: input.honest, attackerAtStart, minted: mintedCount },
    tasks: {
      submitted: world.hub.counts.submitted,
      validated,
      abandoned: world.hub.counts.abandoned,
      counted: accepted,
      acceptedWrong,
      acceptedWrongRate: accepted === 0 ? 0 : round(acceptedWrong / accepted, 6),
      validatedPerHour: round((validated * 3_600_000) / endMs, 1),
    },
    executionsPerAcceptedTask: accepted === 0 ? 0 : round(executions / accepted, 3),
    spotChecks: { added: world.hub.counts.spotChecks, liarsCaught: world.hub.counts.liarsCaught },
    freshIdentities: { voted: firstVotes.length, mintToFirstVoteS: summarize(firstVotes)?.p50 ?? null, wonWrong: wrongWins.length, mintToFirstWrongWinS: summarize(wrongWins)?.p50 ?? null },
    attackerEligibleAtEnd: eligible,
  };
}

export const sybil = defineScenario({
  name: 'sybil',
  description: 'an attacker holding a share f of the identities (and minting more) colludes on wrong results, per validation policy',
  options,
  run({ seeds, options: o, progress }) {
    const total = seeds.length * o.policies.length * o.fractions.length;
    let done = 0;
    const runs: Array<SybilResult & { seed: number }> = [];
    for (const seed of seeds) {
      for (const policy of o.policies as ValidationPolicyName[]) {
        for (const fraction of o.fractions) {
          const r = runSybil({
            seed,
            fraction,
            collude: o.collude,
            mintPerHour: o['mint-rate'],
            honest: o.honest,
            overlap: o.overlap,
            minTrust: o['min-trust'],
            load: o.load,
            taskMeanS: o['task-mean'],
            durationS: o.duration,
            validation: policy,
            scheduling: o.scheduling as SchedulingPolicy,
            attackerBlocks: o['attacker-blocks'],
            warmupS: o.warmup,
          });
          runs.push({ seed, ...r });
          progress?.(++done, total);
        }
      }
    }
    // Mean over seeds, per policy and fraction.
    const mean = (o.policies as ValidationPolicyName[]).flatMap((policy) =>
      o.fractions.map((fraction) => {
        const of = runs.filter((r) => r.policy === policy && r.fraction === fraction);
        const avg = (pick: (r: SybilResult) => number | null, decimals = 4): number | null => {
          const xs = of.map(pick).filter((x): x is number => x !== null);
          return xs.length === 0 ? null : round(xs.reduce((a, b) => a + b, 0) / xs.length, decimals);
        };
        return {
          policy,
          fraction,
          acceptedWrongRate: avg((r) => r.tasks.acceptedWrongRate, 6),
          executionsPerAcceptedTask: avg((r) => r.executionsPerAcceptedTask),
          spotChecks: avg((r) => r.spotChecks.added, 1),
          liarsCaught: avg((r) => r.spotChecks.liarsCaught, 1),
          validatedPerHour: avg((r) => r.tasks.validatedPerHour),
          mintToFirstVoteS: avg((r) => r.freshIdentities.mintToFirstVoteS),
          mintToFirstWrongWinS: avg((r) => r.freshIdentities.mintToFirstWrongWinS),
        };
      }),
    );
    const rows = (pick: (m: (typeof mean)[number]) => number | null): LineRow[] =>
      mean.flatMap((m) => {
        const y = pick(m);
        return y === null ? [] : [{ x: m.fraction, y, series: m.policy }];
      });
    const charts = [
      { name: 'accepted-wrong', spec: lines({ title: `Wrong results accepted (s = ${o.collude}, ${o['mint-rate']} new keys/h)`, xTitle: 'attacker share of identities f', yTitle: 'accepted-wrong rate', seriesTitle: 'policy', rows: rows((m) => m.acceptedWrongRate) }) },
      { name: 'executions-per-task', spec: lines({ title: 'Executions per accepted task', xTitle: 'attacker share of identities f', yTitle: 'executions', seriesTitle: 'policy', rows: rows((m) => m.executionsPerAcceptedTask) }) },
    ];
    const result = { scenario: 'sybil', seeds: [...seeds], options: { ...o }, mean, runs };
    return { result, summary: summary(o, mean, seeds.length), charts, text: text(mean) };
  },
});

type MeanRow = {
  policy: string;
  fraction: number;
  acceptedWrongRate: number | null;
  executionsPerAcceptedTask: number | null;
  spotChecks: number | null;
  liarsCaught: number | null;
  validatedPerHour: number | null;
  mintToFirstVoteS: number | null;
  mintToFirstWrongWinS: number | null;
};

const show = (x: number | null, digits = 1): string => (x === null ? 'n/a' : x.toFixed(digits));

function text(mean: readonly MeanRow[]): string {
  const out = [`${'policy'.padEnd(13)}${'f'.padEnd(6)}${'wrong rate'.padEnd(12)}${'exec/task'.padEnd(11)}${'tasks/h'.padEnd(10)}${'spot-checks'.padEnd(13)}${'caught'.padEnd(8)}${'new key: first vote s'.padEnd(23)}first wrong win s`];
  for (const m of mean) {
    out.push(`${m.policy.padEnd(13)}${m.fraction.toFixed(2).padEnd(6)}${show(m.acceptedWrongRate, 6).padEnd(12)}${show(m.executionsPerAcceptedTask, 2).padEnd(11)}${show(m.validatedPerHour).padEnd(10)}${show(m.spotChecks, 0).padEnd(13)}${show(m.liarsCaught, 0).padEnd(8)}${show(m.mintToFirstVoteS).padEnd(23)}${show(m.mintToFirstWrongWinS)}`);
  }
  return `${out.join('\n')}\n`;
}

function summary(o: Record<string, unknown>, mean: readonly MeanRow[], seedCount: number): string {
  const out = ['# sybil', ''];
  out.push(
    `${String(o.honest)} honest agents; the attacker holds a share f of the identities at the start and mints ${String(o['mint-rate'])} new identities per hour, each starting at the hub's initial trust like any newcomer. On each task the attacker lies with probability s = ${String(o.collude)}: all its identities on that task report the same wrong result; otherwise they answer correctly and earn trust.`,
    `Tasks: overlap ${String(o.overlap)}, required trust ${String(o['min-trust'])}, 1 core / 1 GB, exponential run times (mean ${String(o['task-mean'])} s), Poisson arrivals at ${String(o.load)} of the honest CPU. ${String(o.duration)} s simulated${seedCount > 1 ? `, mean of ${seedCount} seeds` : ''}; tasks submitted in the first ${String(o.warmup)} s do not count in the rates.`,
    `Replicas of a task never share a network address block; the attacker's identities ${o['attacker-blocks'] === 0 ? 'each have a block of their own (diversity cannot help)' : `share ${String(o['attacker-blocks'])} blocks`}.`,
    'The credibility policy (src/core/credibility.ts) accepts a result once the probability that it is right, from the verified records of its voters and of those who disagreed, reaches 1 - epsilon; a round starts with one replica and adds more until then; a result resting on one agent\'s word is still cross-checked at random (adaptive replication); a newcomer runs known-answer tasks (spot-checks) only, until its record makes its word count, and everyone else gets one now and then. Trust-sum is the thesis\' rule with the task\'s overlap.',
    'Accepted-wrong rate: wrong results among the validated tasks. Executions per accepted task: every replica started (spot-checks and abandoned tasks included) per validated task. Spot-checks: known-answer tasks handed out; caught: identities that answered one wrong. A fresh identity\'s first vote: seconds from its minting to its first vote counted in a decision; first wrong win: to the first decision that accepted the attacker\'s wrong result with its vote.',
    '',
    '![accepted wrong](accepted-wrong.svg)',
    '',
    '| policy | f | accepted-wrong rate | executions per accepted task | validated per hour | spot-checks | caught | new key: first vote (s, median) | new key: first wrong win (s, median) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const m of mean) {
    out.push(`| ${m.policy} | ${m.fraction} | ${show(m.acceptedWrongRate, 6)} | ${show(m.executionsPerAcceptedTask, 2)} | ${show(m.validatedPerHour)} | ${show(m.spotChecks, 0)} | ${show(m.liarsCaught, 0)} | ${show(m.mintToFirstVoteS)} | ${show(m.mintToFirstWrongWinS)} |`);
  }
  out.push('', 'The core offers the validation policies listed in VALIDATION_POLICIES; each new one appears here without a change to this scenario.', '');
  return out.join('\n');
}
