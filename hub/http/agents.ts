import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxProvider } from './type-provider.ts';
import { Envelope } from '../../protocol/messages.ts';
import type { HubEngine } from '../engine-types.ts';
import { AgentNotRegisteredError } from '../errors.ts';
import { errorResponses } from './errors.ts';
import type { SignerLimit } from './rate-limit.ts';
import { AgentReply, IdParams } from './schemas.ts';

export interface AgentRoutesOptions {
  engine: HubEngine;
  signerLimit: SignerLimit;
}

/** Agents join (agent.register) and stay alive (agent.heartbeat); anyone may read an agent. */
export const agentRoutes: FastifyPluginAsync<AgentRoutesOptions> = async (base, { engine, signerLimit }) => {
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
