// What the engine gets back from the federation when it asks for something wrong: typed errors
// with stable codes, checked on a real, started node.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFederation,
  FederationLogStore,
  FederationNotStartedError,
  FederationOptionsError,
  MessageTooLargeError,
  NotOriginError,
  UnroutableTypeError,
} from '../../hub/federation/index.ts';
import { createSigner, generateKeyPair, Verifier } from '../../keys/index.ts';
import { EnvelopeError, seal } from '../../protocol/index.ts';
import { expectError, expectRejection } from '../support/expect-error.ts';
import { startTestHub, type TestHub } from '../support/federation.ts';

const agent = createSigner(generateKeyPair());
const heartbeat = (now?: number) =>
  seal('agent.heartbeat', { total: { cpu: 1, ramGb: 1 }, free: { cpu: 1, ramGb: 1 }, running: [] }, agent, now === undefined ? {} : { now });

describe('the federation\'s answers to wrong requests', () => {
  let hub: TestHub;
  let dir: string;
  let store: FederationLogStore;

  beforeAll(async () => {
    hub = await startTestHub('api', { maxMessageBytes: 2048 });
    dir = await mkdtemp(join(tmpdir(), 'dcloud-fedapi-'));
    store = await FederationLogStore.open(dir);
  });

  afterAll(async () => {
    await hub?.destroy();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const make = (options: Partial<Parameters<typeof createFederation>[1]>) =>
    createFederation({ store, verifier: new Verifier(), identity: generateKeyPair(), onMessage: () => 'accept' }, { listen: [], bootstrap: [], ...options });

  it('refuses addresses and peer ids it cannot use, naming them', () => {
    expectError(() => make({ listen: ['not-an-address'] }), FederationOptionsError, 'FEDERATION_BAD_OPTIONS');
    const noPeer = expectError(() => make({ bootstrap: ['/ip4/127.0.0.1/tcp/4001'] }), FederationOptionsError, 'FEDERATION_BAD_OPTIONS');
    expect(noPeer.message).toContain('/p2p/');
    expectError(() => make({ peerAllow: ['someone'] }), FederationOptionsError, 'FEDERATION_BAD_OPTIONS');
    expectError(() => make({ maxMessageBytes: 0 }), FederationOptionsError, 'FEDERATION_BAD_OPTIONS');
    expectError(() => make({ protocolPrefix: 'dcloud' }), FederationOptionsError, 'FEDERATION_BAD_OPTIONS');
  });

  it('refuses to publish before it is started', async () => {
    await expectRejection(make({}).publish(heartbeat()), FederationNotStartedError, 'FEDERATION_NOT_STARTED');
  });

  it('refuses what it would not gossip: unroutable types, other hubs\' messages, stale and oversized envelopes', async () => {
    await expectRejection(hub.fed.publish(seal('work.request', { free: { cpu: 1, ramGb: 1 } }, agent)), UnroutableTypeError, 'FEDERATION_UNROUTABLE_TYPE');
    const otherHub = createSigner(generateKeyPair());
    const foreign = seal('decision', { taskId: 'cd'.repeat(32), seq: 1, outcome: 'failed', policy: 'thesis', digest: null, score: 0, results: [], trust: [] }, otherHub);
    await expectRejection(hub.fed.publish(foreign), NotOriginError, 'FEDERATION_NOT_ORIGIN');
    await expectRejection(hub.fed.publish(heartbeat(Date.now() - 3_600_000)), EnvelopeError, 'ENVELOPE_STALE');
    const bulky = seal('result', {
      assignmentId: 'ab'.repeat(32),
      taskId: 'cd'.repeat(32),
      outcome: 'ok',
      exitCode: 0,
      digest: 'ef'.repeat(32),
      stdout: 'A'.repeat(4096),
      stderr: '',
      truncated: false,
      durationMs: 1,
    }, agent);
    await expectRejection(hub.fed.publish(bulky), MessageTooLargeError, 'FEDERATION_MESSAGE_TOO_LARGE');
  });

  it('archives its own entry too large for gossip, for sync to carry', async () => {
    const big = seal('task.spec', { image: 'busybox', command: ['echo', 'x'.repeat(4000)], cpu: 1, ramGb: 1, minTrust: 0, overlap: 1, timeoutS: 5 }, agent);
    const out = await hub.fed.originate('task.announce', { task: big, home: hub.fed.nodeId });
    expect(out).toMatchObject({ gossiped: false, recipients: 0, seq: 1 });
    expect(hub.fed.info().heads).toEqual({ [hub.fed.nodeId]: 1 });
  });
});
