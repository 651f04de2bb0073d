import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxProvider } from './type-provider.ts';
import { Type } from '@sinclair/typebox';
import { ContentId, Envelope } from '../../protocol/messages.ts';
import type { HubEngine } from '../engine-types.ts';
import { errorResponses } from './errors.ts';
import type { SignerLimit } from './rate-limit.ts';
import { TaskViewSchema, WorkGrantSchema } from './schemas.ts';

export interface WorkRoutesOptions {
  engine: HubEngine;
  signerLimit: SignerLimit;
  /** Results carry up to 1 MiB of stdout: their route takes more than the others. */
  resultBodyLimit: number;
}

/** The agent's loop: ask for work (work.request), answer it (result). */
export const workRoutes: FastifyPluginAsync<WorkRoutesOptions> = async (base, { engine, signerLimit, resultBodyLimit }) => {
  const app = base.withTypeProvider<TypeBoxProvider>();
  const limitSigner = signerLimit((body) => body);

  app.post(
    '/v1/work',
    {
      schema: {
        summary: 'Ask for an assignment (a signed work.request envelope)',
        description:
          '200 with a hub-signed assignment (and, for a private image, the registry credentials: only here, only to this agent); 204 when there is nothing for this agent now.',
        tags: ['agents'],
        body: Envelope,
        response: { 200: WorkGrantSchema, 204: Type.Null({ description: 'nothing to do now: ask again later' }), ...errorResponses },
      },
      preValidation: limitSigner,
    },
    async (request, reply) => {
      const grant = await engine.requestWork(request.body);
      if (grant === null) return reply.code(204).send(null);
      return grant;
    },
  );

  app.post(
    '/v1/results',
    {
      schema: {
        summary: 'Report the outcome of an assignment (a signed result envelope)',
        description: 'Idempotent: the same result again answers 200 with duplicate: true and is counted once.',
        tags: ['agents'],
        body: Envelope,
        response: {
          200: Type.Object(
            { assignmentId: ContentId, duplicate: Type.Boolean(), task: TaskViewSchema },
            { additionalProperties: false },
          ),
          ...errorResponses,
        },
      },
      bodyLimit: resultBodyLimit,
      preValidation: limitSigner,
    },
    async (request) => engine.submitResult(request.body),
  );
};
