// A hub that misbehaves on purpose, for the agent's tests: it answers whatever the test says,
// signs assignments with its own key (or lets a test forge them), and records what the agent sent.
// A real hub never answers HTML or forges assignments; this is the one place a fake is the point.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Agent, createAgent, type Logger } from '../../agent/agent.ts';
import { cleanupOrphans, createExecutor } from '../../agent/executor.ts';
import { openJournal } from '../../agent/journal.ts';
import type { RegistryAuth } from '../../hub/engine-types.ts';
import { createSigner, generateKeyPair, type Signer } from '../../keys/index.ts';
import { Verifier } from '../../keys/verifier.ts';
import { type Envelope, type MessageBody, open, seal } from '../../protocol/index.ts';
import { docker, TEST_IMAGE } from './env.ts';

export type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

export interface FakeHub {
  url: string;
  key: Signer;
  /** Every request, in order: method and path. */
  requests: string[];
  /** The result envelopes posted, opened. */
  results: MessageBody<'result'>[];
  handler: Handler;
  close(): Promise<void>;
}

export async function startFakeHub(): Promise<FakeHub> {
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

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const verifier = new Verifier();

/** What the fake hub's /v1/work hands out: an assignment envelope, with credentials or not. */
export interface FakeGrant {
  assignment: Envelope;
  registryAuth?: RegistryAuth;
}

/** A well-behaved hub: what the agent needs to register and work, grants from `work`. */
export function saneHub(hub: FakeHub, work: () => FakeGrant | null): Handler {
  return (req, body, res) => {
    const path = req.url ?? '';
    if (path === '/v1/hub') return json(res, 200, { id: hub.key.nodeId, publicKey: hub.key.publicKeyHex, version: 'fake' });
    if (path === '/v1/agents/register' || path === '/v1/agents/heartbeat') {
      const opened = open(JSON.parse(body), { verifier });
      const r = { cpu: 2, ramGb: 4 };
      return json(res, 200, { agent: { id: opened.nodeId, name: 'x', trust: 5, active: true, total: r, free: r } });
    }
    if (path === '/v1/work') {
      const grant = work();
      if (grant === null) return res.writeHead(204).end();
      return json(res, 200, grant);
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

/** An assignment numbered `n` (its ids are derived from it), signed by `signer`. */
export function assignmentFor(signer: Signer, agentId: string, n: number, command = ['echo', '42'], image = TEST_IMAGE): Envelope {
  const hex = (c: string) => c.repeat(64).slice(0, 64);
  return seal(
    'assignment',
    {
      assignmentId: hex(`a${n}`),
      taskId: hex(`b${n}`),
      agent: agentId,
      spec: { image, command, cpu: 0.5, ramGb: 0.125, timeoutS: 30 },
      issuedAt: Date.now(),
      deadline: Date.now() + 60_000,
    },
    signer,
  );
}

export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  };
  return { lines, info: log('info'), warn: log('warn'), error: log('error') };
}

export async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}


/**
 * A real agent (real executor and Docker, real journal in `dataDir`) in this process, working
 * for `hubUrl` with short intervals; only the resource reading is fixed, so tests do not depend
 * on the machine's load.
 */
export async function startInProcessAgent(options: { hubUrl: string; dataDir: string; signer: Signer; logger: Logger; maxConcurrent?: number }): Promise<Agent> {
  const engine = docker();
  const agent = createAgent(
    {
      signer: options.signer,
      executor: createExecutor({ docker: engine }),
      resources: { read: () => ({ total: { cpu: 2, ramGb: 4 }, free: { cpu: 2, ramGb: 4 } }) },
      journal: await openJournal(options.dataDir),
      logger: options.logger,
      cleanupOrphans: ({ signal }) => cleanupOrphans(engine, { labels: { 'dcloud.agent': options.signer.nodeId }, ...(signal ? { signal } : {}) }),
    },
    {
      hubs: [options.hubUrl],
      name: 'in-process',
      heartbeatIntervalMs: 100,
      pollIntervalMs: 20,
      backoff: { baseMs: 5, maxMs: 40 },
      requestTimeoutMs: 2_000,
      ...(options.maxConcurrent === undefined ? {} : { maxConcurrent: options.maxConcurrent }),
    },
  );
  await agent.start();
  return agent;
}
