// Hostile tasks against the real Docker engine: each tries to escape or exhaust the sandbox the
// executor builds (DESIGN.md section 7) and must be contained, reported, and cleaned up.
import { createServer, type Server } from 'node:http';
import { readdirSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanupOrphans, createExecutor, type ExecutionOutcome, type RunOptions } from '../../agent/executor.ts';
import { DCLOUD_LABEL } from '../../agent/container-config.ts';
import { digestOf, ResultDigest } from '../../protocol/digest.ts';
import type { ExecutionSpec } from '../../protocol/messages.ts';
import { docker, TEST_IMAGE } from '../support/env.ts';

const engine = docker();
/** Narrows "containers this file made" so files running in parallel never see each other's. */
const RUN_LABEL = 'dcloud.test-run';
const run = `executor-hostile-${process.pid}-${Date.now()}`;
const labels = { [RUN_LABEL]: run };
const PIDS_LIMIT = 128;
const STDOUT_CAP = 1024 * 1024;
const executor = createExecutor({ docker: engine }, { pidsLimit: PIDS_LIMIT, stdoutCapBytes: STDOUT_CAP });

function spec(command: string[], overrides: Partial<ExecutionSpec> = {}): ExecutionSpec {
  return { image: TEST_IMAGE, command, cpu: 1, ramGb: 0.25, timeoutS: 10, ...overrides };
}

function execute(command: string[], overrides: Partial<ExecutionSpec> = {}, options: RunOptions = {}): Promise<ExecutionOutcome> {
  return executor.run(spec(command, overrides), { labels, ...options });
}

function sh(script: string, overrides: Partial<ExecutionSpec> = {}): Promise<ExecutionOutcome> {
  return execute(['sh', '-c', script], overrides);
}

function expectOk(outcome: ExecutionOutcome): asserts outcome is Extract<ExecutionOutcome, { outcome: 'ok' }> {
  expect(outcome, outcome.outcome === 'error' ? `${outcome.reason}: ${outcome.message}` : '').toMatchObject({ outcome: 'ok' });
}

async function leftovers(): Promise<string[]> {
  const found = await engine.listContainers({ all: true, filters: { label: [`${DCLOUD_LABEL}`, `${RUN_LABEL}=${run}`] } });
  return found.map((c) => c.Id);
}

afterEach(async () => {
  // Every outcome, good or bad, must leave no container behind.
  expect(await leftovers()).toEqual([]);
});

afterAll(async () => {
  await cleanupOrphans(engine, { labels });
});

describe('executor: ordinary runs', () => {
  it('runs echo 42 and digests its exit code and stdout', async () => {
    const outcome = await execute(['echo', '42']);
    expectOk(outcome);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.stdout.toString()).toBe('42\n');
    expect(outcome.stderr.toString()).toBe('');
    expect(outcome.truncated).toBe(false);
    expect(outcome.digest).toBe(digestOf(0, '42\n'));
  });

  it('reports a non-zero exit code as an ok outcome with that code, and keeps stderr apart', async () => {
    const outcome = await sh('echo out; echo err >&2; exit 3');
    expectOk(outcome);
    expect(outcome.exitCode).toBe(3);
    expect(outcome.stdout.toString()).toBe('out\n');
    expect(outcome.stderr.toString()).toBe('err\n');
    expect(outcome.digest).toBe(digestOf(3, 'out\n'));
  });
});

