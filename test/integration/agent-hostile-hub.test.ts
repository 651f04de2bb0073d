// The agent against a hub that misbehaves on purpose. This is the one place a fake hub is the
// point: a real hub never answers HTML or forges assignments. Everything else is real: the agent,
// its journal on disk, the executor and Docker.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.ts';
import { createSigner, generateKeyPair, type Signer } from '../../keys/index.ts';
import { Verifier } from '../../keys/verifier.ts';
import { type Envelope, open } from '../../protocol/index.ts';
import { assignmentFor, type FakeHub, type Handler, json, recordingLogger, saneHub, startFakeHub, startInProcessAgent, until } from '../support/fake-hub.ts';

const verifier = new Verifier();
let dataDir: string;
let hub: FakeHub;
let agent: Agent | undefined;
let logger: ReturnType<typeof recordingLogger>;

async function startAgent(signer: Signer): Promise<Agent> {
  agent = await startInProcessAgent({ hubUrl: hub.url, dataDir, signer, logger });
  return agent;
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'dcloud-agent-hostile-'));
  hub = await startFakeHub();
  logger = recordingLogger();
});

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  await hub.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('an agent facing a hub that answers garbage', () => {
  it('keeps running through HTML, wrong JSON, endless bodies, 5xx and resets, then works once the hub is sane', async () => {
    const garbage: Handler[] = [
      (_q, _b, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Welcome to nginx!</body></html>'),
      (_q, _b, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>502 Bad Gateway</h1>'),
      (_q, _b, res) => json(res, 200, { agent: 'yes', assignment: [1, 2, 3], id: 42 }),
      (_q, _b, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id": "abc", "publicKey": '),
      (_q, _b, res) => json(res, 500, { error: { code: 'INTERNAL', message: 'boom' } }),
      (_q, _b, res) => json(res, 200, null),
      (_q, _b, res) => res.writeHead(200).end(),
      (req, _b, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        // 8 MiB of '[' : past the client's cap, never valid JSON.
        const chunk = Buffer.alloc(64 * 1024, '[');
        let sent = 0;
        const pump = () => {
          while (sent < 128 && res.write(chunk)) sent++;
          if (sent < 128 && !req.destroyed) res.once('drain', pump);
          else res.end();
        };
        pump();
      },
      (req) => req.socket.destroy(),
    ];
    let served = 0;
    hub.handler = (req, body, res) => garbage[served++ % garbage.length]!(req, body, res);
    const started = await startAgent(createSigner(generateKeyPair()));

    // Every kind of garbage, twice over.
    await until('the garbage to be served', () => served >= garbage.length * 2);
    const status = started.status();
    expect(status.hubs[0]!.registered).toBe(false);
    expect(['HUB_BAD_RESPONSE', 'HUB_UNREACHABLE', 'INTERNAL']).toContain(status.hubs[0]!.error?.code);
    const codes = new Set(logger.lines.map((l) => /"code":"([A-Z_]+)"/.exec(l)?.[1]).filter((c) => c !== undefined));
    expect(codes).toContain('HUB_BAD_RESPONSE');
    expect(codes).toContain('HUB_UNREACHABLE');

    // The same agent, still alive, registers and works once the hub behaves.
    let handed = false;
    hub.handler = saneHub(hub, () => {
      if (handed) return null;
      handed = true;
      return { assignment: assignmentFor(hub.key, started.nodeId, 1) };
    });
    await until('a result', () => hub.results.length === 1);
    expect(hub.results[0]).toMatchObject({ outcome: 'ok', exitCode: 0, stdout: Buffer.from('42\n').toString('base64') });
    expect(started.status().hubs[0]!.registered).toBe(true);
  });
});

describe('an agent handed assignments it must not run', () => {
  it('refuses one signed by another key, one for another agent and one with a bad signature; runs the genuine one', async () => {
    const signer = createSigner(generateKeyPair());
    const forger = createSigner(generateKeyPair());
    const genuine = assignmentFor(hub.key, signer.nodeId, 4, ['sh', '-c', 'echo genuine']);
    const tampered = assignmentFor(hub.key, signer.nodeId, 3);
    const queue: Envelope[] = [
      assignmentFor(forger, signer.nodeId, 1, ['sh', '-c', 'echo forged']),
      assignmentFor(hub.key, createSigner(generateKeyPair()).nodeId, 2, ['sh', '-c', 'echo not-mine']),
      { payload: tampered.payload.replace('"echo"', '"ls"'), sig: tampered.sig },
      genuine,
    ];
    hub.handler = saneHub(hub, () => {
      const assignment = queue.shift();
      return assignment === undefined ? null : { assignment };
    });
    await startAgent(signer);

    await until('the genuine result', () => hub.results.length === 1);
    expect(queue).toEqual([]);
    // Only the genuine assignment ran and was reported.
    expect(hub.results.map((r) => r.assignmentId)).toEqual([open(genuine, { verifier, expect: ['assignment'] }).body.assignmentId]);
    expect(Buffer.from(hub.results[0]!.stdout, 'base64').toString()).toBe('genuine\n');
    const refusals = logger.lines.filter((l) => l.startsWith('warn refused'));
    expect(refusals).toHaveLength(3);
    expect(refusals[0]).toContain('pinned key');
    expect(refusals[1]).toContain('another agent');
    expect(refusals[2]).toContain('ENVELOPE_BAD_SIGNATURE');
    await until('the journal to empty', () => agent!.status().hubs[0]!.pendingResults === 0);
    expect(await readdir(join(dataDir, 'journal'))).toEqual([]);
  });

  it('refuses a hub whose key changed since it was pinned', async () => {
    const signer = createSigner(generateKeyPair());
    hub.handler = saneHub(hub, () => null);
    const first = await startAgent(signer);
    await until('registration', () => first.status().hubs[0]!.registered);
    await first.stop();
    agent = undefined;

    // Same URL, another key: an impostor, or a hub that lost its identity.
    hub.key = createSigner(generateKeyPair());
    const second = await startAgent(signer);
    await until('the refusal', () => second.status().hubs[0]!.error?.code === 'HUB_KEY_CHANGED');
    expect(second.status().hubs[0]!.registered).toBe(false);
    const registrations = hub.requests.filter((r) => r === 'POST /v1/agents/register').length;
    await new Promise((r) => setTimeout(r, 300));
    // It does not keep knocking either.
    expect(hub.requests.filter((r) => r === 'POST /v1/agents/register').length).toBe(registrations);
  });
});
