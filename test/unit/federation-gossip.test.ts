import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { FederationOptionsError, NotLoggableError } from '../../hub/federation/errors.ts';
import { encodeGossip, gossipMessageId, readGossip } from '../../hub/federation/gossip.ts';
import { libp2pKeyOf, nodeIdOfPeer, peerIdOfPublicKey, publicKeyHexOfPeer } from '../../hub/federation/identity.ts';
import { logEntryOf } from '../../hub/federation/log-entry.ts';
import { ALL_TOPICS, TOPICS, topicOf, typesOf } from '../../hub/federation/topics.ts';
import { createSigner, keyPairFromSeed, nodeIdOf, Verifier } from '../../keys/index.ts';
import { type Envelope, MESSAGE_TYPES, open, seal } from '../../protocol/index.ts';
import { expectError } from '../support/expect-error.ts';

const NOW = 1_790_000_000_000;
const hubPair = keyPairFromSeed(new Uint8Array(32).fill(1));
const hub = createSigner(hubPair);
const agent = createSigner(keyPairFromSeed(new Uint8Array(32).fill(2)));
const verifier = new Verifier();
const check = { verifier, maxMessageBytes: 64 * 1024, freshnessMs: 120_000, now: NOW };

const heartbeat = (ts = NOW) => seal('agent.heartbeat', { total: { cpu: 2, ramGb: 4 }, free: { cpu: 1, ramGb: 2 }, running: [] }, agent, { now: ts });
const spec = seal('task.spec', { image: 'busybox', command: ['echo', '42'], cpu: 1, ramGb: 0.5, minTrust: 0, overlap: 1, timeoutS: 60 }, agent, { now: NOW });
const announce = (seq = 1, home = hub.nodeId) => seal('task.announce', { task: spec, home, seq }, hub, { now: NOW });

function reading(topic: string, envelope: Envelope | Uint8Array, publisher = hub.publicKeyHex) {
  const data = envelope instanceof Uint8Array ? envelope : encodeGossip(envelope);
  return readGossip(topic, data, publisher, check);
}

describe('gossip topics', () => {
  it('route every gossiped type to one topic, and each topic admits exactly its types', () => {
    for (const type of MESSAGE_TYPES) {
      const topic = topicOf(type);
      if (topic !== undefined) expect(typesOf(topic)).toContain(type);
    }
    expect(ALL_TOPICS.flatMap((t) => typesOf(t)).sort()).toEqual(['agent.heartbeat', 'agent.register', 'assignment', 'decision', 'result', 'task.announce', 'task.status']);
    expect(topicOf('work.request')).toBeUndefined();
    expect(topicOf('sync.response')).toBeUndefined();
  });
});

