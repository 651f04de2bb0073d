import type { ServerResponse } from 'node:http';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { errorResponses } from '../hub/http/errors.ts';
import { NetworkViewSchema } from '../hub/http/schemas.ts';
import type { TypeBoxProvider } from '../hub/http/type-provider.ts';
import type { NetworkView } from '../hub/engine-types.ts';
import { DcloudError } from '../protocol/errors.ts';
import type { Agent } from './agent.ts';
import { HubRejectedError, HubUnreachableError } from './hub-client.ts';
import { nodeFetch } from './http-fetch.ts';

/**
 * What the agent's page needs live (docs/WEB.md): GET /api/events is one server-sent stream per
 * page carrying the agent's own status whenever it changes and, relayed from the hub's
 * /v1/events, the changes of the tasks this agent's key submitted, of this agent as the hub sees
 * it, and the network totals after each change. The page never talks to the hub itself (the
 * control API answers only loopback pages, and the hub may be anywhere), and never polls it.
 */

export interface UiEventOptions {
  agent: Agent;
  /** How often the agent's own status is compared with the last one sent (in-process, cheap). */
  statusEveryMs?: number;
  /** At most one network read per this many ms, however busy the hub. */
  networkEveryMs?: number;
  /** Wait before opening the hub's stream again after it broke. */
  retryMs?: number;
}

const HubQuery = Type.Object({ hub: Type.Optional(Type.String({ description: 'one of the agent\'s hubs; the first by default' })) }, { additionalProperties: false });

/** GET HUB/v1/network, with the hub's own error message when it refuses. */
export async function readNetwork(hubUrl: string, signal?: AbortSignal): Promise<NetworkView> {
  const timeout = AbortSignal.timeout(10_000);
  let res: Response;
  let json: any;
  try {
    res = await nodeFetch(`${hubUrl}/v1/network`, { headers: { accept: 'application/json' }, signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) });
    json = await res.json();
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw new HubUnreachableError(hubUrl, (err as Error).message, { cause: err });
  }
  if (!res.ok) throw new HubRejectedError(json?.error?.code ?? 'HUB_ERROR', `hub ${hubUrl}: ${json?.error?.message ?? `answered ${res.status}`}`, res.status);
  return json as NetworkView;
}

function send(res: ServerResponse, event: string, data: unknown): void {
  if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export const uiEventRoutes: FastifyPluginAsync<UiEventOptions> = async (base, options) => {
  const app = base.withTypeProvider<TypeBoxProvider>();
  const { agent } = options;
  const statusEveryMs = options.statusEveryMs ?? 500;
  const networkEveryMs = options.networkEveryMs ?? 1_000;
  const retryMs = options.retryMs ?? 2_000;
  const open = new Set<AbortController>();

  // Open streams would hold close() forever.
  app.addHook('preClose', async () => {
    for (const stream of open) stream.abort();
  });

  app.get(
    '/api/network',
    {
      schema: {
        summary: 'The network as the hub sees it: agents, resources, average trust, tasks per status',
        tags: ['agent'],
        querystring: HubQuery,
        response: { 200: NetworkViewSchema, ...errorResponses },
      },
    },
    async (request) => readNetwork(agent.hub(request.query.hub).url),
  );

  app.get(
    '/api/events',
    {
      schema: {
        summary: 'Live changes for the page (server-sent events)',
        description:
          '`status`: the agent\'s status (GET /api/status) when it changed; `sync`: the hub\'s stream (re)opened, read the tasks again; ' +
          '`task`: one of this agent\'s tasks changed (the hub\'s task view); `agent`: this agent as the hub sees it; `decision`: a consensus decision on one of its tasks; ' +
          '`network`: the hub\'s /v1/network after a change; `hub-error`: the hub\'s stream broke ({ code, message }), it is reopened.',
        tags: ['agent'],
        produces: ['text/event-stream'],
        querystring: HubQuery,
        response: { 200: Type.String({ description: 'text/event-stream' }), ...errorResponses },
      },
    },
    (request, reply) => {
      const client = agent.hub(request.query.hub); // an unknown hub throws before the stream opens
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive' });
      res.write('retry: 2000\n:connected\n\n');
      const stream = new AbortController();
      const { signal } = stream;
      open.add(stream);
      res.on('close', () => stream.abort());
      signal.addEventListener('abort', () => {
        open.delete(stream);
        clearInterval(statusTimer);
        clearTimeout(networkTimer);
        res.end();
      });

      let lastStatus = '';
      const sendStatus = () => {
        const text = JSON.stringify(agent.status());
        if (text === lastStatus) return;
        lastStatus = text;
        if (!res.writableEnded) res.write(`event: status\ndata: ${text}\n\n`);
      };
      sendStatus();
      const statusTimer = setInterval(sendStatus, statusEveryMs);

      let networkTimer: NodeJS.Timeout | undefined;
      const refreshNetwork = () => {
        if (networkTimer !== undefined) return;
        networkTimer = setTimeout(async () => {
          networkTimer = undefined;
          try {
            send(res, 'network', await readNetwork(client.url, signal));
          } catch (err) {
            if (!signal.aborted) send(res, 'hub-error', errorOf(err));
          }
        }, networkEveryMs);
      };

      const mine = new Set<string>();
      void (async () => {
        while (!signal.aborted) {
          try {
            for await (const event of client.events({}, { signal })) {
              if (event.event === 'open') {
                send(res, 'sync', { hub: client.url });
                refreshNetwork();
                continue;
              }
              const data = JSON.parse(event.data);
              if (event.event === 'task') {
                if (data.task?.submitter === agent.nodeId) {
                  mine.add(data.task.id);
                  send(res, 'task', data.task);
                }
                refreshNetwork();
              } else if (event.event === 'agent') {
                if (data.agent?.id === agent.nodeId) send(res, 'agent', data.agent);
                refreshNetwork();
              } else if (event.event === 'decision' && mine.has(data.taskId)) {
                send(res, 'decision', data);
              }
            }
          } catch (err) {
            if (signal.aborted) return;
            send(res, 'hub-error', errorOf(err));
          }
          await new Promise((resolve) => setTimeout(resolve, retryMs));
        }
      })();
    },
  );
};

function errorOf(err: unknown): { code: string; message: string } {
  return err instanceof DcloudError ? { code: err.code, message: err.message } : { code: 'HUB_ERROR', message: (err as Error).message };
}
