import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { NodeId } from '../../protocol/messages.ts';
import type { FederationBridge } from '../federation-bridge.ts';
import { FederationOffError } from '../federated/errors.ts';
import { errorResponses } from './errors.ts';
import type { TypeBoxProvider } from './type-provider.ts';

/** What the federation routes read (hub/federation-bridge.ts). */
export type FederationSource = Pick<FederationBridge, 'info' | 'totals'>;

export interface FederationRoutesOptions {
  /** Absent when the hub runs alone (no --listen). */
  federation: FederationSource | undefined;
}

const closed = { additionalProperties: false } as const;

export const FederationViewSchema = Type.Object(
  {
    peerId: Type.String({ description: 'this hub\'s libp2p peer id (its hub key)' }),
    nodeId: NodeId,
    multiaddrs: Type.Array(Type.String(), { description: 'full listen addresses, /p2p/<peer id> included: what another hub gives to --bootstrap' }),
    peers: Type.Array(
      Type.Object(
        {
          peerId: Type.String(),
          nodeId: Type.Union([NodeId, Type.Null()], { description: 'the hub behind the peer id' }),
          addrs: Type.Array(Type.String()),
          status: Type.Union([Type.Literal('connected'), Type.Literal('dialing'), Type.Literal('lost')]),
          lastSeen: Type.Union([Type.Number(), Type.Null()], { description: 'when a connection to it last opened or closed, ms' }),
          hub: Type.Boolean({ description: 'it speaks the sync protocol' }),
          rejected: Type.Integer({ description: 'gossip and sync answers from it that this hub refused' }),
        },
        closed,
      ),
    ),
    heads: Type.Record(Type.String(), Type.Integer(), { description: 'contiguous head of every hub\'s log held here' }),
    leaseMs: Type.Integer({ description: 'silence after which a task\'s decider is replaced' }),
    deciding: Type.Boolean({ description: 'false until the hub has synced after starting' }),
    outbox: Type.Integer({ description: 'entries committed here and not yet signed into the log' }),
  },
  closed,
);

/** GET /v1/federation: who this hub is among hubs, and whom it talks to. */
export const federationRoutes: FastifyPluginAsync<FederationRoutesOptions> = async (base, { federation }) => {
  const app = base.withTypeProvider<TypeBoxProvider>();
  app.get(
    '/v1/federation',
    {
      schema: {
        summary: 'This hub in its federation: peer id, addresses to bootstrap from, peers and their state, log heads',
        tags: ['hub'],
        response: { 200: FederationViewSchema, ...errorResponses },
      },
    },
    async () => {
      if (federation === undefined) throw new FederationOffError();
      return federation.info();
    },
  );
};
