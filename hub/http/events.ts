import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ServerResponse } from 'node:http';
import type { TypeBoxProvider } from './type-provider.ts';
import type { FastifyPluginAsync } from 'fastify';
import { ContentId, Hex32 } from '../../protocol/messages.ts';
import type { HubEngine, HubEvent } from '../engine-types.ts';
import { errorResponses } from './errors.ts';
import { AgentViewSchema, TaskViewSchema } from './schemas.ts';

/** Each HubEvent's schema by its type: what an event may carry out of the hub. */
const EVENT_SCHEMAS = {
  task: Type.Object({ type: Type.Literal('task'), task: TaskViewSchema }, { additionalProperties: false }),
  agent: Type.Object({ type: Type.Literal('agent'), agent: AgentViewSchema }, { additionalProperties: false }),
  decision: Type.Object(
    {
      type: Type.Literal('decision'),
      taskId: ContentId,
      outcome: Type.Union([Type.Literal('validated'), Type.Literal('failed')]),
      score: Type.Number(),
      digest: Type.Union([Hex32, Type.Null()]),
    },
    { additionalProperties: false },
  ),
} satisfies Record<HubEvent['type'], unknown>;

export interface EventRoutesOptions {
  engine: Pick<HubEngine, 'subscribe'>;
  /** A comment line this often keeps proxies and clients from timing the stream out. */
  keepAliveMs: number;
  /** Bytes a slow client may fall behind by before the hub drops it (it reconnects and re-reads state). */
  maxBacklogBytes?: number;
}

interface Stream {
  res: ServerResponse;
  task: string | undefined;
}

/** One server-sent event frame. JSON has no raw newlines, so `data` is always a single line. */
function frame(id: number, event: string, data: string): string {
  return `id: ${id}\nevent: ${event}\ndata: ${data}\n\n`;
}

function taskOf(event: HubEvent): string | undefined {
  if (event.type === 'task') return event.task.id;
  if (event.type === 'decision') return event.taskId;
  return undefined;
}

/**
 * GET /v1/events: the engine's HubEvents as server-sent events (`event:` the type, `data:` the
 * JSON, `id:` a sequence number of this hub process). One engine subscription serves every
 * client: each event is cleaned to its schema and serialized once, then fanned out.
 *
 * The frames are written straight to the hijacked response rather than through fastify-sse-v2,
 * whose queue grows without bound behind a client that stops reading; here the socket's own
 * buffer is the backlog, and a client that falls too far behind is disconnected.
 */
export const eventRoutes: FastifyPluginAsync<EventRoutesOptions> = async (base, options) => {
  const app = base.withTypeProvider<TypeBoxProvider>();
  const maxBacklogBytes = options.maxBacklogBytes ?? 4 * 1024 * 1024;
  const streams = new Set<Stream>();
  let seq = 0;

  // Subscribed only while someone listens: building the views of every change costs the
  // engine work on each heartbeat, for nobody, otherwise.
  let unsubscribe: (() => void) | undefined;
  const fanOut = (event: HubEvent) => {
    const text = frame(++seq, event.type, JSON.stringify(Value.Clean(EVENT_SCHEMAS[event.type], structuredClone(event))));
    const task = taskOf(event);
    for (const stream of streams) {
      if (stream.task === undefined || stream.task === task) write(stream, text);
    }
  };
  const forget = (stream: Stream) => {
    streams.delete(stream);
    if (streams.size === 0) {
      unsubscribe?.();
      unsubscribe = undefined;
    }
  };
  const close = (stream: Stream) => {
    forget(stream);
    stream.res.end();
  };
  const write = (stream: Stream, text: string) => {
    if (stream.res.writableLength > maxBacklogBytes) close(stream);
    else stream.res.write(text);
  };

  const keepAlive = setInterval(() => {
    for (const stream of streams) write(stream, ':keep-alive\n\n');
  }, options.keepAliveMs);
  keepAlive.unref();

  // Open streams would hold fastify's close() forever: end them first.
  app.addHook('preClose', async () => {
    clearInterval(keepAlive);
    for (const stream of streams) close(stream);
  });

  app.get(
    '/v1/events',
    {
      schema: {
        summary: 'Live hub events (server-sent events)',
        description:
          'A text/event-stream of HubEvent: `event:` is task, agent or decision; `data:` its JSON (see HubEvent); comment lines keep the stream alive. ' +
          'With `task`, only that task\'s events.',
        tags: ['events'],
        produces: ['text/event-stream'],
        querystring: Type.Object({ task: Type.Optional(ContentId) }, { additionalProperties: false }),
        response: { 200: Type.String({ description: 'text/event-stream; each data line is one HubEvent' }), ...errorResponses },
      },
    },
    (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 3000\n:connected\n\n');
      const stream: Stream = { res, task: request.query.task };
      streams.add(stream);
      unsubscribe ??= options.engine.subscribe(fanOut);
      // The client went away (or the hub dropped it): forget it.
      res.on('close', () => forget(stream));
    },
  );
};
