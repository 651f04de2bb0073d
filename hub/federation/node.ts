import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub, type GossipSub, StrictSign } from '@libp2p/gossipsub';
import type { MetricsRegister } from '@libp2p/gossipsub/metrics';
import { createTopicScoreParams } from '@libp2p/gossipsub/score';
import { identify } from '@libp2p/identify';
import type { ConnectionGater, Ed25519PrivateKey, Libp2p, PeerId } from '@libp2p/interface';
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import type { Multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { gossipMessageId } from './gossip.ts';
import { ALL_TOPICS } from './topics.ts';

/** A hub's libp2p node: TCP, Noise, Yamux; identify, ping, gossipsub and kad-dht. */
export type FederationNode = Libp2p<{ pubsub: GossipSub; dht: unknown; identify: unknown; ping: unknown }>;

export interface NodeConfig {
  privateKey: Ed25519PrivateKey;
  listen: readonly Multiaddr[];
  announce: readonly Multiaddr[];
  /** Whom a connection may be made with (the allow list, and nobody while the hub is cut off); undefined: anyone. */
  allowed: ((peerId: string) => boolean) | undefined;
  protocolPrefix: string;
  maxMessageBytes: number;
  gossipHeartbeatMs: number;
  gossipMetrics: MetricsRegister | undefined;
}

/**
 * Gossipsub peer scoring for a federation: a forged or malformed message (validator Reject) costs
 * 20 points, squared per repeat and forgiven slowly (x0.99 per second), so one forgery already
 * stops gossip with the sender (gossipThreshold -10) and two put it on the greylist (-80), where
 * everything it sends is dropped. Mesh delivery quotas are off: a quiet federation sends few
 * messages, and honest peers must not be punished for having nothing to say.
 */
function topicScores(): Record<string, ReturnType<typeof createTopicScoreParams>> {
  const params = createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 100,
    firstMessageDeliveriesWeight: 0.1,
    firstMessageDeliveriesDecay: 0.99,
    firstMessageDeliveriesCap: 50,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -20,
    invalidMessageDeliveriesDecay: 0.99,
  });
  return Object.fromEntries(ALL_TOPICS.map((t) => [t, params]));
}

/** Every peer `allowed` refuses (not on the allow list; any, during a cut) is refused before a connection is of any use. */
function gaterOf(allowed: NodeConfig['allowed']): ConnectionGater {
  if (allowed === undefined) return {};
  const deny = (p: PeerId): boolean => !allowed(p.toString());
  return { denyDialPeer: deny, denyInboundEncryptedConnection: deny, denyOutboundEncryptedConnection: deny };
}

/** Creates the node, not started (handlers and validators are attached first). */
export async function createNode(config: NodeConfig): Promise<FederationNode> {
  return createLibp2p({
    start: false,
    privateKey: config.privateKey,
    addresses: { listen: config.listen.map(String), announce: config.announce.map(String) },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: gaterOf(config.allowed),
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictSign,
        msgIdFn: (msg) => gossipMessageId(msg.data),
        allowPublishToZeroTopicPeers: true,
        // Two hubs relaying one agent's envelope publish the same message: not an error.
        ignoreDuplicatePublishError: true,
        // A whole RPC frame: a batch (an IWANT answer) may hold several capped messages.
        maxInboundDataLength: 4 * config.maxMessageBytes + 64 * 1024,
        allowedTopics: new Set<string>(ALL_TOPICS),
        heartbeatInterval: config.gossipHeartbeatMs,
        scoreParams: { topics: topicScores() },
        ...(config.gossipMetrics === undefined
          ? {}
          : { metricsRegister: config.gossipMetrics, metricsTopicStrToLabel: new Map(ALL_TOPICS.map((t) => [t, t.slice(t.lastIndexOf('/') + 1)])) }),
      }),
      // Private protocol; server mode, since a LAN-only DHT never sees a public address and would
      // stay a client forever; private and loopback addresses kept, so hubs on one LAN find each other.
      dht: kadDHT({
        protocol: `${config.protocolPrefix}/kad/1.0.0`,
        clientMode: false,
        peerInfoMapper: passthroughMapper,
        initialQuerySelfInterval: 200,
      }),
    },
  });
}
