import { useState } from 'preact/hooks';
import { api, messageOf } from '../shared/api.ts';
import { Field } from '../shared/Field.tsx';
import { ago, resources, round, short, time } from '../shared/format.ts';
import { useEventStream } from '../shared/live.ts';
import { NetworkTotals, StatusTotals } from '../shared/totals.tsx';
import { TaskCard } from '../shared/TaskDetails.tsx';
import { withTask, withTaskList } from '../shared/task-map.ts';
import type { AgentStatus, AgentView, NetworkView, TaskView } from '../shared/types.ts';
import { TaskForm } from './TaskForm.tsx';

/**
 * The volunteer's page (docs/WEB.md). Everything comes from the agent's control API, and live
 * through its /api/events stream: the agent's own status, and what its hub says about this
 * agent, its tasks and the network. Nothing here talks to the hub directly.
 */
export function App() {
  const [status, setStatus] = useState<AgentStatus | undefined>();
  const [onHub, setOnHub] = useState<AgentView | undefined>();
  const [tasks, setTasks] = useState<Map<string, TaskView>>(new Map());
  const [network, setNetwork] = useState<NetworkView | undefined>();
  const [hubError, setHubError] = useState<string | undefined>();
  const [actionError, setActionError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [name, setName] = useState<string | undefined>();

  const upsert = (task: TaskView) => setTasks((old) => withTask(old, task));
  const reload = async () => {
    try {
      const [{ tasks: mine }, net] = await Promise.all([api<{ tasks: TaskView[] }>('/api/tasks'), api<NetworkView>('/api/network')]);
      setTasks((old) => withTaskList(old, mine));
      setNetwork(net);
      setHubError(undefined);
    } catch (err) {
      setHubError(messageOf(err));
    }
  };

  const { connected } = useEventStream('/api/events', {
    status: (s: AgentStatus) => setStatus(s),
    sync: () => void reload(),
    task: (t: TaskView) => upsert(t),
    agent: (a: AgentView) => setOnHub(a),
    network: (n: NetworkView) => {
      setNetwork(n);
      setHubError(undefined);
    },
    'hub-error': (e: { message: string }) => setHubError(e.message),
  });

  const act = async (path: string, body?: unknown) => {
    setBusy(true);
    setActionError(undefined);
    try {
      setStatus(await api<AgentStatus>(path, { method: 'POST', ...(body === undefined ? {} : { body }) }));
    } catch (err) {
      setActionError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const hub = status?.hubs[0];
  const sorted = [...tasks.values()].sort((a, b) => b.submittedAt - a.submittedAt);
  const shownName = name ?? status?.name ?? '';
  const hubActive = onHub?.active ?? hub?.active;

  return (
    <>
      <header class="top">
        <h1>dcloud agent{status ? `: ${status.name}` : ''}</h1>
        <span class="sub mono">{status?.nodeId ?? 'connecting…'}</span>
        <span class={`live ${connected ? 'on' : 'off'}`} role="status">
          {connected ? 'live' : 'not connected to the agent'}
        </span>
      </header>
      {hubError !== undefined && (
        <div class="alert" role="alert" style={{ margin: '0.5rem 1rem' }} data-testid="hub-error">
          Hub: {hubError}
        </div>
      )}
      <main>
        <section class="panel" aria-labelledby="h-agent">
          <h2 id="h-agent">This agent</h2>
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault();
              const wanted = shownName.trim();
              if (wanted === '') setActionError('Name is required');
              else void act('/api/register', { name: wanted });
            }}
          >
            <Field
              id="agent-name"
              label="Name"
              tip="How the hubs show this machine (1 to 64 characters). Registering sends it, with this machine's resources, to every hub."
              value={shownName}
              onInput={setName}
              inputProps={{ maxLength: 64, autoComplete: 'off' }}
            />
            <button type="submit" class="primary" disabled={busy}>
              Register
            </button>
          </form>
          <p>
            State:{' '}
            <strong class={status?.working ? 'state-on' : 'state-off'} data-testid="working-state">
              {status === undefined ? '…' : status.working ? 'working' : 'stopped'}
            </strong>
            {status?.working ? ' — asking its hubs for work and sending heartbeats.' : ' — not asking for work; the hubs mark it inactive once its heartbeats stop.'}
          </p>
          <div class="row">
            <button type="button" class="primary" disabled={busy || status?.working === true} onClick={() => void act('/api/start')}>
              Start
            </button>
            <button type="button" class="danger" disabled={busy || status?.working === false} onClick={() => void act('/api/stop')}>
              Stop
            </button>
          </div>
          {actionError !== undefined && (
            <div class="alert" role="alert">
              {actionError}
            </div>
          )}
          <h3>Resources</h3>
          <dl class="facts">
            <dt>Total</dt>
            <dd>{resources(status?.resources.total)}</dd>
            <dt>Free</dt>
            <dd>{resources(status?.resources.free)}</dd>
            <dt>Caps</dt>
            <dd>
              {status === undefined
                ? '—'
                : `${status.resources.caps.cpu === undefined ? 'no CPU cap' : `${status.resources.caps.cpu} CPU`} · ${status.resources.caps.ramGb === undefined ? 'no RAM cap' : `${status.resources.caps.ramGb} GB`}`}
            </dd>
          </dl>
        </section>

        <section class="panel" aria-labelledby="h-hubs">
          <h2 id="h-hubs">Hubs and trust</h2>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th>Hub</th>
                  <th>Registered</th>
                  <th>Trust</th>
                  <th>Hub sees it</th>
                  <th>Last heartbeat</th>
                </tr>
              </thead>
              <tbody>
                {status?.hubs.map((h, i) => {
                  // The first hub's view arrives live from its stream; the others from the agent's last answer.
                  const live = i === 0 ? onHub : undefined;
                  const active = i === 0 ? hubActive : h.active;
                  return (
                    <tr key={h.url}>
                      <td class="mono">{h.url}</td>
                      <td>{h.registered ? 'yes' : 'no'}</td>
                      <td data-testid={i === 0 ? 'hub-trust' : undefined}>{(live?.trust ?? h.trust) === undefined ? '—' : round((live?.trust ?? h.trust)!, 3)}</td>
                      <td data-testid={i === 0 ? 'hub-active' : undefined} class={active ? 'state-on' : 'state-off'}>
                        {active === undefined ? '—' : active ? 'active' : 'inactive'}
                      </td>
                      <td>{ago(live?.lastHeartbeat ?? h.lastHeartbeatAt)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {status?.hubs
            .filter((h) => h.error !== undefined)
            .map((h) => (
              <div class="alert" role="alert" key={h.url}>
                {h.url}: {h.error!.message} ({time(h.error!.at)})
              </div>
            ))}
          <h3>Current task</h3>
          {status === undefined || status.running.length === 0 ? (
            <p class="muted">Nothing running.</p>
          ) : (
            status.running.map((r) => (
              <p key={r.assignmentId}>
                <span class="mono">{short(r.taskId)}</span> {r.image} <span class="mono">{r.command.join(' ')}</span> — {r.cpu} CPU, {r.ramGb} GB, since {time(r.startedAt)}
              </p>
            ))
          )}
          <h3>Last task</h3>
          {status?.last == null ? (
            <p class="muted">None yet.</p>
          ) : (
            <p data-testid="last-task">
              <span class="mono">{short(status.last.taskId)}</span> {status.last.image} <span class="mono">{status.last.command.join(' ')}</span> — {status.last.outcome}
              {status.last.exitCode !== null ? ` (exit ${status.last.exitCode})` : ''}
              {status.last.error !== undefined ? `: ${status.last.error}` : ''}, finished {time(status.last.finishedAt)}
              {status.last.delivered ? '' : ', result not yet delivered'}
            </p>
          )}
        </section>

        <section class="panel wide" aria-labelledby="h-submit">
          <h2 id="h-submit">Submit a task</h2>
          <p class="muted">Signed with this agent's key and sent to {hub?.url ?? 'its hub'}. Hover or focus a field for what it means.</p>
          <TaskForm hub={undefined} onSubmitted={upsert} />
        </section>

        <section class="panel wide" aria-labelledby="h-tasks">
          <h2 id="h-tasks">My tasks</h2>
          {sorted.length === 0 ? (
            <p class="muted">No tasks submitted with this agent's key yet.</p>
          ) : (
            sorted.map((task) => (
              <TaskCard task={task} key={task.id}>
                <span class="mono">{task.spec.command.join(' ')}</span>
                {task.result !== undefined && <span class="mono">→ {task.result.text.trim().slice(0, 40)}</span>}
              </TaskCard>
            ))
          )}
        </section>

        <section class="panel wide" aria-labelledby="h-network">
          <h2 id="h-network">Network</h2>
          {network === undefined ? (
            <p class="muted">Waiting for the hub…</p>
          ) : (
            <>
              <div class="totals">
                <NetworkTotals network={network} activeTestId="net-active" resourcesLabel="total resources" />
              </div>
              <h3>Tasks per status</h3>
              <div class="totals">
                <StatusTotals network={network} />
              </div>
            </>
          )}
        </section>
      </main>
    </>
  );
}
