// Real libp2p hubs on 127.0.0.1 exchanging gossip: discovery through the DHT, validated delivery,
// forgeries refused before the engine sees them, and a closed membership.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Libp2p } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '../../hub/federation/index.ts';
import { createSigner, generateKeyPair, type Signer } from '../../keys/index.ts';
import { type Envelope, seal } from '../../protocol/index.ts';
import { eventually } from '../support/agent-process.ts';
import { startTestHub, type TestHub } from '../support/federation.ts';
import { taskSpec } from '../support/test-agent.ts';

const agent = createSigner(generateKeyPair());

function heartbeat(signer: Signer = agent): Envelope {
  return seal('agent.heartbeat', { total: { cpu: 4, ramGb: 8 }, free: { cpu: 2, ramGb: 4 }, running: [] }, signer);
}

function wire(envelope: Envelope): Uint8Array {
  return Buffer.from(JSON.stringify(envelope));
}

type Rogue = Libp2p<{ pubsub: GossipSub; identify: unknown }>;

/** A libp2p peer with a valid key of its own that speaks gossipsub but is no hub or agent of ours. */
async function startRogue(target: TestHub): Promise<Rogue> {
  const rogue: Rogue = await createLibp2p({
    privateKey: await generateKeyPairFromSeed('Ed25519', randomBytes(32)),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) },
  });
  for (const topic of Object.values(TOPICS)) rogue.services.pubsub.subscribe(topic);
  await rogue.dial(multiaddr(target.address()));
  await eventually('the hub to subscribe the rogue to its topics', () =>
    rogue.services.pubsub.getSubscribers(TOPICS.decisions).some((p) => p.toString() === target.fed.peerId) || undefined,
  );
  return rogue;
}

function receivedIds(hub: TestHub): string[] {
  return hub.received.map((r) => r.opened.id);
}

function peerView(hub: TestHub, peerId: string) {
  return hub.fed.info().peers.find((p) => p.peerId === peerId);
}

