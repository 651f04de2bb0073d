// The executor's dealings with registries, its sandbox settings as the engine sees them, aborts,
// and bad arguments, against the real Docker engine and the loopback registries of
// scripts/bootstrap.sh.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { createExecutor, type ExecutionOutcome, ExecutorError } from '../../agent/executor.ts';
import { DCLOUD_LABEL } from '../../agent/container-config.ts';
import { digestOf } from '../../protocol/digest.ts';
import type { ExecutionSpec } from '../../protocol/messages.ts';
import { AUTH_REGISTRY, docker, OPEN_REGISTRY, privateRegistryAuth, TEST_IMAGE } from '../support/env.ts';
import { removeImageIfPresent } from '../support/images.ts';

const engine = docker();
const RUN_LABEL = 'dcloud.test-run';
const run = `executor-control-${process.pid}-${Date.now()}`;
const labels = { [RUN_LABEL]: run };
const executor = createExecutor({ docker: engine });

/** This file's own copy in the private registry, so no other test file's pulls or removals race with it. */
const PRIVATE_COPY = `${AUTH_REGISTRY}/executor-test/busybox:1`;
/** TEST_IMAGE with a root-owned 0755 /tmp and a declared VOLUME, as some real images have. */
const ODD_IMAGE = 'dcloud-test/executor-odd:1';

function spec(image: string, command: string[], overrides: Partial<ExecutionSpec> = {}): ExecutionSpec {
  return { image, command, cpu: 1, ramGb: 0.25, timeoutS: 10, ...overrides };
}

async function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  const events = await new Promise<Array<{ error?: string }>>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => (err ? reject(err) : resolve(output)));
  });
  const failed = events.find((e) => e.error !== undefined);
  if (failed !== undefined) throw new Error(failed.error);
}

async function leftovers(): Promise<string[]> {
  const found = await engine.listContainers({ all: true, filters: { label: [DCLOUD_LABEL, `${RUN_LABEL}=${run}`] } });
  return found.map((c) => c.Id);
}

