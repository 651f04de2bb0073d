import { timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxProvider } from './type-provider.ts';
import { Envelope } from '../../protocol/messages.ts';
import type { HubEngine } from '../engine-types.ts';
import { AgentNotRegisteredError } from '../errors.ts';
import { errorResponses, HttpError, HttpErrorCodes } from './errors.ts';
import type { SignerLimit } from './rate-limit.ts';
import { AgentReply, IdParams, PowChallengeSchema } from './schemas.ts';

export interface AgentRoutesOptions {
  engine: HubEngine;
  signerLimit: SignerLimit;
  /** The operator's token (`<dataDir>/admin.token`); without it there are no admin routes. */
  adminToken?: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/**
 * Admin routes answer only on the hub's own machine (a loopback peer) and only with the token
 * from the hub's data dir: whoever can read that is the operator.
 */
function checkOperator(request: FastifyRequest, token: string): void {
  if (!LOOPBACK.test(request.socket.remoteAddress ?? '')) throw new HttpError(HttpErrorCodes.FORBIDDEN, 'admin routes answer only on the hub\'s own machine', 403);
  const given = Buffer.from(/^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new HttpError(HttpErrorCodes.UNAUTHORIZED, 'admin routes need "Authorization: Bearer <token>", the token in the hub\'s data dir (admin.token)', 401);
  }
}

/** Agents join (agent.register) and stay alive (agent.heartbeat); anyone may read an agent. */
export const agentRoutes: FastifyPluginAsync<AgentRoutesOptions> = async (base, { engine, signerLimit, adminToken }) => {
  const app = base.withTypeProvider<TypeBoxProvider>();
  const limitSigner = signerLimit((body) => body);

  app.post(
    '/v1/agents/register',
    {
      schema: {
        summary: 'Register an agent (a signed agent.register envelope)',
        description: 'Idempotent: registering the same key again updates its name and resources and answers 200.',
        tags: ['agents'],
        body: Envelope,
        response: { 201: AgentReply, 200: AgentReply, ...errorResponses },
      },
      preValidation: limitSigner,
    },
    async (request, reply) => {
      const { agent, created } = await engine.registerAgent(request.body, { address: request.ip });
      return reply.code(created ? 201 : 200).send({ agent });
    },
  );

  app.get(
    '/v1/agents/challenge',
    {
      schema: {
        summary: 'A proof-of-work challenge for registering a new agent key',
        description: 'Only on a hub started with --registration-pow-bits N (N > 0); see docs/PROTOCOL.md, agent.register. 404 POW_NOT_REQUIRED otherwise.',
        tags: ['agents'],
        response: { 200: PowChallengeSchema, ...errorResponses },
      },
    },
    async () => {
      const challenge = engine.registrationChallenge?.() ?? null;
      if (challenge === null) throw new HttpError(HttpErrorCodes.POW_NOT_REQUIRED, 'this hub asks new agents for no proof of work', 404);
      return challenge;
    },
  );

  if (adminToken !== undefined) {
    app.post(
      '/v1/admin/agents/:id/approve',
      {
        schema: {
          summary: 'Approve a pending agent (operator only: from the hub\'s machine, with the token of its data dir)',
          tags: ['admin'],
          params: IdParams('the agent\'s node id'),
          headers: Type.Object({ authorization: Type.Optional(Type.String()) }),
          response: { 200: AgentReply, ...errorResponses },
        },
      },
      async (request) => {
        checkOperator(request, adminToken);
        if (engine.approveAgent === undefined) throw new AgentNotRegisteredError(request.params.id);
        return { agent: await engine.approveAgent(request.params.id) };
      },
    );
  }

  app.post(
    '/v1/agents/heartbeat',
    {
      schema: {
        summary: 'Report liveness and free resources (a signed agent.heartbeat envelope)',
        tags: ['agents'],
        body: Envelope,
        response: { 200: AgentReply, ...errorResponses },
      },
      preValidation: limitSigner,
    },
    async (request) => ({ agent: await engine.heartbeat(request.body) }),
  );

  app.get(
    '/v1/agents/:id',
    {
      schema: {
        summary: 'An agent: resources, reservations, trust, liveness, record',
        tags: ['agents'],
        params: IdParams('the agent\'s node id'),
        response: { 200: AgentReply, ...errorResponses },
      },
    },
    async (request) => {
      const agent = engine.getAgent(request.params.id);
      if (agent === undefined) throw new AgentNotRegisteredError(request.params.id);
      return { agent };
    },
  );
};
