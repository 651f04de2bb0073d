// Anti-entropy between real libp2p hubs: a hub that was down catches up from its peers' logs on its
// own, and a hub that never met an origin learns it through a peer's directory.
import { randomBytes } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { identify } from '@libp2p/identify';
import type { Libp2p } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIRECTORY_ORIGIN, nodeIdOfPeer, peerIdOfPublicKey, syncProtocol } from '../../hub/federation/index.ts';
import { createSigner, generateKeyPair, keyPairFromSeed } from '../../keys/index.ts';
import { type Envelope, seal } from '../../protocol/index.ts';
import { eventually } from '../support/agent-process.ts';
import { startTestHub, type TestHub } from '../support/federation.ts';
import { taskSpec } from '../support/test-agent.ts';

const submitter = createSigner(generateKeyPair());

async function announce(hub: TestHub, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const task = seal('task.spec', taskSpec({ command: ['echo', `${hub.name}-${i}-${Math.random()}`] }), submitter);
    ids.push((await hub.fed.originate('task.announce', { task, home: hub.fed.nodeId })).id);
  }
  return ids;
}

async function logOf(hub: TestHub, origin: string): Promise<string[]> {
  const page = await hub.store.since(origin, 0, 10_000, Number.MAX_SAFE_INTEGER);
  return page.entries.map((e) => e.payload);
}

function headOf(hub: TestHub, origin: string): number {
  return hub.store.heads()[origin] ?? 0;
}

describe('federation anti-entropy (A and C bootstrap to B)', () => {
  let a: TestHub;
  let b: TestHub;
  let c: TestHub;
  let d: TestHub | undefined;

  beforeAll(async () => {
    b = await startTestHub('b');
    a = await startTestHub('a', { bootstrap: [b.address()] });
    c = await startTestHub('c', { bootstrap: [b.address()] });
  });

  afterAll(async () => {
    await Promise.all([a, b, c, d].filter((h) => h !== undefined).map((h) => h.destroy()));
  });

  it('a hub\'s peer id is its hub key, and stays the same across restarts', async () => {
    const before = b.fed.peerId;
    expect(before).toBe(peerIdOfPublicKey(b.identity.publicKey).toString());
    expect(nodeIdOfPeer(peerIdOfPublicKey(b.identity.publicKey))).toBe(b.fed.nodeId);
    await b.stop();
    await b.restart();
    expect(b.fed.peerId).toBe(before);
  });

  it('B, stopped while A publishes, catches up through sync after a restart, with no manual step', async () => {
    const connected = (x: TestHub, y: TestHub) => x.fed.info().peers.some((p) => p.peerId === y.fed.peerId && p.status === 'connected');
    // C stays connected to A directly while B is down (they met through B's DHT).
    await eventually('A, B and C connected to each other', () => (connected(a, b) && connected(c, b) && connected(a, c) ? true : undefined));
    await announce(a, 1);
    await eventually('B to hold A\'s first entry', () => (headOf(b, a.fed.nodeId) === 1 ? true : undefined));

    await b.stop();
    const missed = await announce(a, 3);
    const decision = await a.fed.originate('decision', {
      taskId: 'cd'.repeat(32),
      outcome: 'failed',
      policy: 'thesis',
      digest: null,
      score: 0,
      results: [],
      trust: [],
    });
    missed.push(decision.id);
    expect(headOf(a, a.fed.nodeId)).toBe(5);

    // Restarted on the same port: A and C redial it (they keep their hubs), then it asks them.
    await b.restart();
    await eventually('B to catch up with A\'s log', () => (headOf(b, a.fed.nodeId) === 5 ? true : undefined), 20_000);
    expect(await logOf(b, a.fed.nodeId)).toEqual(await logOf(a, a.fed.nodeId));
    const delivered = b.received.filter((r) => missed.includes(r.opened.id));
    expect(delivered.map((r) => r.opened.id).sort()).toEqual([...missed].sort());
    expect(delivered.every((r) => r.from.via === 'sync')).toBe(true);
  });

  it('a new hub learns an origin it never met (A, now down) from a peer\'s directory', async () => {
    await eventually('C to hold all of A\'s log', () => (headOf(c, a.fed.nodeId) === 5 ? true : undefined), 20_000);
    const aLog = await logOf(a, a.fed.nodeId);
    const aId = a.fed.nodeId;
    await a.stop();

    d = await startTestHub('d', { bootstrap: [c.address()] });
    const late = d;
    await eventually('D to hold A\'s log', () => (headOf(late, aId) === 5 ? true : undefined), 20_000);
    expect(await logOf(late, aId)).toEqual(aLog);
    expect(late.received.filter((r) => r.opened.nodeId === aId)).toHaveLength(5);
  });
});

/** A bare libp2p peer on loopback with a fresh valid key, and a signer over the same key. */
async function startRawPeer(): Promise<{ peer: Libp2p; signer: ReturnType<typeof createSigner> }> {
  const seed = randomBytes(32);
  const peer = await createLibp2p({
    privateKey: await generateKeyPairFromSeed('Ed25519', seed),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  });
  return { peer, signer: createSigner(keyPairFromSeed(seed)) };
}

