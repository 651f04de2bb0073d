import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply } from 'fastify';
import { answerClientError, classify, errorBody, errorResponses, installErrorCatalogue } from '../hub/http/errors.ts';
import { RegistryAuthSchema, TaskStatusSchema, TaskViewSchema } from '../hub/http/schemas.ts';
import type { TypeBoxProvider } from '../hub/http/type-provider.ts';
import { validatorCompiler } from '../hub/http/validation.ts';
import { seal } from '../protocol/envelope.ts';
import { DcloudError } from '../protocol/errors.ts';
import { NodeId, Resources, TaskSpecBody } from '../protocol/messages.ts';
import { taskSpec } from '../src/core/task-spec.ts';
import type { Agent } from './agent.ts';
import { isLoopbackHost, NotLoopbackError } from './loopback.ts';
import { uiEventRoutes } from './ui-events.ts';
import { webPageRoutes } from '../hub/http/web.ts';

/**
 * The agent's local control API and the page that uses it (web/agent, served at /): status,
 * register, start, stop, the owner's own task submissions signed with the agent's key, and the
 * page's live stream (ui-events.ts). It listens on loopback only, and it
 * answers only requests addressed to a loopback name from a loopback origin (or none): a web
 * page elsewhere cannot drive it through the owner's browser (DNS rebinding, cross-site POST).
 * Errors use the hub's catalogue: `{ "error": { "code", "message" } }`.
 */

export const ControlApiErrorCodes = {
  FORBIDDEN_HOST: 'FORBIDDEN_HOST',
  FORBIDDEN_ORIGIN: 'FORBIDDEN_ORIGIN',
} as const;

/** A request a page elsewhere could have made through the owner's browser. */
export class ForbiddenRequestError extends DcloudError {
  constructor(code: (typeof ControlApiErrorCodes)[keyof typeof ControlApiErrorCodes], message: string) {
    super(code, message, 403);
    this.name = 'ForbiddenRequestError';
  }
}

const closed = { additionalProperties: false } as const;
const Millis = Type.Number({ description: 'ms since the epoch' });

const TaskRunSchema = Type.Object(
  {
    hub: Type.String(),
    assignmentId: Type.String(),
    taskId: Type.String(),
    image: Type.String(),
    command: Type.Array(Type.String()),
    cpu: Type.Number(),
    ramGb: Type.Number(),
    startedAt: Millis,
  },
  closed,
);
const FinishedRunSchema = Type.Object(
  {
    ...TaskRunSchema.properties,
    finishedAt: Millis,
    outcome: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
    exitCode: Type.Union([Type.Integer(), Type.Null()]),
    error: Type.Optional(Type.String()),
    delivered: Type.Boolean({ description: 'the hub acknowledged the result' }),
  },
  closed,
);
const HubStatusSchema = Type.Object(
  {
    url: Type.String(),
    hubId: Type.Optional(NodeId),
    registered: Type.Boolean(),
    trust: Type.Optional(Type.Number({ description: 'our trust on that hub, from its last answer' })),
    active: Type.Optional(Type.Boolean()),
    lastHeartbeatAt: Type.Optional(Millis),
    pendingResults: Type.Integer({ description: 'results finished and not yet acknowledged by this hub' }),
    error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String(), at: Millis }, closed)),
  },
  closed,
);
export const AgentStatusSchema = Type.Object(
  {
    nodeId: NodeId,
    publicKey: Type.String(),
    name: Type.String(),
    software: Type.String(),
    working: Type.Boolean({ description: 'asking its hubs for work (started), or not' }),
    hubs: Type.Array(HubStatusSchema),
    running: Type.Array(TaskRunSchema),
    last: Type.Union([FinishedRunSchema, Type.Null()]),
    resources: Type.Object(
      {
        total: Resources,
        free: Resources,
        caps: Type.Object({ cpu: Type.Optional(Type.Number()), ramGb: Type.Optional(Type.Number()) }, closed),
      },
      closed,
    ),
  },
  closed,
);

const HubQuery = Type.Object({ hub: Type.Optional(Type.String({ description: 'one of the agent\'s hubs; the first by default' })) }, closed);
const { image, command, cpu, ramGb, minTrust, overlap, timeoutS, description } = TaskSpecBody.properties;
const TaskRequest = Type.Object(
  {
    hub: Type.Optional(Type.String()),
    image,
    command,
    cpu: Type.Optional(cpu),
    ramGb: Type.Optional(ramGb),
    minTrust: Type.Optional(minTrust),
    overlap: Type.Optional(overlap),
    timeoutS: Type.Optional(timeoutS),
    description,
    registryAuth: Type.Optional(RegistryAuthSchema),
  },
  closed,
);
const TaskReply = Type.Object({ task: TaskViewSchema }, closed);

