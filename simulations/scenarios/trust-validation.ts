import { digestOf } from '../../protocol/digest.ts';
import { type Decision, type Task, VALIDATION_POLICIES, mergeParams, validationPolicy } from '../../src/core/index.ts';
import { taskSpec } from '../../src/core/task-spec.ts';
import { fixedDuration } from '../harness/durations.ts';
import { Random } from '../harness/random.ts';
import { defineScenario } from '../harness/scenario.ts';
import { round } from '../harness/stats.ts';
import { World } from '../harness/world.ts';

/**
 * The thesis' experiment 6.1: five agents, two honest ones answering "42" and three malicious
 * ones answering "evil", one task with overlap 5, validation threshold 0.6. Trust 7.0 and 3.0 as
 * in the original's code and table (its text says 9.0 and 1.5). The numbers come out of the
 * core's validation policy, reached through the simulated hub like any other decision.
 */

const HONEST_OUTPUT = '42\n';
const MALICIOUS_OUTPUT = 'evil\n';

const options = {
  'honest-trust': { kind: 'number', min: 1, max: 10, default: 7.0, description: 'trust of the two honest agents' },
  'malicious-trust': { kind: 'number-list', min: 1, max: 10, default: [3.0, 3.5], description: 'trust of the three malicious agents, one variant per value' },
  honest: { kind: 'int', min: 0, max: 64, default: 2, description: 'honest agents' },
  malicious: { kind: 'int', min: 0, max: 64, default: 3, description: 'malicious agents' },
  threshold: { kind: 'number', min: 0.01, max: 1, default: 0.6, description: 'validation threshold' },
  policy: { kind: 'choice', choices: VALIDATION_POLICIES, default: 'trust-sum', description: 'validation policy' },
} as const;

export interface GroupReport {
  answer: string;
  trustSum: number;
  share: number;
  agents: string[];
}

export interface AgentReport {
  name: string;
  answer: string;
  trustBefore: number;
  trustAfter: number;
}

export interface VariantReport {
  maliciousTrust: number;
  firstDecision: {
    outcome: Decision['outcome'];
    accepted: string | null;
    score: number;
    trustScore: number;
    groups: GroupReport[];
    reason: string;
  };
  /** Trust of every agent right after the first decision. */
  agents: AgentReport[];
  /** Where the task ended: validated, or abandoned after its retries. */
  task: { status: Task['status']; rounds: number; decisions: number };
}

export const trustValidation = defineScenario({
  name: 'trust-validation',
  description: 'thesis experiment 6.1: 2 honest agents (trust 7.0, "42") vs 3 malicious (3.0, "evil"), threshold 0.6',
  options,
  run({ seeds, options: o }) {
    const seed = seeds[0] as number;
    const params = mergeParams({ validation: { policy: o.policy as 'trust-sum', threshold: o.threshold } });
    const labels = new Map([
      [digestOf(0, HONEST_OUTPUT), '42'],
      [digestOf(0, MALICIOUS_OUTPUT), 'evil'],
    ]);
    const label = (digest: string | null): string => (digest === null ? 'none' : (labels.get(digest) ?? digest));

    const variants: VariantReport[] = o['malicious-trust'].map((maliciousTrust) => {
      const decisions: Decision[] = [];
      const world = new World({
        params,
        scheduling: params.scheduling.policy,
        validation: validationPolicy(params),
        duration: fixedDuration(),
        rng: new Random(seed).stream(),
        tickMs: 1000,
        log: true,
        onDecision: (_task, decision) => decisions.push(decision),
      });
      const agents = [
        ...Array.from({ length: o.honest }, (_, i) => ({ name: `honest-${i + 1}`, trust: o['honest-trust'], answer: '42', behaviour: { kind: 'honest' } as const })),
        ...Array.from({ length: o.malicious }, (_, i) => ({ name: `malicious-${i + 1}`, trust: maliciousTrust, answer: 'evil', behaviour: { kind: 'malicious', wrong: digestOf(0, MALICIOUS_OUTPUT) } as const })),
      ];
      for (const a of agents) world.join({ id: a.name, name: a.name, total: { cpu: 1, ramGb: 1 }, trust: a.trust, behaviour: a.behaviour });
      const overlap = agents.length;
      const minTrust = Math.max(0, Math.min(2.5, ...agents.map((a) => a.trust)));
      const spec = taskSpec({ image: 'alpine', command: ['echo', '42'], cpu: 1, ramGb: 1, minTrust, overlap, timeoutS: 60, description: 'Trust Validation Experiment' });
      const taskId = world.submit(spec, digestOf(0, HONEST_OUTPUT));
      world.run();

      const first = decisions[0];
      if (first === undefined) throw new Error('the task was never decided');
      const trustBefore = new Map(agents.map((a) => [a.name, a.trust]));
      const trustAfterFirst = new Map(trustBefore);
      for (const change of first.trustChanges) trustAfterFirst.set(change.agentId, change.after);
      const task = world.hub.tasks.get(taskId) as Task;
      return {
        maliciousTrust,
        firstDecision: {
          outcome: first.outcome,
          accepted: first.outcome === 'validated' ? label(first.digest) : null,
          score: round(first.score, 4),
          trustScore: first.trustScore,
          groups: first.groups.map((g) => ({ answer: label(g.digest), trustSum: round(g.weight, 6), share: round(g.share, 4), agents: g.voters })),
          reason: first.reason,
        },
        agents: agents.map((a) => ({ name: a.name, answer: a.answer, trustBefore: a.trust, trustAfter: trustAfterFirst.get(a.name) as number })),
        task: { status: task.status, rounds: task.round, decisions: decisions.length },
      };
    });

    const result = {
      scenario: 'trust-validation',
      seed,
      params: { policy: o.policy, threshold: o.threshold, honest: o.honest, malicious: o.malicious, honestTrust: o['honest-trust'], trustReward: params.trust.reward, trustPenalty: params.trust.penalty },
      thesis: { table6_1: [{ answer: '42', trustSum: 14.0, share: 0.6087 }, { answer: 'evil', trustSum: 9.0, share: 0.3913 }], trustScore: 6.1 },
      variants,
    };
    return { result, summary: summary(result), charts: [], text: text(variants, o.threshold) };
  },
});

