import { round, short, time } from './format.ts';
import type { TaskView } from './types.ts';

/**
 * What a task view may carry about its decisions (the validation policy adds it: each voter's
 * weight and credibility, the policy that decided). Read loosely, so the pages show it when the
 * hub reports it and work the same when it does not.
 */
export interface RecordedDecision {
  round?: number;
  at?: number;
  policy?: string;
  outcome?: string;
  score?: number;
  reason?: string;
  votes?: Array<{ digest: string; voters: Array<{ agentId: string; trust?: number; credibility?: number }> }>;
}

export function recordedDecisions(task: TaskView): RecordedDecision[] {
  const decisions = (task as unknown as { decisions?: unknown }).decisions;
  return Array.isArray(decisions) ? decisions.filter((d): d is RecordedDecision => d !== null && typeof d === 'object') : [];
}

export function DecisionsTaken({ decisions, nameOf = short }: { decisions: RecordedDecision[]; nameOf?: (id: string) => string }) {
  if (decisions.length === 0) return null;
  return (
    <>
      <h3>Decisions taken</h3>
      <ol class="decisions">
        {decisions.map((d, i) => (
          <li key={i}>
            round {d.round ?? '—'}, {time(d.at)}: <strong>{d.outcome ?? '—'}</strong>
            {d.policy !== undefined && <> by {d.policy}</>}
            {d.score !== undefined && <>, score {round(d.score, 4)}</>}
            {d.reason !== undefined && <span class="muted"> — {d.reason}</span>}
            <ul>
              {(d.votes ?? []).map((group) => (
                <li key={group.digest}>
                  <span class="mono">{group.digest.slice(0, 16)}…</span>:{' '}
                  {group.voters
                    .map((v) => `${nameOf(v.agentId)} (trust ${v.trust === undefined ? '—' : round(v.trust, 3)}${v.credibility === undefined ? '' : `, credibility ${round(v.credibility, 4)}`})`)
                    .join(', ')}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
    </>
  );
}