export interface ControlRoutesOptions {
  agent: Agent;
}

const controlRoutes: FastifyPluginAsync<ControlRoutesOptions> = async (base, { agent }) => {
  const app = base.withTypeProvider<TypeBoxProvider>();
  const tags = ['agent'];

  app.get('/api/status', { schema: { summary: 'The agent: hubs, trust, running and last task, resources', tags, response: { 200: AgentStatusSchema, ...errorResponses } } }, async () =>
    agent.status(),
  );

  app.post(
    '/api/register',
    {
      schema: {
        summary: 'Set the agent\'s name and register (again) with every hub',
        tags,
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }, closed),
        response: { 200: AgentStatusSchema, ...errorResponses },
      },
    },
    async (request) => {
      await agent.register(request.body.name);
      return agent.status();
    },
  );

  app.post('/api/start', { schema: { summary: 'Start asking for work and sending heartbeats', tags, response: { 200: AgentStatusSchema, ...errorResponses } } }, async () => {
    agent.startWork();
    return agent.status();
  });

  app.post(
    '/api/stop',
    {
      schema: {
        summary: 'Stop asking for work and sending heartbeats (the hubs then mark the agent inactive)',
        description: 'A running task finishes, unless `kill` is true (or the agent was started with --kill-on-stop).',
        tags,
        querystring: Type.Object({ kill: Type.Optional(Type.Boolean()) }, closed),
        response: { 200: AgentStatusSchema, ...errorResponses },
      },
    },
    async (request) => {
      await agent.stopWork(request.query.kill === undefined ? {} : { kill: request.query.kill });
      return agent.status();
    },
  );

  app.post(
    '/api/tasks',
    {
      schema: {
        summary: 'Submit a task signed with the agent\'s key',
        description: 'Unsaid fields take the defaults of `dcloud submit`. The answer is the hub\'s: 202 accepted, 200 submitted before.',
        tags,
        body: TaskRequest,
        response: { 202: TaskReply, 200: TaskReply, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { hub, registryAuth, ...input } = request.body;
      const client = agent.hub(hub);
      const spec = taskSpec(registryAuth === undefined ? input : { ...input, privateRegistry: true });
      const { task, created } = await client.submitTask(seal('task.spec', spec, agent.signer), registryAuth);
      return reply.code(created ? 202 : 200).send({ task });
    },
  );

  app.get(
    '/api/tasks',
    {
      schema: {
        summary: 'The tasks this agent\'s key submitted, newest first',
        tags,
        querystring: Type.Object({ ...HubQuery.properties, status: Type.Optional(TaskStatusSchema), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, closed),
        response: { 200: Type.Object({ tasks: Type.Array(TaskViewSchema) }, closed), ...errorResponses },
      },
    },
    async (request) => {
      const { hub, ...filter } = request.query;
      return { tasks: await agent.hub(hub).listTasks({ ...filter, submitter: agent.nodeId }) };
    },
  );
};

/** The control API's fastify app, not yet listening. */
export async function buildControlApp(agent: Agent, options: { logger?: boolean } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    clientErrorHandler: answerClientError,
    frameworkErrors: (err, _request, reply) => {
      const { status, code, message } = classify(err);
      void (reply as FastifyReply).code(status).send(errorBody(code, message));
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  installErrorCatalogue(app);
  app.addHook('onRequest', async (request) => {
    const host = (request.headers.host ?? '').replace(/:\d+$/, '');
    if (!isLoopbackHost(host)) throw new ForbiddenRequestError(ControlApiErrorCodes.FORBIDDEN_HOST, `requests must be addressed to a loopback name, not ${JSON.stringify(host)}`);
    const origin = request.headers.origin;
    if (origin !== undefined && !isLoopbackOrigin(origin)) {
      throw new ForbiddenRequestError(ControlApiErrorCodes.FORBIDDEN_ORIGIN, `pages from ${JSON.stringify(origin)} may not use the agent's control API`);
    }
  });
  await app.register(controlRoutes, { agent });
  await app.register(uiEventRoutes, { agent });
  // The owner's page (web/agent), same origin as the API it drives.
  await app.register(webPageRoutes, { page: 'agent', paths: ['/'] });
  return app;
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    return isLoopbackHost(new URL(origin).hostname);
  } catch {
    return false;
  }
}

export interface ControlApi {
  /** http://HOST:PORT with the port actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startControlApi(agent: Agent, address: { host: string; port: number }): Promise<ControlApi> {
  if (!isLoopbackHost(address.host)) throw new NotLoopbackError(address.host);
  const app = await buildControlApp(agent);
  await app.listen({ host: address.host, port: address.port });
  const bound = app.server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return { url: `http://${host}:${port}`, close: () => app.close() };
}
