// How many assignments an agent takes at once: one by default, as many as its owner allows
// otherwise, and never more, whatever the hub offers. Real agent, executor and Docker; the hub
// is the scriptable one, which offers work on every request.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.ts';
import { createSigner, generateKeyPair } from '../../keys/index.ts';
import { assignmentFor, type FakeHub, recordingLogger, saneHub, startFakeHub, startInProcessAgent, until } from '../support/fake-hub.ts';

let dataDir: string;
let hub: FakeHub;
let agent: Agent | undefined;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'dcloud-agent-slots-'));
  hub = await startFakeHub();
});

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  await hub.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Offers `count` one-second assignments, one per work request; returns the most that ran at once. */
async function peakConcurrency(maxConcurrent: number | undefined, count: number): Promise<number> {
  const signer = createSigner(generateKeyPair());
  let offered = 0;
  hub.handler = saneHub(hub, () => (offered < count ? { assignment: assignmentFor(hub.key, signer.nodeId, ++offered, ['sh', '-c', 'sleep 1; echo done']) } : null));
  agent = await startInProcessAgent({ hubUrl: hub.url, dataDir, signer, logger: recordingLogger(), ...(maxConcurrent === undefined ? {} : { maxConcurrent }) });
  let peak = 0;
  await until('every result', () => {
    peak = Math.max(peak, agent!.status().running.length);
    return hub.results.length === count;
  }, 40_000);
  expect(hub.results.every((r) => r.outcome === 'ok')).toBe(true);
  return peak;
}

describe('an agent\'s concurrent assignments', () => {
  it('runs one at a time by default', async () => {
    expect(await peakConcurrency(undefined, 3)).toBe(1);
  });

  it('runs as many as its owner allows, and no more', async () => {
    expect(await peakConcurrency(2, 4)).toBe(2);
  });
});