function fmt(x: number, digits: number): string {
  return x.toFixed(digits);
}

function text(variants: readonly VariantReport[], threshold: number): string {
  const lines: string[] = [];
  for (const v of variants) {
    const d = v.firstDecision;
    lines.push(`malicious trust ${fmt(v.maliciousTrust, 1)} (threshold ${threshold}):`);
    for (const g of d.groups) lines.push(`  ${g.answer.padEnd(6)} trust sum ${fmt(g.trustSum, 1).padStart(5)}  share ${fmt(g.share, 4)}  (${g.agents.length} agent${g.agents.length === 1 ? '' : 's'})`);
    lines.push(d.outcome === 'validated' ? `  accepted "${d.accepted}", trust score ${fmt(d.trustScore, 1)}` : `  not accepted (${d.reason}); trust unchanged`);
    lines.push(`  trust after: ${v.agents.map((a) => `${a.name} ${fmt(a.trustAfter, 1)}`).join(', ')}`);
    lines.push(`  task ${v.task.status} after ${v.task.rounds} round${v.task.rounds === 1 ? '' : 's'}`);
  }
  return `${lines.join('\n')}\n`;
}

function summary(result: { params: { threshold: number }; variants: VariantReport[] }): string {
  const out: string[] = ['# trust-validation (thesis experiment 6.1)', ''];
  out.push('Five agents run one task (overlap 5); the honest ones print `42`, the malicious ones `evil`.');
  out.push(`Validation: trust-weighted sum, threshold ${result.params.threshold}. The thesis' Table 6.1: 14.0 (0.6087) vs 9.0 (0.3913), accepted, trust score 6.1.`, '');
  for (const v of result.variants) {
    const d = v.firstDecision;
    out.push(`## Malicious agents at trust ${fmt(v.maliciousTrust, 1)}`, '');
    out.push('| output | trust sum | share of total trust |', '| --- | ---: | ---: |');
    for (const g of d.groups) out.push(`| ${g.answer} | ${fmt(g.trustSum, 1)} | ${fmt(g.share, 4)} |`);
    out.push('');
    out.push(d.outcome === 'validated' ? `Accepted: **${d.accepted}**, trust score **${fmt(d.trustScore, 1)}**.` : `Not accepted: ${d.reason}. No trust changed.`);
    out.push('', '| agent | answered | trust before | trust after |', '| --- | --- | ---: | ---: |');
    for (const a of v.agents) out.push(`| ${a.name} | ${a.answer} | ${fmt(a.trustBefore, 1)} | ${fmt(a.trustAfter, 1)} |`);
    out.push('', `The task ended ${v.task.status} after ${v.task.rounds} round(s) (${v.task.decisions} decision(s)).`, '');
  }
  return out.join('\n');
}
