import type { ComponentChildren } from 'preact';
import { CopyButton } from './CopyButton.tsx';
import { DecisionsTaken, recordedDecisions } from './decisions.tsx';
import { short, STATUS_COLORS, time } from './format.ts';
import type { TaskView } from './types.ts';

export function StatusBadge({ status }: { status: TaskView['status'] }) {
  return (
    <span class="badge" style={{ background: STATUS_COLORS[status] }} data-status={status}>
      {status}
    </span>
  );
}

/** A task as a card that opens on its details; `children` are what the page shows of it between id and time. */
export function TaskCard({ task, children }: { task: TaskView; children: ComponentChildren }) {
  return (
    <details class="card" data-task={task.id}>
      <summary>
        <StatusBadge status={task.status} />
        <span class="mono">{short(task.id)}</span>
        {children}
        <span class="muted">{time(task.submittedAt)}</span>
      </summary>
      <TaskDetails task={task} />
    </details>
  );
}

/** Everything about one task: status and reason, result, score, transitions, container spec, constraints. */
export function TaskDetails({ task }: { task: TaskView }) {
  const { spec } = task;
  return (
    <div class="body">
      <dl class="facts">
        <dt>Task</dt>
        <dd class="mono">{task.id}</dd>
        <dt>Status</dt>
        <dd>
          <StatusBadge status={task.status} />
        </dd>
        {task.reason !== undefined && (
          <>
            <dt>Why</dt>
            <dd>{task.reason}</dd>
          </>
        )}
        <dt>Trust score</dt>
        <dd>{task.trustScore === undefined ? '—' : `${task.trustScore} / 10`}</dd>
        <dt>Submitted</dt>
        <dd>{time(task.submittedAt)}</dd>
      </dl>
      <h3>Result</h3>
      {task.result === undefined ? (
        <p class="muted">No result yet.</p>
      ) : (
        <>
          <pre class="result" aria-label="result">
            {task.result.text}
          </pre>
          <p>
            exit code {task.result.exitCode ?? '—'} · digest <span class="mono">{task.result.digest.slice(0, 16)}…</span> <CopyButton text={task.result.text} label="Copy result" />
          </p>
        </>
      )}
      <h3>Transitions</h3>
      <ol class="transitions">
        {task.transitions.map((t, i) => (
          <li key={i}>
            <StatusBadge status={t.status} /> {time(t.at)}
            {t.reason !== undefined && <span class="muted"> — {t.reason}</span>}
          </li>
        ))}
      </ol>
      <h3>Container</h3>
      <dl class="facts">
        <dt>Image</dt>
        <dd class="mono">{spec.image}</dd>
        <dt>Command</dt>
        <dd class="mono">{JSON.stringify(spec.command)}</dd>
        <dt>CPU</dt>
        <dd>{spec.cpu} cores</dd>
        <dt>RAM</dt>
        <dd>{spec.ramGb} GB</dd>
        <dt>Timeout</dt>
        <dd>{spec.timeoutS} s</dd>
      </dl>
      <h3>Constraints</h3>
      <dl class="facts">
        <dt>Minimum trust</dt>
        <dd>{spec.minTrust}</dd>
        <dt>Overlap</dt>
        <dd>{spec.overlap} agents</dd>
        <dt>Private registry</dt>
        <dd>{spec.privateRegistry === true ? 'yes' : 'no'}</dd>
      </dl>
      <DecisionsTaken decisions={recordedDecisions(task)} />
      {task.assignments.length > 0 && (
        <>
          <h3>Assignments</h3>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th>Agent</th>
                  <th>Round</th>
                  <th>Status</th>
                  <th>Digest</th>
                </tr>
              </thead>
              <tbody>
                {task.assignments.map((a) => (
                  <tr key={a.id}>
                    <td class="mono">{a.agentId.slice(0, 12)}</td>
                    <td>{a.round}</td>
                    <td>{a.status}</td>
                    <td class="mono">{a.digest == null ? '—' : a.digest.slice(0, 12)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
