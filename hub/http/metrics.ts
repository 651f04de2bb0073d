import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HubEngineControl } from '../engine.ts';
import { type Classified, errorResponses } from './errors.ts';
import { TASK_STATUSES } from './schemas.ts';

/**
 * The hub's Prometheus metrics, in a registry of its own (several hubs can share a process in
 * tests). Engine state (tasks by status, agents, scheduling passes) is read at scrape time, so
 * it costs nothing between scrapes.
 */
export interface HubMetrics {
  readonly registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** Counts refused envelopes by their ENVELOPE_* code. */
  observeError(classified: Classified): void;
}

export function createHubMetrics(engine: Pick<HubEngineControl, 'network' | 'stats'>): HubMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'dcloud_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'dcloud_http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its answer, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const rejections = new Counter({
    name: 'dcloud_envelope_rejections_total',
    help: 'Signed envelopes refused, by reason code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'dcloud_hub_tick_duration_seconds',
    help: 'Duration of the last scheduling pass (health, queueing, assignment, its write)',
    registers: [registry],
    collect() {
      const last = engine.stats().lastTick;
      if (last !== undefined) this.set(last.durationMs / 1000);
    },
  });
  new Counter({
    name: 'dcloud_hub_ticks_total',
    help: 'Scheduling passes run, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      const { ticks, tickErrors } = engine.stats();
      this.reset();
      this.inc({ outcome: 'ok' }, ticks);
      this.inc({ outcome: 'error' }, tickErrors);
    },
  });
  new Gauge({
    name: 'dcloud_hub_work',
    help: 'Work in flight: backlog (tasks waiting for a scheduling pass), open assignments, image validations running',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      const stats = engine.stats();
      this.set({ kind: 'backlog' }, stats.backlog);
      this.set({ kind: 'open_assignments' }, stats.openAssignments);
      this.set({ kind: 'validations' }, stats.validationsRunning);
    },
  });
  new Gauge({
    name: 'dcloud_tasks',
    help: 'Tasks by status',
    labelNames: ['status'] as const,
    registers: [registry],
    collect() {
      const { tasks } = engine.network();
      for (const status of TASK_STATUSES) this.set({ status }, tasks[status]);
    },
  });
  new Gauge({
    name: 'dcloud_agents',
    help: 'Registered agents by state (inactive: no heartbeat within the timeout)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const { agents } = engine.network();
      this.set({ state: 'active' }, agents.active);
      this.set({ state: 'inactive' }, agents.inactive);
    },
  });

  new Gauge({
    name: 'dcloud_spot_checks',
    help: 'Known-answer tasks (spot-checks) the hub made, by status (validated: answered right; abandoned: a lie or no answer)',
    labelNames: ['status'] as const,
    registers: [registry],
    collect() {
      const checks = engine.stats().spotChecks;
      if (checks !== undefined) for (const status of TASK_STATUSES) this.set({ status }, checks.tasks[status]);
    },
  });
  new Gauge({
    name: 'dcloud_agents_caught_lying',
    help: 'Agents caught answering a known-answer task wrong (proven liars: no influence, no more work)',
    registers: [registry],
    collect() {
      const checks = engine.stats().spotChecks;
      if (checks !== undefined) this.set(checks.liars);
    },
  });

  // Bounded: routes are patterns (unmatched URLs share one), methods and statuses few.
  const seriesOf = new Map<string, { count: { inc(): void }; time: { observe(value: number): void } }>();
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      // The labelled series, looked up once per (method, route, status) instead of hashing the
      // labels on every answer: a busy hub answers thousands of heartbeats a second.
      const key = `${method} ${route} ${status}`;
      let series = seriesOf.get(key);
      if (series === undefined) {
        series = { count: requests.labels(method, route, String(status)), time: latency.labels(method, route) };
        seriesOf.set(key, series);
      }
      series.count.inc();
      series.time.observe(seconds);
    },
    observeError({ code }) {
      if (code.startsWith('ENVELOPE_')) rejections.inc({ code });
    },
  };
}

/** Times every request; called on the root instance so it sees every route, 404s included. */
export function instrumentRequests(app: FastifyInstance, metrics: HubMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
}

export const metricsRoutes: FastifyPluginAsync<{ metrics: HubMetrics }> = async (app, { metrics }) => {
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        tags: ['operations'],
        response: { 200: Type.String({ description: 'Prometheus text format 0.0.4' }), ...errorResponses },
      },
      config: { rateLimit: false },
    },
    async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
};
