// The agent-side commands' refusals, as a user meets them: real processes, exit codes, messages.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDcloud } from '../support/agent-process.ts';
import { json, type FakeHub, startFakeHub } from '../support/fake-hub.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-agent-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dcloud agent', () => {
  it('refuses a control API address other machines could reach', async () => {
    const run = await runDcloud(['agent', '--hub', 'http://127.0.0.1:9', '--data', join(dir, 'a'), '--ui', '0.0.0.0:7070']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('loopback only');
  });

  it('refuses a hub that is not an http(s) URL, and a cap that is not a positive number', async () => {
    const badHub = await runDcloud(['agent', '--hub', 'ftp://hub', '--data', join(dir, 'b')]);
    expect(badHub.code).toBe(2);
    expect(badHub.stderr).toContain('is not an http(s) URL');
    const badCap = await runDcloud(['agent', '--hub', 'http://127.0.0.1:9', '--max-cpus', '-1']);
    const noHub = await runDcloud(['agent', '--data', join(dir, 'c')]);
    expect(noHub.code).toBe(2);
    expect(noHub.stderr).toContain("required option '--hub <url>' not specified");
    expect(badCap.code).toBe(2);
    expect(badCap.stderr).toContain('greater than 0');
  });
});

describe('dcloud submit and status', () => {
  let hub: FakeHub;
  beforeAll(async () => {
    hub = await startFakeHub();
    hub.handler = (_req, _body, res) => json(res, 404, { error: { code: 'TASK_NOT_FOUND', message: 'no task 00 on this hub' } });
  });
  afterAll(async () => {
    await hub.close();
  });

  it('wants --registry-user and --registry-password-stdin together', async () => {
    const run = await runDcloud(['submit', '--hub', hub.url, '--image', 'i:1', '--registry-user', 'u', '--key', join(dir, 'k'), '--', 'true']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--registry-user and --registry-password-stdin go together');
    expect(hub.requests).toEqual([]);
  });

  it('refuses a bad overlap before anything is signed', async () => {
    const run = await runDcloud(['submit', '--hub', hub.url, '--image', 'i:1', '--overlap', '1.5', '--key', join(dir, 'k'), '--', 'true']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('whole number');
  });

  it('says what the hub said about an unknown task', async () => {
    const run = await runDcloud(['status', '--hub', hub.url, '00']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no task 00 on this hub');
  });
});