async function waitUntilRunning(name: string): Promise<Docker.ContainerInspectInfo> {
  for (;;) {
    try {
      const info = await engine.getContainer(name).inspect();
      if (info.State.Running) return info;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  const [repo, tag] = PRIVATE_COPY.split(/:(?=[^:/]+$)/) as [string, string];
  await engine.getImage(TEST_IMAGE).tag({ repo, tag });
  await follow(engine, await engine.getImage(PRIVATE_COPY).push({ authconfig: privateRegistryAuth }));
  await removeImageIfPresent(engine, PRIVATE_COPY);

  // Made as root here, where tasks never run as root.
  const maker = await engine.createContainer({ Image: TEST_IMAGE, Cmd: ['busybox', 'chmod', '0755', '/tmp'], User: '0:0' });
  try {
    await maker.start();
    await maker.wait();
    const [oddRepo, oddTag] = ODD_IMAGE.split(':') as [string, string];
    await maker.commit({ repo: oddRepo, tag: oddTag, changes: 'VOLUME /data' });
  } finally {
    await maker.remove({ force: true });
  }
});

afterEach(async () => {
  expect(await leftovers()).toEqual([]);
});

afterAll(async () => {
  await removeImageIfPresent(engine, PRIVATE_COPY);
  await removeImageIfPresent(engine, ODD_IMAGE);
});

describe('executor: images and registries', () => {
  it('reports a missing image as IMAGE_NOT_FOUND with the registry\'s reason', async () => {
    const outcome = await executor.run(spec(`${OPEN_REGISTRY}/nope:1`, ['true']), { labels });
    expect(outcome).toMatchObject({ outcome: 'error', reason: 'IMAGE_NOT_FOUND' });
    expect((outcome as { message: string }).message).toMatch(/nope:1.*manifest unknown/);
  });

  it('reports a private image pulled without credentials as AUTH_FAILED', async () => {
    const outcome = await executor.run(spec(PRIVATE_COPY, ['true']), { labels });
    expect(outcome).toMatchObject({ outcome: 'error', reason: 'AUTH_FAILED' });
    expect((outcome as { message: string }).message).toMatch(/requires credentials.*none were given/);
  });

  it('reports wrong credentials as AUTH_FAILED without repeating the password', async () => {
    const password = 'not-the-secret-4711';
    const outcome = await executor.run(spec(PRIVATE_COPY, ['true']), {
      labels,
      registryAuth: { username: privateRegistryAuth.username, password },
    });
    expect(outcome).toMatchObject({ outcome: 'error', reason: 'AUTH_FAILED' });
    expect((outcome as { message: string }).message).toMatch(/refused the credentials.*unauthorized/);
    expect(JSON.stringify(outcome)).not.toContain(password);
  });

  it('pulls a private image with the right credentials and runs it', async () => {
    const outcome = await executor.run(spec(PRIVATE_COPY, ['echo', '42']), {
      labels,
      registryAuth: { username: privateRegistryAuth.username, password: privateRegistryAuth.password },
    });
    expect(outcome).toMatchObject({ outcome: 'ok', exitCode: 0, digest: digestOf(0, '42\n') });
    await expect(engine.getImage(PRIVATE_COPY).inspect()).resolves.toBeDefined();
  });

  it("backs the image's declared volumes with tmpfs and lets the task write /tmp even when the image's /tmp is root's", async () => {
    const outcome = await executor.run(
      spec(ODD_IMAGE, ['sh', '-c', 'ls -ld /tmp | grep -c root; echo a > /tmp/a && echo b > /data/b && cat /tmp/a /data/b; grep " /data " /proc/mounts']),
      { labels },
    );
    expect(outcome).toMatchObject({ outcome: 'ok', exitCode: 0 });
    // /tmp is the task's own although the image's is root's; /data is a tmpfs, not a volume on the host's disk.
    expect((outcome as { stdout: Buffer }).stdout.toString()).toMatch(/^0\na\nb\ntmpfs \/data tmpfs rw,nosuid,nodev,noexec/);
  });
});

describe('executor: the sandbox as the engine sees it, and aborts', () => {
  it('creates the container with every hardening setting, and an abort kills it', async () => {
    const controller = new AbortController();
    const name = `${run}-abort`;
    const running = executor.run(spec(TEST_IMAGE, ['sh', '-c', 'echo started; sleep 30'], { cpu: 0.5, ramGb: 0.125, timeoutS: 20 }), {
      labels,
      name,
      signal: controller.signal,
    });
    const info = await waitUntilRunning(name);
    controller.abort();
    const outcome: ExecutionOutcome = await running;

    const host = info.HostConfig;
    expect(host).toMatchObject({
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      Init: true,
      Memory: 128 * 1024 * 1024,
      MemorySwap: 128 * 1024 * 1024,
      NanoCpus: 500_000_000,
      PidsLimit: 128,
      ReadonlyRootfs: true,
      AutoRemove: false,
    });
    expect(host.Binds ?? []).toEqual([]);
    expect(info.Mounts).toEqual([]);
    expect(Object.keys(host.Tmpfs ?? {})).toEqual(['/tmp']);
    expect(host.Tmpfs?.['/tmp']).toMatch(/noexec.*nosuid.*size=67108864/);
    expect(info.Config).toMatchObject({ User: '65534:65534', Tty: false, AttachStdin: false, OpenStdin: false });
    expect(info.Config.Env ?? []).toEqual([]);
    expect(info.Config.Labels).toMatchObject({ [DCLOUD_LABEL]: 'true', [RUN_LABEL]: run });

    expect(outcome).toMatchObject({ outcome: 'error', reason: 'ABORTED' });
    expect(outcome.stdout?.toString()).toBe('started\n');
  });

  it('does not create a container for an already aborted signal', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const marked = { ...labels, 'dcloud.test-case': `${run}-pre-aborted` };
    const outcome = await executor.run(spec(TEST_IMAGE, ['echo', '42']), { labels: marked, signal: AbortSignal.abort() });
    expect(outcome).toMatchObject({ outcome: 'error', reason: 'ABORTED' });
    // The engine's own record: no container with these labels was ever created.
    const events = await engine.getEvents({
      since,
      until: Math.ceil(Date.now() / 1000),
      filters: { type: ['container'], event: ['create'], label: [`dcloud.test-case=${run}-pre-aborted`] },
    });
    const chunks: Buffer[] = [];
    for await (const chunk of events) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('');
  });

  it("reports the engine's refusal to create the container as START_FAILED", async () => {
    // Docker accepts no less than 0.01 CPU.
    const outcome = await executor.run(spec(TEST_IMAGE, ['true'], { cpu: 0.001 }), { labels });
    expect(outcome).toMatchObject({ outcome: 'error', reason: 'START_FAILED' });
    expect((outcome as { message: string }).message).toMatch(/CPU/i);
  });
});

describe('executor: no engine', () => {
  it('reports an engine it cannot reach as DOCKER_ERROR', async () => {
    const unreachable = createExecutor({ docker: new Docker({ socketPath: `/tmp/${run}-no-such-docker.sock` }) });
    const outcome = await unreachable.run(spec(TEST_IMAGE, ['true']), { labels });
    expect(outcome).toMatchObject({ outcome: 'error', reason: 'DOCKER_ERROR' });
    expect((outcome as { message: string }).message).toMatch(/ENOENT/);
  });
});

describe('executor: bad arguments', () => {
  it('refuses a spec that does not match the protocol schema', async () => {
    const bad = { ...spec(TEST_IMAGE, ['true']), timeoutS: 0 };
    await expect(executor.run(bad, { labels })).rejects.toMatchObject({ name: 'ExecutorError', code: 'EXECUTOR_INVALID_SPEC' });
  });

  it('refuses to run tasks as root or with nonsensical limits', () => {
    expect(() => createExecutor({ docker: engine }, { user: '0:0' })).toThrow(ExecutorError);
    expect(() => createExecutor({ docker: engine }, { user: 'nobody' })).toThrow(/numeric non-root/);
    expect(() => createExecutor({ docker: engine }, { pidsLimit: 0 })).toThrow(/pidsLimit/);
    expect(() => createExecutor({ docker: engine }, { stdoutCapBytes: 1.5 })).toThrow(/stdoutCapBytes/);
  });
});
