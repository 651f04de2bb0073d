// Private images: the credentials a hub hands over with an assignment reach the executor's pull,
// and only that; they are never written to the agent's disk or log. Real registry (127.0.0.1:5001,
// basic auth), real Docker, a fake hub where the agent is tested alone, a real hub end to end.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.ts';
import { createSigner, generateKeyPair } from '../../keys/index.ts';
import { eventually, runDcloud, startAgentProcess } from '../support/agent-process.ts';
import { AUTH_REGISTRY, docker, privateRegistryAuth, REGISTRY_PASSWORD, REGISTRY_USER, TEST_IMAGE } from '../support/env.ts';
import { assignmentFor, type FakeGrant, type FakeHub, recordingLogger, saneHub, startFakeHub, startInProcessAgent, until } from '../support/fake-hub.ts';
import { removeImageIfPresent } from '../support/images.ts';
import { startHubProcess } from '../support/test-agent.ts';

const engine = docker();
/** A tag of our own on the private registry, so no other test's image is touched. */
const IMAGE = `${AUTH_REGISTRY}/private/agent-auth-test:${randomBytes(4).toString('hex')}`;

async function follow(stream: NodeJS.ReadableStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    engine.modem.followProgress(stream, (err: Error | null, events: Array<{ error?: string }>) => {
      const failure = events?.find((e) => e.error !== undefined);
      if (err !== null || failure !== undefined) reject(err ?? new Error(failure!.error));
      else resolve();
    });
  });
}

beforeAll(async () => {
  const [repo, tag] = [IMAGE.slice(0, IMAGE.lastIndexOf(':')), IMAGE.slice(IMAGE.lastIndexOf(':') + 1)];
  await engine.getImage(TEST_IMAGE).tag({ repo, tag });
  await follow(await engine.getImage(IMAGE).push({ authconfig: privateRegistryAuth }));
});

afterAll(async () => {
  await removeImageIfPresent(engine, IMAGE);
});

describe('an agent given registry credentials with an assignment', () => {
  let dataDir: string;
  let hub: FakeHub;
  let agent: Agent | undefined;
  const logger = recordingLogger();

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'dcloud-agent-auth-'));
    hub = await startFakeHub();
    // Not on this engine: the agent must pull it, and the private registry wants credentials.
    await removeImageIfPresent(engine, IMAGE);
  });

  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await hub.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function run(grant: (agentId: string) => FakeGrant): Promise<{ journalWhileRunning: string[] }> {
    const signer = createSigner(generateKeyPair());
    let handed = false;
    hub.handler = saneHub(hub, () => {
      if (handed) return null;
      handed = true;
      return grant(signer.nodeId);
    });
    agent = await startInProcessAgent({ hubUrl: hub.url, dataDir, signer, logger });
    const journalWhileRunning: string[] = [];
    await until('the assignment to start', () => agent!.status().running.length > 0 || hub.results.length > 0);
    for (const file of await readdir(join(dataDir, 'journal'))) journalWhileRunning.push(await readFile(join(dataDir, 'journal', file), 'utf8'));
    await until('a result', () => hub.results.length === 1);
    return { journalWhileRunning };
  }

  it('pulls the private image with them and runs it; they never reach the disk or the log', async () => {
    const { journalWhileRunning } = await run((agentId) => ({
      assignment: assignmentFor(hub.key, agentId, 1, ['sh', '-c', 'sleep 1; echo private'], IMAGE),
      registryAuth: { username: REGISTRY_USER, password: REGISTRY_PASSWORD },
    }));
    expect(hub.results[0]).toMatchObject({ outcome: 'ok', exitCode: 0, stdout: Buffer.from('private\n').toString('base64') });
    expect(journalWhileRunning).toHaveLength(1);
    expect(journalWhileRunning[0]).toContain('"state":"running"');
    expect(journalWhileRunning[0]).not.toContain(REGISTRY_PASSWORD);
    expect(await readFile(join(dataDir, 'state.json'), 'utf8')).not.toContain(REGISTRY_PASSWORD);
    expect(logger.lines.join('\n')).not.toContain(REGISTRY_PASSWORD);
  });

  it('reports the refused pull as a failure naming it when the hub gave none', async () => {
    await run((agentId) => ({ assignment: assignmentFor(hub.key, agentId, 2, ['echo', 'x'], IMAGE) }));
    expect(hub.results[0]).toMatchObject({ outcome: 'error', exitCode: null, digest: null });
    expect(hub.results[0]!.error).toMatch(/^AUTH_FAILED: /);
  });
});

describe('a private image end to end', () => {
  it('is submitted with --registry-user and --registry-password-stdin, run and validated', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dcloud-e2e-auth-'));
    const hub = await startHubProcess({ dataDir: join(dir, 'hub'), args: ['--tick-ms', '50', '--validation-policy', 'trust-sum'] });
    const agent = await startAgentProcess({ hubs: [hub.url], dataDir: join(dir, 'agent') });
    try {
      await eventually('registration', async () => ((await agent.status()).hubs[0]?.registered ? true : undefined));
      const run = await runDcloud(
        ['submit', '--hub', hub.url, '--image', IMAGE, '--min-trust', '0', '--registry-user', REGISTRY_USER, '--registry-password-stdin', '--wait', '--key', join(dir, 'user.key'), '--', 'echo', 'secret image'],
        { input: `${REGISTRY_PASSWORD}\n` },
      );
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/secret image\nvalidated/);
      expect(agent.output()).not.toContain(REGISTRY_PASSWORD);
    } finally {
      await agent.stop();
      await hub.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
