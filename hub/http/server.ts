import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { HubEngine } from '../engine-types.ts';
import { agentRoutes } from './agents.ts';
import { dashboardRoutes } from './dashboard.ts';
import { answerClientError, classify, errorBody, installErrorCatalogue } from './errors.ts';
import { eventRoutes } from './events.ts';
import { type FederationSource, federationRoutes } from './federation.ts';
import { hubInfoRoutes } from './hub-info.ts';
import { type HubMetrics, instrumentRequests, metricsRoutes } from './metrics.ts';
import { installRateLimits, type RateLimitSettings } from './rate-limit.ts';
import { taskRoutes } from './tasks.ts';
import { validatorCompiler } from './validation.ts';
import { workRoutes } from './work.ts';

export interface HubHttpOptions {
  engine: HubEngine;
  /** The operator's token for the admin routes (hub/http/agents.ts); absent: no admin routes. */
  adminToken?: string;
  metrics: HubMetrics;
  /** The hub software's version, for GET /v1/hub. */
  version: string;
  rateLimit: RateLimitSettings;
  /** Bytes a request body may have; results have their own, larger limit. */
  bodyLimit: number;
  resultBodyLimit: number;
  /** How often an idle event stream gets a keep-alive comment. */
  sseKeepAliveMs: number;
  log: { level: string; stream?: NodeJS.WritableStream } | false;
  /** The federation bridge, when the hub runs in one (GET /v1/federation, totals in /v1/network). */
  federation?: FederationSource;
}

/**
 * Per-request lines only at debug level: at info a busy hub would write two lines for every
 * heartbeat. Errors are logged by the catalogue (5xx with their stack).
 */
class QuietRequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(_error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    request.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/**
 * The hub's HTTP API: one fastify plugin per area over the engine, one error catalogue, a
 * TypeBox schema on every route (requests validated, responses serialized through them), limits
 * per address and per signing key, OpenAPI at /docs.
 */
export async function buildHubApp(options: HubHttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // Bodies are never logged: the request serializer logs method, url and address only, and
    // the redaction below guards the one secret a body can hold should anything log it anyway.
    logger:
      options.log === false
        ? false
        : { level: options.log.level, redact: ['registryAuth', '*.registryAuth', 'req.headers.authorization'], ...(options.log.stream ? { stream: options.log.stream } : {}) },
    logController: new QuietRequestLog(),
    bodyLimit: options.bodyLimit,
    clientErrorHandler: answerClientError,
    // While closing, requests in flight still finish through the catalogue (the engine answers
    // 503 ENGINE_STOPPED once it has stopped) instead of fastify's own 503 body.
    return503OnClosing: false,
    // Errors fastify meets before a route is chosen (a malformed URL...) use the catalogue too.
    frameworkErrors: (err, _request, reply) => {
      const { status, code, message } = classify(err);
      void (reply as FastifyReply).code(status).send(errorBody(code, message));
    },
  });
  // A JSON API: other bodies are 415, not strings for the schema to puzzle over.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  installErrorCatalogue(app, { onError: (classified) => options.metrics.observeError(classified) });
  instrumentRequests(app, options.metrics);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'dcloud hub API',
        version: options.version,
        description:
          'Agents and submitters send signed envelopes (docs/PROTOCOL.md); everyone may read tasks, agents and the network. ' +
          'Every error answers { "error": { "code", "message" } }.',
      },
      tags: [
        { name: 'agents', description: 'registration, heartbeats, work and results' },
        { name: 'tasks', description: 'submission and status' },
        { name: 'hub', description: 'identity and network' },
        { name: 'events', description: 'live changes' },
        { name: 'operations', description: 'health and metrics' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const signerLimit = await installRateLimits(app, options.rateLimit);
  const { engine } = options;
  await app.register(agentRoutes, { engine, signerLimit, ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken }) });
  await app.register(workRoutes, { engine, signerLimit, resultBodyLimit: options.resultBodyLimit });
  await app.register(taskRoutes, { engine, signerLimit });
  await app.register(hubInfoRoutes, { engine, version: options.version, ...(options.federation === undefined ? {} : { federation: options.federation }) });
  await app.register(federationRoutes, { federation: options.federation });
  await app.register(eventRoutes, { engine, keepAliveMs: options.sseKeepAliveMs });
  await app.register(metricsRoutes, { metrics: options.metrics });
  await app.register(dashboardRoutes, { engine });
  return app;
}