describe('reading a gossip message', () => {
  it('accepts a fresh, well-signed envelope on its own topic', () => {
    const beat = heartbeat();
    const r = reading(TOPICS.heartbeats, beat, 'ab'.repeat(32)); // any relay may publish an agent's message
    expect(r).toMatchObject({ ok: true, opened: { type: 'agent.heartbeat', nodeId: agent.nodeId } });
  });

  it('rejects a bad signature, a type foreign to the topic, an oversized message and a re-spaced encoding', () => {
    const beat = heartbeat();
    const bad = { payload: beat.payload, sig: `${beat.sig.slice(0, -1)}${beat.sig.endsWith('0') ? '1' : '0'}` };
    expect(reading(TOPICS.heartbeats, bad)).toMatchObject({ ok: false, result: 'reject', reason: expect.stringContaining('ENVELOPE_BAD_SIGNATURE') });
    expect(reading(TOPICS.decisions, beat)).toMatchObject({ ok: false, result: 'reject', reason: expect.stringContaining('ENVELOPE_WRONG_TYPE') });
    expect(reading('dcloud/1/other', beat)).toMatchObject({ ok: false, result: 'reject' });
    const spaced = Buffer.from(JSON.stringify(beat, null, 1));
    expect(reading(TOPICS.heartbeats, spaced)).toMatchObject({ ok: false, result: 'reject', reason: expect.stringContaining('byte form') });
    const big = readGossip(TOPICS.heartbeats, encodeGossip(beat), undefined, { ...check, maxMessageBytes: 100 });
    expect(big).toMatchObject({ ok: false, result: 'reject', reason: expect.stringContaining('cap of 100') });
    expect(reading(TOPICS.heartbeats, Buffer.from('not json'))).toMatchObject({ ok: false, result: 'reject' });
  });

  it('ignores (without blame) what is merely stale or dated in the future', () => {
    expect(reading(TOPICS.heartbeats, heartbeat(NOW - 120_001))).toMatchObject({ ok: false, result: 'ignore', reason: expect.stringContaining('STALE') });
    expect(reading(TOPICS.heartbeats, heartbeat(NOW + 120_001))).toMatchObject({ ok: false, result: 'ignore', reason: expect.stringContaining('FUTURE') });
  });

  it('accepts a hub\'s own message only from the peer of the key that signed it', () => {
    expect(reading(TOPICS.tasks, announce())).toMatchObject({ ok: true });
    expect(reading(TOPICS.tasks, announce(), agent.publicKeyHex)).toMatchObject({ ok: false, result: 'reject', reason: expect.stringContaining('published by another peer') });
    // A publisher whose peer id holds no Ed25519 key can be no hub.
    expect(readGossip(TOPICS.tasks, encodeGossip(announce()), undefined, check)).toMatchObject({ ok: false, result: 'reject' });
  });

  it('gives one message id per byte form, the same on every hub', () => {
    const a = gossipMessageId(encodeGossip(heartbeat()));
    expect(Buffer.from(a).toString('hex')).toMatch(/^[0-9a-f]{64}$/);
    const beat = heartbeat(NOW - 5);
    expect(gossipMessageId(encodeGossip(beat))).toEqual(gossipMessageId(encodeGossip({ sig: beat.sig, payload: beat.payload })));
  });
});

describe('log entries', () => {
  it('are a hub\'s own messages at the seq written inside their signed body', () => {
    const opened = open(announce(3), { verifier });
    expect(logEntryOf(opened)).toEqual({ origin: hub.nodeId, seq: 3, id: opened.id, envelope: opened.envelope });
  });

  it('refuse agents\' messages, an assignment without seq, and an announcement of another hub\'s task', () => {
    expectError(() => logEntryOf(open(heartbeat(), { verifier })), NotLoggableError, 'FEDERATION_NOT_LOGGABLE');
    const body = {
      assignmentId: 'ab'.repeat(32),
      taskId: 'cd'.repeat(32),
      agent: agent.nodeId,
      spec: { image: 'busybox', command: ['true'], cpu: 1, ramGb: 1, timeoutS: 5 },
      issuedAt: NOW,
      deadline: NOW + 10_000,
    };
    expectError(() => logEntryOf(open(seal('assignment', body, hub), { verifier })), NotLoggableError, 'FEDERATION_NOT_LOGGABLE');
    expect(logEntryOf(open(seal('assignment', { ...body, seq: 9 }, hub), { verifier })).seq).toBe(9);
    expectError(() => logEntryOf(open(announce(1, agent.nodeId), { verifier })), NotLoggableError, 'FEDERATION_NOT_LOGGABLE');
  });
});

describe('a hub\'s libp2p identity', () => {
  it('is its hub key: same public key in the peer id, node id derivable from the peer id', async () => {
    const key = await libp2pKeyOf(hubPair);
    const peerId = peerIdFromPrivateKey(key);
    expect(publicKeyHexOfPeer(peerId)).toBe(hub.publicKeyHex);
    expect(peerIdOfPublicKey(hubPair.publicKey).toString()).toBe(peerId.toString());
    expect(nodeIdOfPeer(peerId)).toBe(nodeIdOf(hubPair.publicKey));
    // The same seed gives the same peer id: it survives restarts because hub.key does.
    expect(peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', hubPair.secretKey)).toString()).toBe(peerId.toString());
  });

  it('refuses a key pair whose seed and public key disagree', async () => {
    let thrown: unknown;
    try {
      await libp2pKeyOf({ secretKey: hubPair.secretKey, publicKey: agent.publicKey });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(FederationOptionsError);
  });
});
