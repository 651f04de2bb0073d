import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxProvider } from './type-provider.ts';
import { Type } from '@sinclair/typebox';
import { PROTOCOL_VERSION } from '../../protocol/messages.ts';
import type { HubEngine } from '../engine-types.ts';
import { errorResponses } from './errors.ts';
import type { FederationSource } from './federation.ts';
import { HubInfoSchema, NetworkViewSchema } from './schemas.ts';

export interface HubInfoRoutesOptions {
  engine: HubEngine;
  version: string;
  /** In a federation, /v1/network adds its totals beside this hub's own. */
  federation?: FederationSource;
}

/** Who this hub is, what its network looks like, and whether it is up. */
export const hubInfoRoutes: FastifyPluginAsync<HubInfoRoutesOptions> = async (base, { engine, version, federation }) => {
  const app = base.withTypeProvider<TypeBoxProvider>();

  app.get(
    '/v1/hub',
    {
      schema: {
        summary: 'The hub\'s identity: the key its assignments and decisions are signed with',
        tags: ['hub'],
        response: { 200: HubInfoSchema, ...errorResponses },
      },
    },
    async () => ({ id: engine.identity.nodeId, publicKey: engine.identity.publicKey, version, protocol: PROTOCOL_VERSION }),
  );

  app.get(
    '/v1/network',
    {
      schema: {
        summary: 'Agents, resources, average trust and tasks by status (in a federation: this hub\'s own, and `federation` for all)',
        tags: ['hub'],
        response: { 200: NetworkViewSchema, ...errorResponses },
      },
    },
    async () => (federation === undefined ? engine.network() : { ...engine.network(), federation: federation.totals() }),
  );

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: 200 while the hub answers',
        tags: ['operations'],
        response: { 200: Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false }), ...errorResponses },
      },
      config: { rateLimit: false },
    },
    async () => ({ status: 'ok' as const }),
  );
};
