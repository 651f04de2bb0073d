import { parseArgs } from 'node:util';
import type { ValidationPolicyName } from '../src/core/index.ts';
import { type SybilInput, type SybilResult, runSybil } from '../simulations/scenarios/sybil.ts';
import { BenchUsageError, type BenchResult, positiveInt, result, round } from './lib.ts';

export const description = 'wrong results accepted when an attacker holds 30% of the identities and mints keys (credibility policy; trust-sum beside it)';

/**
 * The sybil scenario, on the same seeds for every policy: an attacker with 30% and 49% of the
 * identities (minting 60 new keys an hour), colluding on one wrong result with each probability
 * in --collude, and an honest network alone. Rates count the tasks submitted after the warm-up,
 * when agents have a record. The line's value is the credibility policy's accepted-wrong rate at
 * 30% (the worst over --collude); `upper95` is what the run can vouch for at 95%: 3 / N with no
 * wrong result among N tasks (the rule of three), about (w + 2 sqrt(w)) / N with w. A patient attacker (--patient, lying on few tasks to
 * keep its records) is measured too, and reported, not judged.
 */

const GOALS = { wrong30: 1e-4, wrong49: 1e-3, executions30: 2.5, honestExecutions: 1.3 } as const;

interface Tally {
  counted: number;
  wrong: number;
  executions: number;
}

export async function run(args: readonly string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      seeds: { type: 'string', default: '2' },
      honest: { type: 'string', default: '200' },
      hours: { type: 'string', default: '4' },
      'warmup-hours': { type: 'string', default: '1' },
      collude: { type: 'string', default: '0.5,1' },
      patient: { type: 'string', default: '0.05' },
    },
  });
  const seeds = positiveInt(values.seeds, 'seeds');
  const honest = positiveInt(values.honest, 'honest');
  const hours = Number(values.hours);
  const warmupHours = Number(values['warmup-hours']);
  if (!(hours > 0) || !(warmupHours >= 0) || warmupHours >= hours) throw new BenchUsageError('--hours must be > 0 and --warmup-hours in [0, hours)');
  const colludes = (values.collude ?? '').split(',').map(Number);
  if (colludes.length === 0 || colludes.some((s) => !(s > 0 && s <= 1))) throw new BenchUsageError(`--collude must list probabilities in (0, 1], not ${JSON.stringify(values.collude)}`);
  const patient = Number(values.patient);
  if (!(patient >= 0 && patient <= 1)) throw new BenchUsageError('--patient must be in [0, 1] (0: skip)');

  const base = (seed: number, validation: ValidationPolicyName): SybilInput => ({
    seed,
    fraction: 0,
    collude: 0.5,
    mintPerHour: 60,
    honest,
    overlap: 3,
    minTrust: 5,
    load: 0.5,
    taskMeanS: 60,
    durationS: hours * 3600,
    warmupS: warmupHours * 3600,
    validation,
    scheduling: 'heuristic',
  });
  const cases: Array<{ name: string; input: Partial<SybilInput> }> = [
    ...colludes.flatMap((collude) => [
      { name: `f=0.3 s=${collude}`, input: { fraction: 0.3, collude } },
      { name: `f=0.49 s=${collude}`, input: { fraction: 0.49, collude } },
    ]),
    { name: 'honest only', input: { fraction: 0, mintPerHour: 0 } },
    ...(patient > 0 ? [{ name: `f=0.3 s=${patient} (patient)`, input: { fraction: 0.3, collude: patient } }] : []),
  ];
  const policies: ValidationPolicyName[] = ['credibility', 'trust-sum'];
  const tallies = new Map<string, Tally>();
  const started = performance.now();
  for (let seed = 1; seed <= seeds; seed++) {
    for (const policy of policies) {
      for (const c of cases) {
        const r: SybilResult = runSybil({ ...base(seed, policy), ...c.input });
        const key = `${policy} ${c.name}`;
        const t = tallies.get(key) ?? { counted: 0, wrong: 0, executions: 0 };
        t.counted += r.tasks.counted;
        t.wrong += r.tasks.acceptedWrong;
        t.executions += r.executionsPerAcceptedTask * r.tasks.counted;
        tallies.set(key, t);
      }
    }
    process.stderr.write(`sybil: seed ${seed} of ${seeds} done (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
  }

  const figures = (policy: ValidationPolicyName, name: string): { tasks: number; wrong: number; wrongRate: number; upper95: number; executionsPerTask: number } => {
    const t = tallies.get(`${policy} ${name}`) as Tally;
    return {
      tasks: t.counted,
      wrong: t.wrong,
      wrongRate: t.counted === 0 ? 0 : round(t.wrong / t.counted, 4),
      upper95: t.counted === 0 ? 1 : round((t.wrong === 0 ? 3 : t.wrong + 2 * Math.sqrt(t.wrong)) / t.counted, 3),
      executionsPerTask: t.counted === 0 ? 0 : round(t.executions / t.counted, 4),
    };
  };
  const table = Object.fromEntries(policies.map((p) => [p, Object.fromEntries(cases.map((c) => [c.name, figures(p, c.name)]))]));
  for (const p of policies) {
    for (const c of cases) {
      const f = table[p]?.[c.name] as ReturnType<typeof figures>;
      process.stderr.write(`sybil: ${p.padEnd(12)} ${c.name.padEnd(24)} wrong ${String(f.wrong).padStart(5)} of ${String(f.tasks).padStart(6)} (${f.wrongRate})  executions/task ${f.executionsPerTask}\n`);
    }
  }

  const worst = (policy: ValidationPolicyName, fraction: string, pick: (f: ReturnType<typeof figures>) => number): number =>
    Math.max(...colludes.map((s) => pick(figures(policy, `f=${fraction} s=${s}`))));
  const credibility = {
    wrong30: worst('credibility', '0.3', (f) => f.wrongRate),
    wrong49: worst('credibility', '0.49', (f) => f.wrongRate),
    executions30: worst('credibility', '0.3', (f) => f.executionsPerTask),
    honestExecutions: figures('credibility', 'honest only').executionsPerTask,
  };
  const targetsMet = {
    wrong30: credibility.wrong30 <= GOALS.wrong30,
    wrong49: credibility.wrong49 <= GOALS.wrong49,
    executions30: credibility.executions30 <= GOALS.executions30,
    honestExecutions: credibility.honestExecutions <= GOALS.honestExecutions,
  };
  return result(
    { bench: 'sybil', value: credibility.wrong30, unit: 'accepted-wrong rate at 30% attacker identities', goal: GOALS.wrong30, better: 'lower' },
    {
      upper95: worst('credibility', '0.3', (f) => f.upper95),
      credibility,
      goals: GOALS,
      targetsMet,
      trustSum: {
        wrong30: worst('trust-sum', '0.3', (f) => f.wrongRate),
        wrong49: worst('trust-sum', '0.49', (f) => f.wrongRate),
        executions30: worst('trust-sum', '0.3', (f) => f.executionsPerTask),
        honestExecutions: figures('trust-sum', 'honest only').executionsPerTask,
      },
      ...(patient > 0 ? { patientAttacker: { collude: patient, credibility: figures('credibility', `f=0.3 s=${patient} (patient)`), trustSum: figures('trust-sum', `f=0.3 s=${patient} (patient)`) } } : {}),
      runs: table,
      seeds,
      honest,
      hours,
      warmupHours,
      wallSeconds: round((performance.now() - started) / 1000, 3),
    },
  );
}