describe('federation gossip between three hubs (A and C bootstrap to B)', () => {
  let a: TestHub;
  let b: TestHub;
  let c: TestHub;
  const rogues: Rogue[] = [];

  beforeAll(async () => {
    b = await startTestHub('b');
    a = await startTestHub('a', { bootstrap: [b.address()] });
    c = await startTestHub('c', { bootstrap: [b.address()] });
  });

  afterAll(async () => {
    await Promise.all(rogues.map((r) => r.stop()));
    await Promise.all([a, b, c].filter(Boolean).map((h) => h.destroy()));
  });

  it('A and C find each other through B and connect directly', async () => {
    await eventually('A connected to C', () => (peerView(a, c.fed.peerId)?.status === 'connected' ? true : undefined));
    await eventually('C connected to A', () => (peerView(c, a.fed.peerId)?.status === 'connected' ? true : undefined));
    for (const hub of [a, c]) expect(peerView(hub, b.fed.peerId)).toMatchObject({ status: 'connected', hub: true });
    // What GET /v1/federation will show: full addresses another hub can bootstrap with.
    expect(b.fed.info().multiaddrs[0]).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${b.fed.peerId}$`));
  });

  it('a task.announce published by A reaches B and C, verified, and enters their copies of A\'s log', async () => {
    const task = seal('task.spec', taskSpec(), createSigner(generateKeyPair()));
    const out = await a.fed.originate('task.announce', { task, home: a.fed.nodeId });
    expect(out).toMatchObject({ topic: TOPICS.tasks, gossiped: true, seq: 1 });

    for (const hub of [b, c]) {
      const got = await eventually(`${hub.name} to receive the announcement`, () => hub.received.find((r) => r.opened.id === out.id));
      expect(got.opened).toMatchObject({ type: 'task.announce', nodeId: a.fed.nodeId, body: { home: a.fed.nodeId, seq: 1, task } });
      // Gossip usually; the sync a fresh connection starts may get there first, and is as good.
      expect(['gossip', 'sync']).toContain(got.from.via);
      await eventually(`${hub.name}'s copy of A's log`, () => (hub.store.heads()[a.fed.nodeId] === 1 ? true : undefined));
    }
    expect(a.store.heads()).toEqual({ [a.fed.nodeId]: 1 });
  });

  it('an agent heartbeat relayed by one hub reaches the others once', async () => {
    const beat = heartbeat();
    const out = await c.fed.publish(beat);
    expect(out.topic).toBe(TOPICS.heartbeats);
    for (const hub of [a, b]) await eventually(`${hub.name} to receive the heartbeat`, () => hub.received.find((r) => r.opened.id === out.id));
    // Republishing the same envelope (another relay's copy) is not delivered twice.
    const again = await b.fed.publish(beat);
    expect(again.id).toBe(out.id);
    const marker = await c.fed.publish(heartbeat());
    await eventually('a later heartbeat at A', () => a.received.find((r) => r.opened.id === marker.id));
    expect(receivedIds(a).filter((id) => id === out.id)).toHaveLength(1);
  });

  it('forgeries from a rogue peer are rejected (the sender is penalised) and never reach the engine', async () => {
    const resultBody = {
      assignmentId: 'ab'.repeat(32),
      taskId: 'cd'.repeat(32),
      outcome: 'ok' as const,
      exitCode: 0,
      digest: 'ef'.repeat(32),
      stdout: 'NDIK',
      stderr: '',
      truncated: false,
      durationMs: 5,
    };
    const genuine = seal('result', resultBody, agent);
    const badSignature: Envelope = { payload: genuine.payload, sig: `${genuine.sig[0] === '0' ? '1' : '0'}${genuine.sig.slice(1)}` };

    const decisionBody = { taskId: 'cd'.repeat(32), seq: 7, outcome: 'validated' as const, policy: 'thesis', digest: 'ef'.repeat(32), score: 1, results: [genuine], trust: [] };
    const unknownKey = createSigner(generateKeyPair());
    // Signed by a key nobody knows, with A's public key written in as the signer: A's origin, claimed.
    const claimed = seal('decision', decisionBody, { ...unknownKey, publicKey: a.identity.publicKey, publicKeyHex: Buffer.from(a.identity.publicKey).toString('hex') });
    // Validly signed by the unknown key, but published by a peer that is not that key's hub.
    const unbound = seal('decision', decisionBody, unknownKey);

    // One rogue per forgery: after two rejects gossipsub greylists a peer and drops the rest unread.
    const forgeries: Array<[string, Envelope]> = [
      [TOPICS.results, badSignature],
      [TOPICS.decisions, claimed],
      [TOPICS.decisions, unbound],
    ];
    for (const [topic, envelope] of forgeries) {
      const rogue = await startRogue(b);
      rogues.push(rogue);
      await rogue.services.pubsub.publish(topic, wire(envelope));
      await eventually('B to reject the forgery', () => ((peerView(b, rogue.peerId.toString())?.rejected ?? 0) >= 1 ? true : undefined));
    }
    // A message from A published after the forgeries arrives: B kept relaying honest traffic.
    const marker = await a.fed.publish(heartbeat());
    await eventually('the honest heartbeat at B and C', () => (receivedIds(b).includes(marker.id) && receivedIds(c).includes(marker.id) ? true : undefined));

    for (const hub of [a, b, c]) {
      const types = hub.received.map((r) => r.opened.type);
      expect(types).not.toContain('result');
      expect(types).not.toContain('decision');
    }
    expect(b.store.heads()).toEqual({ [a.fed.nodeId]: 1 });
  });
});

describe('federation membership with peerAllow', () => {
  let x: TestHub;
  let y: TestHub;
  let z: TestHub;

  beforeAll(async () => {
    y = await startTestHub('y');
    z = await startTestHub('z', { bootstrap: [y.address()] });
    x = await startTestHub('x', { bootstrap: [y.address()], peerAllow: [y.fed.peerId] });
  });

  afterAll(async () => {
    await Promise.all([x, y, z].filter(Boolean).map((h) => h.destroy()));
  });

  it('refuses connections from an unlisted peer, and drops gossip that originates with it', async () => {
    await eventually('X connected to Y', () => (peerView(x, y.fed.peerId)?.status === 'connected' ? true : undefined));
    await eventually('Z connected to Y', () => (peerView(z, y.fed.peerId)?.status === 'connected' ? true : undefined));

    // Z dials X outright: the handshake completes and X's gater closes it.
    const late = await startTestHub('w', { bootstrap: [x.address()] });
    try {
      await eventually('W\'s dial to X to fail', () => (peerView(late, x.fed.peerId)?.status === 'lost' ? true : undefined));
      expect(peerView(x, late.fed.peerId)).toBeUndefined();
    } finally {
      await late.destroy();
    }

    // Z's heartbeat reaches Y, which relays it to X; X must not deliver it. Y's own, sent after, arrives.
    const fromZ = await z.fed.publish(heartbeat(createSigner(generateKeyPair())));
    await eventually('Y to receive Z\'s heartbeat', () => receivedIds(y).includes(fromZ.id) || undefined);
    const fromY = await y.fed.publish(heartbeat());
    await eventually('X to receive Y\'s heartbeat', () => receivedIds(x).includes(fromY.id) || undefined);
    expect(receivedIds(x)).not.toContain(fromZ.id);
    expect(x.fed.info().peers.map((p) => p.peerId)).not.toContain(z.fed.peerId);
  });
});
