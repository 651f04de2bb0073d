import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxProvider } from './type-provider.ts';
import { Type } from '@sinclair/typebox';
import type { HubEngine } from '../engine-types.ts';
import { TaskNotFoundError } from '../errors.ts';
import { errorResponses } from './errors.ts';
import type { SignerLimit } from './rate-limit.ts';
import { IdParams, TaskQuerySchema, TaskReply, TaskSubmissionSchema, TaskViewSchema } from './schemas.ts';

export interface TaskRoutesOptions {
  engine: HubEngine;
  signerLimit: SignerLimit;
}

/** Submitters hand in signed task specs; anyone may follow a task through its states. */
export const taskRoutes: FastifyPluginAsync<TaskRoutesOptions> = async (base, { engine, signerLimit }) => {
  const app = base.withTypeProvider<TypeBoxProvider>();

  app.post(
    '/v1/tasks',
    {
      schema: {
        summary: 'Submit a task (a signed task.spec envelope, optional private-registry credentials)',
        description:
          '202: accepted, its image is being validated; 200: this very envelope was submitted before (the task as it is now). ' +
          'A task no agent can run is accepted and its `reason` says why it waits. Credentials are never echoed.',
        tags: ['tasks'],
        body: TaskSubmissionSchema,
        response: { 202: TaskReply, 200: TaskReply, ...errorResponses },
      },
      preValidation: signerLimit((body) => (body as { task?: unknown } | null)?.task),
    },
    async (request, reply) => {
      const { task, created } = await engine.submitTask(request.body.task, request.body.registryAuth);
      return reply.code(created ? 202 : 200).send({ task });
    },
  );

  app.get(
    '/v1/tasks/:id',
    {
      schema: {
        summary: 'A task: its state, history, assignments, result, and why it waits or failed',
        tags: ['tasks'],
        params: IdParams('the task id (sha256 of its signed spec)'),
        response: { 200: TaskReply, ...errorResponses },
      },
    },
    async (request) => {
      const task = engine.getTask(request.params.id);
      if (task === undefined) throw new TaskNotFoundError(request.params.id);
      return { task };
    },
  );

  app.get(
    '/v1/tasks',
    {
      schema: {
        summary: 'Tasks, newest first, by submitter and/or status',
        tags: ['tasks'],
        querystring: TaskQuerySchema,
        response: { 200: Type.Object({ tasks: Type.Array(TaskViewSchema) }, { additionalProperties: false }), ...errorResponses },
      },
    },
    async (request) => ({ tasks: engine.listTasks({ limit: 100, ...request.query }) }),
  );
};