/** A libp2p peer that serves the sync protocol with made-up answers, signed by its own (valid) key. */
async function startLyingSyncPeer(target: TestHub, directory: (request: { origin: string }) => Envelope[]): Promise<Libp2p> {
  const { peer: liar, signer } = await startRawPeer();
  await liar.handle(syncProtocol('/dcloud'), async (stream) => {
    const lp = lpStream(stream);
    try {
      for (;;) {
        const request = JSON.parse(Buffer.from((await lp.read()).subarray()).toString()) as Envelope;
        const { body } = JSON.parse(request.payload) as { body: { origin: string } };
        const entries = body.origin === DIRECTORY_ORIGIN ? directory(body) : [];
        await lp.write(Buffer.from(JSON.stringify(seal('sync.response', { origin: body.origin, entries, more: false }, signer))));
      }
    } catch {
      stream.abort(new Error('done'));
    }
  });
  await liar.dial(multiaddr(target.address()));
  return liar;
}

describe('federation sync against a lying peer', () => {
  let origin: TestHub;
  let hub: TestHub;
  const liars: Libp2p[] = [];

  beforeAll(async () => {
    origin = await startTestHub('origin');
    await announce(origin, 2);
    hub = await startTestHub('victim');
  });

  afterAll(async () => {
    await Promise.all(liars.map((l) => l.stop()));
    await Promise.all([origin, hub].filter(Boolean).map((h) => h.destroy()));
  });

  it('refuses entries that do not verify or are not where their origin put them, and hands none to the engine', async () => {
    const [first, second] = (await origin.store.since(origin.fed.nodeId, 0, 10, Number.MAX_SAFE_INTEGER)).entries;
    const tampered: Envelope = { payload: first!.payload.replace('"seq":1', '"seq":1 '), sig: first!.sig };
    const forged: Envelope = { payload: first!.payload, sig: second!.sig };
    const lies: Envelope[][] = [
      [tampered], // not canonical, so not what was signed
      [forged], // another entry's signature
      [second!], // a genuine entry, given as an origin's first
    ];
    for (const entries of lies) {
      const liar = await startLyingSyncPeer(hub, () => entries);
      liars.push(liar);
      await eventually('the hub to refuse the lying answer', () =>
        ((hub.fed.info().peers.find((p) => p.peerId === liar.peerId.toString())?.rejected ?? 0) >= 1 ? true : undefined),
      );
    }
    expect(hub.received).toEqual([]);
    expect(hub.store.heads()).toEqual({});
  });
});

describe('federation sync served to a peer that asks too much', () => {
  let server: TestHub;
  let honest: TestHub;
  let hammer: Libp2p | undefined;

  beforeAll(async () => {
    // One session per peer at a time, 5 requests a second after a burst of 5, none held back more than 0.3 s.
    server = await startTestHub('server', { syncLimits: { perSecond: 5, burst: 5, maxWaitMs: 300, sessions: 1 } });
    await announce(server, 3);
    honest = await startTestHub('honest', { bootstrap: [server.address()] });
  });

  afterAll(async () => {
    await hammer?.stop();
    await Promise.all([server, honest].filter(Boolean).map((h) => h.destroy()));
  });

  it('paces and refuses a peer that hammers /dcloud/sync, and goes on serving the others', async () => {
    const raw = await startRawPeer();
    hammer = raw.peer;
    const signer = raw.signer;
    const target = multiaddr(server.address());
    const hammerId = hammer.peerId.toString();
    // Four sessions at once, each asking for the server's log forty times, as fast as it answers.
    const hammering = Promise.allSettled(
      [0, 1, 2, 3].map(async () => {
        const stream = await hammer!.dialProtocol(target, syncProtocol('/dcloud'));
        const lp = lpStream(stream);
        let answered = 0;
        try {
          for (let i = 0; i < 40; i++) {
            await lp.write(Buffer.from(JSON.stringify(seal('sync.request', { origin: server.fed.nodeId, after: 0, limit: 10 }, signer))));
            await lp.read();
            answered++;
          }
        } finally {
          stream.abort(new Error('done'));
        }
        return answered;
      }),
    );

    // Meanwhile the honest hub is served in full: it catches up on new entries.
    const fresh = await announce(server, 2);
    await honest.fed.syncNow();
    await eventually('the honest hub has the new entries', async () => ((await Promise.all(fresh.map((id) => honest.store.has(id)))).every(Boolean) ? true : undefined));
    expect(server.fed.info().syncServed[honest.fed.peerId]?.refused ?? 0).toBe(0);

    // One session of the hammer's was served, paced; the three others were refused.
    const sessions = await hammering;
    expect(sessions.filter((s) => s.status === 'fulfilled').map((s) => s.value)).toEqual([40]);
    const counts = server.fed.info().syncServed[hammerId]!;
    expect(counts.refused).toBe(3);
    expect(counts.served).toBe(40);
    expect(counts.delayed).toBeGreaterThan(20); // past the burst, requests wait for their token
    // Pacing is no penalty: the hammer is not counted as a forger.
    expect(server.fed.info().peers.find((p) => p.peerId === hammerId)?.rejected ?? 0).toBe(0);
  });
});
