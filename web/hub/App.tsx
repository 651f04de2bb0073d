import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, messageOf } from '../shared/api.ts';
import { Histogram, LineChart } from '../shared/charts.tsx';
import { Field } from '../shared/Field.tsx';
import { ago, isWaiting, resources, round, short, STATUS_COLORS, STATUS_ORDER, time } from '../shared/format.ts';
import { throttled, useEventStream } from '../shared/live.ts';
import { DecisionsTaken, recordedDecisions } from '../shared/decisions.tsx';
import { NetworkTotals, StatusTotals } from '../shared/totals.tsx';
import { StatusBadge, TaskCard } from '../shared/TaskDetails.tsx';
import { withTask, withTaskList } from '../shared/task-map.ts';
import type { AgentView, DecisionView, FederationView, HistoryView, NetworkView, TaskStatus, TaskView } from '../shared/types.ts';

/**
 * The hub dashboard (docs/WEB.md): read-only views of this hub's API, refreshed by its own
 * /v1/events stream (tasks and agents arrive whole in the events; totals, history and decisions
 * are read again after changes, at most once a second).
 */
export function App() {
  const [network, setNetwork] = useState<NetworkView | undefined>();
  const [tasks, setTasks] = useState<Map<string, TaskView>>(new Map());
  const [agents, setAgents] = useState<Map<string, AgentView>>(new Map());
  const [decisions, setDecisions] = useState<DecisionView[]>([]);
  const [history, setHistory] = useState<HistoryView | undefined>();
  const [federation, setFederation] = useState<FederationView | string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [search, setSearch] = useState('');
  const [statusFilter, setStatusFilter] = useState<TaskStatus | ''>('');

  const guard = async (work: () => Promise<void>) => {
    try {
      await work();
      setError(undefined);
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const loadTotals = () =>
    guard(async () => {
      const [n, h] = await Promise.all([api<NetworkView>('/v1/network'), api<HistoryView>('/v1/history')]);
      setNetwork(n);
      setHistory(h);
    });
  const loadDecisions = () => guard(async () => setDecisions((await api<{ decisions: DecisionView[] }>('/v1/decisions')).decisions));
  const loadFederation = () =>
    guard(async () => {
      try {
        setFederation(await api<FederationView>('/v1/federation'));
      } catch (err) {
        // A hub without a federation says so; that is a state to show, not a failure.
        if (err instanceof ApiError && err.status < 500) setFederation(err.message);
        else throw err;
      }
    });
  const loadAll = () =>
    guard(async () => {
      const [t, a] = await Promise.all([api<{ tasks: TaskView[] }>('/v1/tasks?limit=500'), api<{ agents: AgentView[] }>('/v1/agents')]);
      setTasks((old) => withTaskList(old, t.tasks));
      setAgents(new Map(a.agents.map((x) => [x.id, x])));
      await Promise.all([loadTotals(), loadDecisions(), loadFederation()]);
    });

  // Stable across renders: the throttles must outlive them.
  const refresh = useRef<{ totals: () => void; decisions: () => void; federation: () => void }>();
  refresh.current ??= { totals: throttled(() => void loadTotals(), 1000), decisions: throttled(() => void loadDecisions(), 500), federation: throttled(() => void loadFederation(), 5000) };

  const { connected } = useEventStream('/v1/events', {
    open: () => void loadAll(),
    task: ({ task }: { task: TaskView }) => {
      setTasks((old) => withTask(old, task));
      refresh.current!.totals();
    },
    agent: ({ agent }: { agent: AgentView }) => {
      setAgents((old) => new Map(old).set(agent.id, agent));
      refresh.current!.totals();
      refresh.current!.federation();
    },
    decision: () => refresh.current!.decisions(),
  });

  // "x s ago" stays true between events; peers come and go without events, so the federation
  // panel is read again now and then.
  const [, tick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => tick((n) => n + 1), 5000);
    const peers = setInterval(() => refresh.current!.federation(), 10_000);
    return () => (clearInterval(timer), clearInterval(peers));
  }, []);

  const all = useMemo(() => [...tasks.values()].sort((a, b) => b.submittedAt - a.submittedAt), [tasks]);
  const waiting = all.filter(isWaiting);
  const needle = search.trim().toLowerCase();
  const shown = all.filter(
    (t) =>
      (statusFilter === '' || t.status === statusFilter) &&
      (needle === '' || [t.id, t.submitter, t.spec.image, t.spec.command.join(' '), t.reason ?? '', t.result?.text ?? ''].some((s) => s.toLowerCase().includes(needle))),
  );
  const agentList = [...agents.values()].sort((a, b) => b.trust - a.trust);
  const nameOf = (id: string) => agents.get(id)?.name ?? short(id);

  return (
    <>
      <header class="top">
        <h1>dcloud hub dashboard</h1>
        <span class="sub">{location.host}</span>
        <span class={`live ${connected ? 'on' : 'off'}`} role="status">
          {connected ? 'live' : 'reconnecting…'}
        </span>
      </header>
      {error !== undefined && (
        <div class="alert" role="alert" style={{ margin: '0.5rem 1rem' }}>
          {error}
        </div>
      )}
      <main>
        <section class="panel wide" aria-labelledby="h-totals">
          <h2 id="h-totals">Network</h2>
          {network === undefined ? <p class="muted">Loading…</p> : <Totals network={network} />}
          {network?.federation !== undefined && (
            <>
              <h3>Whole federation ({network.federation.hubs} hubs)</h3>
              <Totals network={network.federation} />
            </>
          )}
        </section>

        <section class="panel" aria-labelledby="h-history">
          <h2 id="h-history">Tasks per status over time</h2>
          {history === undefined ? (
            <p class="muted">Loading…</p>
          ) : (
            <LineChart
              label="Tasks per status over time"
              series={STATUS_ORDER.filter((s) => history.samples.some((x) => (x.tasks[s] ?? 0) > 0)).map((s) => ({
                name: s,
                color: STATUS_COLORS[s],
                points: history.samples.map((x) => [x.at, x.tasks[s] ?? 0] as [number, number]),
              }))}
            />
          )}
        </section>

        <section class="panel" aria-labelledby="h-trust">
          <h2 id="h-trust">Trust of agents</h2>
          <Histogram
            label="Agents per trust band"
            buckets={Array.from({ length: 10 }, (_, i) => ({
              label: `${i}–${i + 1}`,
              count: agentList.filter((a) => Math.min(9, Math.floor(a.trust)) === i).length,
            }))}
          />
        </section>

        <section class="panel wide" aria-labelledby="h-waiting">
          <h2 id="h-waiting">Waiting tasks and why</h2>
          {waiting.length === 0 ? (
            <p class="muted">No task is waiting.</p>
          ) : (
            <div class="scroll">
              <table data-testid="waiting">
                <thead>
                  <tr>
                    <th>Task</th>
                    <th>Status</th>
                    <th>Needs</th>
                    <th>Why it is not running</th>
                  </tr>
                </thead>
                <tbody>
                  {waiting.map((t) => (
                    <tr key={t.id}>
                      <td class="mono">{short(t.id)}</td>
                      <td>
                        <StatusBadge status={t.status} />
                      </td>
                      <td>
                        {t.spec.cpu} CPU, {t.spec.ramGb} GB, ×{t.spec.overlap}, trust ≥ {t.spec.minTrust}
                      </td>
                      <td>{t.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>

        <section class="panel wide" aria-labelledby="h-decisions">
          <h2 id="h-decisions">Recent consensus decisions</h2>
          {decisions.length === 0 ? <p class="muted">No decision yet.</p> : decisions.map((d) => <Decision key={d.taskId} decision={d} nameOf={nameOf} />)}
        </section>

        <section class="panel wide" aria-labelledby="h-tasks">
          <h2 id="h-tasks">Tasks</h2>
          <div class="row">
            <Field id="task-search" label="Search tasks" tip="Matches the task id, submitter, image, command, reason or result." type="search" value={search} onInput={setSearch} />
            <div class="field">
              <label for="task-status">Status</label>
              <select id="task-status" value={statusFilter} onChange={(e) => setStatusFilter((e.currentTarget as HTMLSelectElement).value as TaskStatus | '')}>
                <option value="">any ({all.length})</option>
                {STATUS_ORDER.map((s) => (
                  <option key={s} value={s}>
                    {s} ({all.filter((t) => t.status === s).length})
                  </option>
                ))}
              </select>
            </div>
          </div>
          <p class="muted" role="status">
            {shown.length} of {all.length} tasks
          </p>
          {shown.slice(0, 100).map((t) => (
            <TaskCard task={t} key={t.id}>
              <span class="mono">{t.spec.image}</span>
              <span class="mono">{t.spec.command.join(' ')}</span>
            </TaskCard>
          ))}
        </section>

        <section class="panel wide" aria-labelledby="h-agents">
          <h2 id="h-agents">Agents</h2>
          <div class="scroll">
            <table data-testid="agents">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Id</th>
                  <th>State</th>
                  <th>Trust</th>
                  <th>Last heartbeat</th>
                  <th>Resources (free)</th>
                  <th>Valid / invalid</th>
                </tr>
              </thead>
              <tbody>
                {agentList.map((a) => (
                  <tr key={a.id} data-agent={a.id}>
                    <td>{a.name}</td>
                    <td class="mono">{short(a.id)}</td>
                    <td class={a.active ? 'state-on' : 'state-off'}>
                      {a.active ? 'active' : 'inactive'}
                      {(a as { pending?: boolean }).pending === true && <span class="muted"> (awaiting approval)</span>}
                    </td>
                    <td>{round(a.trust, 3)}</td>
                    <td title={time(a.lastHeartbeat)}>{ago(a.lastHeartbeat)}</td>
                    <td>
                      {resources(a.total)} ({resources(a.free)})
                    </td>
                    <td>
                      {a.stats.valid} / {a.stats.invalid}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>

        <section class="panel wide" aria-labelledby="h-federation">
          <h2 id="h-federation">Federation</h2>
          {federation === undefined ? (
            <p class="muted">Loading…</p>
          ) : typeof federation === 'string' ? (
            <p class="muted">{federation}</p>
          ) : (
            <>
              <dl class="facts">
                <dt>Peer id</dt>
                <dd class="mono">{federation.peerId}</dd>
                <dt>Bootstrap from</dt>
                <dd class="mono">{federation.multiaddrs.join(' ')}</dd>
                <dt>Deciding</dt>
                <dd>{federation.deciding ? 'yes' : 'not yet (syncing)'}</dd>
                <dt>Outbox</dt>
                <dd>{federation.outbox}</dd>
              </dl>
              <h3>Peers</h3>
              <div class="scroll">
                <table>
                  <thead>
                    <tr>
                      <th>Peer</th>
                      <th>Hub</th>
                      <th>Status</th>
                      <th>Last seen</th>
                      <th>Refused</th>
                    </tr>
                  </thead>
                  <tbody>
                    {federation.peers.map((p) => (
                      <tr key={p.peerId}>
                        <td class="mono">{p.peerId.slice(0, 16)}…</td>
                        <td class="mono">{p.nodeId === null ? (p.hub ? 'hub' : '—') : short(p.nodeId)}</td>
                        <td>{p.status}</td>
                        <td>{p.lastSeen === null ? '—' : ago(p.lastSeen)}</td>
                        <td>{p.rejected}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )}
        </section>
      </main>
    </>
  );
}

function Totals({ network }: { network: Omit<NetworkView, 'federation'> }) {
  return (
    <div class="totals">
      <NetworkTotals network={network} activeTestId="active-agents" resourcesLabel="resources" />
      <StatusTotals network={network} />
    </div>
  );
}

/** A decision and the votes behind it. Each voter's credibility and the deciding policy show when the hub reports them. */
function Decision({ decision, nameOf }: { decision: DecisionView; nameOf(id: string): string }) {
  const { task } = decision;
  const recorded = recordedDecisions(task);
  const last = recorded.at(-1);
  const winning = task.result?.digest;
  const credibilityOf = (agentId: string): number | undefined => {
    for (const group of last?.votes ?? []) for (const v of group.voters) if (v.agentId === agentId) return v.credibility;
    return undefined;
  };
  return (
    <details class="card" data-decision={task.id}>
      <summary>
        <StatusBadge status={decision.outcome} />
        <span class="mono">{short(task.id)}</span>
        <span class="mono">{task.spec.command.join(' ')}</span>
        {task.result !== undefined && <span class="mono">→ {task.result.text.trim().slice(0, 40)}</span>}
        <span>score {task.trustScore ?? '—'}</span>
        {last?.policy !== undefined && <span class="muted">by {last.policy}</span>}
        <span class="muted">{time(decision.decidedAt)}</span>
      </summary>
      <div class="body">
        <dl class="facts">
          <dt>Outcome</dt>
          <dd>{decision.outcome}</dd>
          {task.reason !== undefined && (
            <>
              <dt>Reason</dt>
              <dd>{task.reason}</dd>
            </>
          )}
          <dt>Trust score</dt>
          <dd>{task.trustScore === undefined ? '—' : `${task.trustScore} / 10`}</dd>
          {last?.policy !== undefined && (
            <>
              <dt>Policy</dt>
              <dd data-testid="decision-policy">{last.policy}</dd>
            </>
          )}
          <dt>Agreed digest</dt>
          <dd class="mono">{winning ?? '—'}</dd>
        </dl>
        <h3>Votes</h3>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Agent</th>
                <th>Trust now</th>
                <th>Round</th>
                <th>Assignment</th>
                <th>Reported digest</th>
                <th>Agrees</th>
                <th>Credibility</th>
              </tr>
            </thead>
            <tbody>
              {task.assignments.map((a) => {
                const voter = decision.voters.find((v) => v.id === a.agentId);
                const credibility = credibilityOf(a.agentId);
                return (
                  <tr key={a.id}>
                    <td>{voter?.name || nameOf(a.agentId)}</td>
                    <td>{voter === undefined ? '—' : round(voter.trust, 3)}</td>
                    <td>{a.round}</td>
                    <td>{a.status}</td>
                    <td class="mono">{a.digest == null ? '—' : `${a.digest.slice(0, 16)}…`}</td>
                    <td>{a.digest == null ? '—' : a.digest === winning ? 'yes' : 'no'}</td>
                    <td>{credibility === undefined ? '—' : round(credibility, 4)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <DecisionsTaken decisions={recorded} nameOf={nameOf} />
      </div>
    </details>
  );
}