describe('executor: hostile tasks', () => {
  it('kills a task that allocates past its memory limit and reports OOM_KILLED', async () => {
    // The shell keeps the whole 200 MB in a variable: far past 64 MiB.
    const outcome = await sh('x=$(yes | head -c 200000000); echo done', { ramGb: 0.0625 });
    expect(outcome).toMatchObject({ outcome: 'error', reason: 'OOM_KILLED' });
    expect(outcome.stdout?.toString()).toBe('');
  });

  it('gives the task no network: only a loopback interface, and the host cannot be reached', async () => {
    const server: Server = createServer((_req, res) => res.end('reached the host'));
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const hostAddress = Object.values(networkInterfaces())
        .flat()
        .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
      expect(hostAddress).toBeDefined();
      const outcome = await sh(`ls /sys/class/net; wget -T 2 -q -O - http://${hostAddress}:${port}/ || echo unreachable`);
      expectOk(outcome);
      expect(outcome.stdout.toString()).toBe('lo\nunreachable\n');
    } finally {
      server.close();
    }
  });

  it('kills a task that runs past its timeout and reports TIMEOUT with what it printed', async () => {
    const outcome = await sh('echo started; sleep 30; echo finished', { timeoutS: 1 });
    expect(outcome).toMatchObject({ outcome: 'error', reason: 'TIMEOUT' });
    expect(outcome.stdout?.toString()).toBe('started\n');
  });

  it('caps 100 MB of stdout at the cap with bounded memory, and digests all 100 MB', async () => {
    const total = 100_000_000;
    const rssBefore = process.memoryUsage().rss;
    const outcome = await sh(`yes | head -c ${total}`, { timeoutS: 60 });
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    expectOk(outcome);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.truncated).toBe(true);
    expect(outcome.stdout.length).toBe(STDOUT_CAP);
    expect(outcome.stdout.equals(Buffer.from('y\n'.repeat(STDOUT_CAP / 2)))).toBe(true);
    // The same 100 MB, streamed through the digest without ever being held whole.
    const megabyte = Buffer.from('y\n'.repeat(500_000));
    const expected = new ResultDigest();
    for (let sent = 0; sent < total; sent += megabyte.length) expected.update(megabyte);
    expect(outcome.digest).toBe(expected.finish(0));
    expect(rssGrowth).toBeLessThan(200 * 1024 * 1024);
  });

  it('stops a fork bomb at the pids limit', async () => {
    // The inner shell forks sleepers until fork fails; the outer one then reports, using only
    // builtins (it could not fork either), how many it managed.
    const outcome = await sh(
      `sh -c 'i=0; while [ $i -lt 1000 ]; do sleep 20 & i=$((i+1)); echo $i > /tmp/n; done' 2>/tmp/err; read n < /tmp/n; read e < /tmp/err; echo "$n"; echo "$e"`,
      { timeoutS: 10 },
    );
    expectOk(outcome);
    const [spawned, error] = outcome.stdout.toString().split('\n');
    expect(Number(spawned)).toBeGreaterThan(0);
    expect(Number(spawned)).toBeLessThan(PIDS_LIMIT);
    expect(error).toMatch(/can't fork/);
  });

  it("shows the task the image's root filesystem, not the host's", async () => {
    const outcome = await sh('ls /; echo --; cat /etc/hostname; ls /work 2>/dev/null || echo no-work');
    expectOk(outcome);
    const [listing = '', rest = ''] = outcome.stdout.toString().split('--\n');
    const inside = listing.trim().split('\n');
    // What any container has (the image's bin, etc, tmp; Docker's dev, proc, sys; sbin for the
    // init) is not evidence either way; every other top-level entry of the host is.
    const hostOnly = readdirSync('/').filter((e) => !['bin', 'dev', 'etc', 'proc', 'sbin', 'sys', 'tmp'].includes(e));
    expect(hostOnly).toContain('work');
    expect(inside).toContain('bin');
    expect(inside.filter((e) => hostOnly.includes(e))).toEqual([]);
    const [containerHostname, work] = rest.trim().split('\n');
    expect(containerHostname).toBe('dcloud');
    expect(containerHostname).not.toBe(hostname());
    expect(work).toBe('no-work');
  });

  it('runs the task as nobody, not root', async () => {
    const outcome = await sh('id -u; id -g');
    expectOk(outcome);
    expect(outcome.stdout.toString()).toBe('65534\n65534\n');
  });

  it('makes the root filesystem read-only and /tmp writable', async () => {
    const outcome = await sh('echo x > /x || echo root-readonly; echo data > /tmp/f && cat /tmp/f');
    expectOk(outcome);
    expect(outcome.stdout.toString()).toBe('root-readonly\ndata\n');
    expect(outcome.stderr.toString()).toMatch(/Read-only file system/);
  });

  it('refuses to execute files written to /tmp', async () => {
    // Named echo, busybox runs its echo applet: the copy would print "ran" if it could execute.
    const outcome = await sh('cat /bin/busybox > /tmp/echo && busybox chmod +x /tmp/echo && { /tmp/echo ran || echo refused; }');
    expectOk(outcome);
    expect(outcome.stdout.toString()).toBe('refused\n');
    expect(outcome.stderr.toString()).toMatch(/Permission denied/);
  });
});

describe('executor: cleanup', () => {
  let stray: string | undefined;

  beforeAll(async () => {
    // What a crashed agent leaves: a labelled container nobody will remove.
    const container = await engine.createContainer({ Image: TEST_IMAGE, Cmd: ['sleep', '60'], Labels: { [DCLOUD_LABEL]: 'true', ...labels } });
    await container.start();
    stray = container.id;
  });

  it('cleanupOrphans removes labelled containers, running or not', async () => {
    expect(await leftovers()).toEqual([stray]);
    expect(await cleanupOrphans(engine, { labels })).toBe(1);
    expect(await leftovers()).toEqual([]);
  });
});
