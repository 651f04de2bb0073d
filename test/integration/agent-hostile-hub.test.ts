// The agent against a hub that misbehaves on purpose. This is the one place a fake hub is the
// point: a real hub never answers HTML or forges assignments. Everything else is real: the agent,
// its journal on disk, the executor and Docker.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Agent, createAgent, type Logger } from '../../agent/agent.ts';
import { cleanupOrphans, createExecutor } from '../../agent/executor.ts';
import { openJournal } from '../../agent/journal.ts';
import { createSigner, generateKeyPair, type Signer } from '../../keys/index.ts';
import { type Envelope, type MessageBody, open, seal } from '../../protocol/index.ts';
import { Verifier } from '../../keys/verifier.ts';
import { docker, TEST_IMAGE } from '../support/env.ts';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

interface FakeHub {
  url: string;
  key: Signer;
  /** Every request, in order: method and path. */
  requests: string[];
  /** The result envelopes posted, opened. */
  results: MessageBody<'result'>[];
  handler: Handler;
  close(): Promise<void>;
}

async function startFakeHub(): Promise<FakeHub> {
  const key = createSigner(generateKeyPair());
  const hub: FakeHub = {
    url: '',
    key,
    requests: [],
    results: [],
    handler: (_req, _body, res) => json(res, 500, { error: { code: 'NOT_SET', message: 'no handler' } }),
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hub.requests.push(`${req.method} ${req.url}`);
      hub.handler(req, Buffer.concat(chunks).toString(), res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  hub.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return hub;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const verifier = new Verifier();

/** A well-behaved hub: what the agent needs to register and work, assignments from `work`. */
function saneHub(hub: FakeHub, work: () => Envelope | null): Handler {
  return (req, body, res) => {
    const path = req.url ?? '';
    if (path === '/v1/hub') return json(res, 200, { id: hub.key.nodeId, publicKey: hub.key.publicKeyHex, version: 'fake' });
    if (path === '/v1/agents/register' || path === '/v1/agents/heartbeat') {
      const opened = open(JSON.parse(body), { verifier });
      const r = { cpu: 2, ramGb: 4 };
      return json(res, 200, { agent: { id: opened.nodeId, name: 'x', trust: 5, active: true, total: r, free: r } });
    }
    if (path === '/v1/work') {
      const assignment = work();
      if (assignment === null) return res.writeHead(204).end();
      return json(res, 200, { assignment });
    }
    if (path === '/v1/results') {
      const opened = open(JSON.parse(body), { verifier, expect: ['result'] });
      hub.results.push(opened.body);
      return json(res, 200, {
        assignmentId: opened.body.assignmentId,
        duplicate: false,
        task: { id: opened.body.taskId, submitter: 'x', status: 'completed', spec: { image: TEST_IMAGE, command: ['echo'] }, submittedAt: 0, transitions: [], assignments: [] },
      });
    }
    return json(res, 404, { error: { code: 'NOT_FOUND', message: path } });
  };
}

function assignmentFor(signer: Signer, agentId: string, n: number, command = ['echo', '42']): Envelope {
  const hex = (c: string) => c.repeat(64).slice(0, 64);
  return seal(
    'assignment',
    {
      assignmentId: hex(`a${n}`),
      taskId: hex(`b${n}`),
      agent: agentId,
      spec: { image: TEST_IMAGE, command, cpu: 0.5, ramGb: 0.125, timeoutS: 30 },
      issuedAt: Date.now(),
      deadline: Date.now() + 60_000,
    },
    signer,
  );
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  };
  return { lines, info: log('info'), warn: log('warn'), error: log('error') };
}

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let dataDir: string;
let hub: FakeHub;
let agent: Agent | undefined;
let logger: ReturnType<typeof recordingLogger>;
const engine = docker();

async function startAgent(signer: Signer): Promise<Agent> {
  const started = createAgent(
    {
      signer,
      executor: createExecutor({ docker: engine }),
      resources: { read: () => ({ total: { cpu: 2, ramGb: 4 }, free: { cpu: 2, ramGb: 4 } }) },
      journal: await openJournal(dataDir),
      logger,
      cleanupOrphans: ({ signal }) => cleanupOrphans(engine, { labels: { 'dcloud.agent': signer.nodeId }, ...(signal ? { signal } : {}) }),
    },
    { hubs: [hub.url], name: 'hostile-test', heartbeatIntervalMs: 100, pollIntervalMs: 20, backoff: { baseMs: 5, maxMs: 40 }, requestTimeoutMs: 2_000 },
  );
  await started.start();
  agent = started;
  return started;
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
      return assignmentFor(hub.key, started.nodeId, 1);
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
    hub.handler = saneHub(hub, () => queue.shift() ?? null);
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
