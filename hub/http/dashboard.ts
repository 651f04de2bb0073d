import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ContentId, NodeId } from '../../protocol/messages.ts';
import { createStatusHistory } from '../engine-history.ts';
import type { HubEngine, TaskView } from '../engine-types.ts';
import { errorResponses } from './errors.ts';
import { AgentViewSchema, TASK_STATUSES, TaskStatusSchema, TaskViewSchema } from './schemas.ts';
import type { TypeBoxProvider } from './type-provider.ts';
import { webPageRoutes } from './web.ts';

/**
 * What the hub dashboard (web/hub, docs/WEB.md) reads besides the task, network and federation
 * routes: every agent, the recent consensus decisions with the votes behind them, and the task
 * counts per status over time. Read-only views over the engine; plus the page itself at / and
 * /dashboard.
 */

export interface DashboardRoutesOptions {
  engine: Pick<HubEngine, 'listAgents' | 'listTasks' | 'getAgent' | 'network'>;
  /** Sampling of the status history (default every 5 s, one hour kept). */
  history?: { intervalMs: number; capacity: number };
}

const closed = { additionalProperties: false } as const;
const Millis = Type.Number({ description: 'ms since the epoch' });

const DecisionSchema = Type.Object(
  {
    taskId: ContentId,
    outcome: Type.Union([Type.Literal('validated'), Type.Literal('failed')]),
    decidedAt: Millis,
    task: TaskViewSchema,
    voters: Type.Array(
      Type.Object({ id: NodeId, name: Type.String(), trust: Type.Number(), active: Type.Boolean() }, { ...closed, description: 'the agents of the task\'s assignments, as the hub sees them now' }),
    ),
  },
  closed,
);

export const dashboardRoutes: FastifyPluginAsync<DashboardRoutesOptions> = async (base, { engine, history: sampling }) => {
  const app = base.withTypeProvider<TypeBoxProvider>();
  const history = createStatusHistory({ read: () => engine.network().tasks }, sampling ?? { intervalMs: 5_000, capacity: 720 });
  app.addHook('onReady', async () => history.start());
  app.addHook('onClose', async () => history.stop());

  app.get(
    '/v1/agents',
    {
      schema: {
        summary: 'Every agent this hub knows of, most trusted first',
        tags: ['agents'],
        response: { 200: Type.Object({ agents: Type.Array(AgentViewSchema) }, closed), ...errorResponses },
      },
    },
    async () => ({ agents: engine.listAgents().sort((a, b) => b.trust - a.trust || a.id.localeCompare(b.id)) }),
  );

  app.get(
    '/v1/decisions',
    {
      schema: {
        summary: 'Recent consensus decisions, newest first: outcome, the task (assignments, digests, score) and its voters',
        tags: ['tasks'],
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 30 })) }, closed),
        response: { 200: Type.Object({ decisions: Type.Array(DecisionSchema) }, closed), ...errorResponses },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 30;
      const decided = [...engine.listTasks({ status: 'validated', limit }), ...engine.listTasks({ status: 'failed', limit })];
      const decisions = decided.map((task) => ({
        taskId: task.id,
        outcome: task.status as 'validated' | 'failed',
        decidedAt: decidedAt(task),
        task,
        voters: [...new Set(task.assignments.map((a) => a.agentId))].map((id) => {
          const agent = engine.getAgent(id);
          return { id, name: agent?.name ?? '', trust: agent?.trust ?? 0, active: agent?.active ?? false };
        }),
      }));
      return { decisions: decisions.sort((a, b) => b.decidedAt - a.decidedAt).slice(0, limit) };
    },
  );

  app.get(
    '/v1/history',
    {
      schema: {
        summary: 'Tasks per status over time, oldest first (sampled since the hub started; the last sample is now)',
        tags: ['hub'],
        response: {
          200: Type.Object(
            {
              statuses: Type.Array(TaskStatusSchema),
              samples: Type.Array(Type.Object({ at: Millis, tasks: Type.Record(Type.String(), Type.Integer()) }, closed)),
            },
            closed,
          ),
          ...errorResponses,
        },
      },
    },
    async () => ({ statuses: TASK_STATUSES, samples: history.samples() }),
  );

  await app.register(webPageRoutes, { page: 'hub', paths: ['/', '/dashboard'] });
};

/** When the task reached the status it is in: its decision. */
function decidedAt(task: TaskView): number {
  for (let i = task.transitions.length - 1; i >= 0; i--) {
    const transition = task.transitions[i]!;
    if (transition.status === task.status) return transition.at;
  }
  return task.submittedAt;
}

export type DecisionView = Static<typeof DecisionSchema>;
export interface HistoryView {
  statuses: string[];
  samples: Array<{ at: number; tasks: Record<string, number> }>;
}
