/**
 * Writes protocol/test-vectors.json: one signed envelope (at least) for every message type, from
 * fixed seeds, timestamps and nonces, so that the file is the same on every run and any change to
 * the signed bytes shows up as a diff. docs/PROTOCOL.md walks through one of them.
 *
 *   node scripts/make-test-vectors.ts            # rewrite the file
 *   node scripts/make-test-vectors.ts --check    # exit 1 if the file is not what the code makes
 *
 * test/unit/protocol-vectors.test.ts checks the file with plain node:crypto, and that the project
 * still produces exactly these vectors.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createSigner, keyPairFromSeed, type Signer } from '../keys/keypair.ts';
import {
  digestOf,
  domainPrefix,
  type Envelope,
  EnvelopeErrorCodes,
  type EnvelopeErrorCode,
  MESSAGE_TYPES,
  type MessageBody,
  type MessageType,
  PROTOCOL_VERSION,
  seal,
  signedBytes,
} from '../protocol/index.ts';

export const VECTORS_PATH = new URL('../protocol/test-vectors.json', import.meta.url);

/** Seeds: the agent's is RFC 8032's TEST 1 key, so its public key can be checked against the RFC. */
const SEEDS = {
  agent: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  agent2: sha256Hex('dcloud test vector seed: agent2'),
  hub: sha256Hex('dcloud test vector seed: hub'),
  hub2: sha256Hex('dcloud test vector seed: hub2'),
  submitter: sha256Hex('dcloud test vector seed: submitter'),
} as const;
type KeyName = keyof typeof SEEDS;

/** 2026-01-01T00:00:00Z: every vector is dated from here, one second apart. */
export const VECTOR_EPOCH_MS = 1_767_225_600_000;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface KeyVector {
  seed: string;
  publicKey: string;
  nodeId: string;
}

export interface EnvelopeVector {
  name: string;
  type: MessageType;
  signer: KeyName;
  seed: string;
  publicKey: string;
  nodeId: string;
  ts: number;
  nonce: string;
  body: unknown;
  envelope: Envelope;
  /** `dcloud/v1/<type>\n`, the domain-separation prefix. */
  prefix: string;
  /** prefix || payload, UTF-8, hex: exactly what the signature covers. */
  signedBytes: string;
  /** = envelope.sig */
  signature: string;
  /** sha256(signedBytes), hex: the envelope's content id (a task's id, for a task.spec). */
  id: string;
  /** For results: what the digest was computed from. */
  resultDigest?: DigestVector;
}

export interface DigestVector {
  exitCode: number;
  /** The complete stdout, UTF-8 text, and the same bytes in base64. */
  stdout: string;
  stdoutBase64: string;
  stdoutSha256: string;
  /** The string hashed before the stdout hash: "dcloud-result-v1\n" + exitCode + "\n". */
  label: string;
  digest: string;
}

export interface InvalidVector {
  name: string;
  why: string;
  envelope: Envelope;
  /** The receiver's clock for the freshness check, ms. */
  now: number;
  error: EnvelopeErrorCode;
}

export interface TestVectors {
  description: string;
  protocolVersion: number;
  keys: Record<KeyName, KeyVector>;
  vectors: EnvelopeVector[];
  invalid: InvalidVector[];
}

function digestVector(exitCode: number, stdout: string): DigestVector {
  const bytes = Buffer.from(stdout, 'utf8');
  return {
    exitCode,
    stdout,
    stdoutBase64: bytes.toString('base64'),
    stdoutSha256: createHash('sha256').update(bytes).digest('hex'),
    label: `dcloud-result-v1\n${exitCode}\n`,
    digest: digestOf(exitCode, bytes),
  };
}

/** Builds every vector from scratch. Pure: the same output on every call. */
export function makeTestVectors(): TestVectors {
  const signers = Object.fromEntries(
    Object.entries(SEEDS).map(([name, seed]) => [name, createSigner(keyPairFromSeed(Buffer.from(seed, 'hex')))]),
  ) as Record<KeyName, Signer>;
  const keys = Object.fromEntries(
    Object.entries(signers).map(([name, s]) => [name, { seed: SEEDS[name as KeyName], publicKey: s.publicKeyHex, nodeId: s.nodeId }]),
  ) as Record<KeyName, KeyVector>;

  const vectors: EnvelopeVector[] = [];
  const make = <T extends MessageType>(name: string, type: T, by: KeyName, body: MessageBody<T>, extra: Partial<EnvelopeVector> = {}): Envelope => {
    const n = vectors.length + 1;
    const ts = VECTOR_EPOCH_MS + n * 1000;
    // Recognisable, distinct nonces (real ones are 16 random bytes).
    const nonce = `dc${n.toString(16).padStart(30, '0')}`;
    const envelope = seal(type, body, signers[by], { now: ts, nonce });
    const bytes = signedBytes(type, envelope.payload);
    vectors.push({
      name,
      type,
      signer: by,
      ...keys[by],
      ts,
      nonce,
      body,
      envelope,
      prefix: domainPrefix(type),
      signedBytes: Buffer.from(bytes).toString('hex'),
      signature: envelope.sig,
      id: createHash('sha256').update(bytes).digest('hex'),
      ...extra,
    });
    return envelope;
  };
  const idOf = (envelope: Envelope): string => vectors.find((v) => v.envelope === envelope)!.id;

  const resources = { cpu: 4, ramGb: 7.5 };
  make('agent.register', 'agent.register', 'agent', { name: 'vector-agent', resources, software: 'dcloud-agent/0.1.0' });

  const task = make('task.spec with non-ASCII text and escapes', 'task.spec', 'submitter', {
    image: 'dcloud-test/busybox:1',
    command: ['sh', '-c', 'echo 42'],
    cpu: 0.5,
    ramGb: 0.25,
    minTrust: 5,
    overlap: 2,
    timeoutS: 60,
    // JCS writes non-ASCII as UTF-8, escapes only ", \ and control characters (\n, \u001f), not U+2028.
    description: 'Grüße "42"\n\u001f\u2028 😀',
  });
  const taskId = idOf(task);
  const assignmentId = (agent: KeyName): string => sha256Hex(`${taskId}:1:${keys[agent].nodeId}`);

  make('agent.heartbeat', 'agent.heartbeat', 'agent', { total: resources, free: { cpu: 3.5, ramGb: 7.25 }, running: [assignmentId('agent')] });
  make('work.request', 'work.request', 'agent', { free: { cpu: 3.5, ramGb: 7.25 } });
  make('assignment', 'assignment', 'hub', {
    assignmentId: assignmentId('agent'),
    taskId,
    agent: keys.agent.nodeId,
    spec: { image: 'dcloud-test/busybox:1', command: ['sh', '-c', 'echo 42'], cpu: 0.5, ramGb: 0.25, timeoutS: 60 },
    issuedAt: VECTOR_EPOCH_MS + 4000,
    deadline: VECTOR_EPOCH_MS + 4000 + 60_000 + 30_000,
  });

  const announce = make('task.announce', 'task.announce', 'hub', { task, home: keys.hub.nodeId, seq: 1 });
  // A hub numbers what it signs about its own work (announcements, assignments it federates, decisions).
  const federated = make('assignment numbered in the hub\'s federation log', 'assignment', 'hub', {
    assignmentId: assignmentId('agent2'),
    taskId,
    agent: keys.agent2.nodeId,
    spec: { image: 'dcloud-test/busybox:1', command: ['sh', '-c', 'echo 42'], cpu: 0.5, ramGb: 0.25, timeoutS: 60 },
    issuedAt: VECTOR_EPOCH_MS + 7000,
    deadline: VECTOR_EPOCH_MS + 7000 + 60_000 + 30_000,
    seq: 2,
  });

  // A home hub tells the federation where its waiting tasks stand (the others show the same status).
  make('task.status', 'task.status', 'hub', { tasks: [{ taskId, status: 'in_queue', round: 0 }], seq: 3 });

  const ok = digestVector(0, '42\n');
  const result = (agent: KeyName, name: string): Envelope =>
    make(
      name,
      'result',
      agent,
      {
        assignmentId: assignmentId(agent),
        taskId,
        outcome: 'ok',
        exitCode: ok.exitCode,
        digest: ok.digest,
        stdout: ok.stdoutBase64,
        stderr: '',
        truncated: false,
        durationMs: 712,
      },
      { resultDigest: ok },
    );
  const results = [result('agent', 'result'), result('agent2', 'result from a second agent')];
  make('result reporting a failure', 'result', 'agent2', {
    assignmentId: sha256Hex(`${taskId}:2:${keys.agent2.nodeId}`),
    taskId,
    outcome: 'error',
    exitCode: null,
    digest: null,
    stdout: '',
    stderr: '',
    truncated: false,
    durationMs: 60_000,
    error: 'TIMEOUT: the container ran longer than 60 s and was killed',
  });

  const decision = make('decision', 'decision', 'hub', {
    taskId,
    seq: 3,
    outcome: 'validated',
    policy: 'thesis',
    digest: ok.digest,
    score: 1,
    results,
    trust: [
      { agent: keys.agent.nodeId, before: 5, after: 5.1 },
      { agent: keys.agent2.nodeId, before: 7, after: 7.1 },
    ],
  });
  make('sync.request', 'sync.request', 'hub2', { origin: keys.hub.nodeId, after: 0, limit: 100 });
  make('sync.response', 'sync.response', 'hub', { origin: keys.hub.nodeId, entries: [announce, federated, decision], more: false });
  // Last, so that the vectors before it keep their nonces: a registration carrying a proof of work.
  make('agent.register with a proof of work', 'agent.register', 'agent2', {
    name: 'vector-agent-2',
    resources,
    software: 'dcloud-agent/0.1.0',
    pow: { challenge: 'lx8k2a9c.000102030405060708090a0b.00112233445566778899aabbccddeeff', nonce: '2f', bits: 8 },
  });

  return {
    description:
      'dcloud protocol test vectors, made by scripts/make-test-vectors.ts; see docs/PROTOCOL.md. Ed25519 (RFC 8032) over prefix || RFC 8785 payload.',
    protocolVersion: PROTOCOL_VERSION,
    keys,
    vectors,
    invalid: invalidVectors(vectors, signers.agent),
  };
}

/** Envelopes a receiver must refuse, each for one reason, built from the valid ones above. */
function invalidVectors(vectors: readonly EnvelopeVector[], agent: Signer): InvalidVector[] {
  const heartbeat = vectors.find((v) => v.type === 'agent.heartbeat')!;
  const now = heartbeat.ts;
  const spaced = JSON.stringify(JSON.parse(heartbeat.envelope.payload), null, 1);
  // Signed honestly, but over another type's prefix: the payload says agent.heartbeat.
  const crossSig = Buffer.from(agent.sign(Buffer.from(domainPrefix('work.request') + heartbeat.envelope.payload))).toString('hex');
  const tampered = heartbeat.envelope.payload.replace('"cpu":3.5', '"cpu":4');
  const unsorted = `{"v":1,${heartbeat.envelope.payload.slice(1).replace(',"v":1}', '}')}`;
  const duplicated = heartbeat.envelope.payload.replace(',"v":1}', ',"v":1,"v":1}');
  const escaped = heartbeat.envelope.payload.replace('"agent.heartbeat"', '"agent.\\u0068eartbeat"');
  return [
    {
      name: 'payload with white space',
      why: 'the payload is not in RFC 8785 form (it was pretty-printed); the signature is over the canonical text',
      envelope: { payload: spaced, sig: heartbeat.signature },
      now,
      error: EnvelopeErrorCodes.NON_CANONICAL,
    },
    {
      name: 'payload with keys out of order',
      why: 'RFC 8785 sorts keys; "v" moved first',
      envelope: { payload: unsorted, sig: heartbeat.signature },
      now,
      error: EnvelopeErrorCodes.NON_CANONICAL,
    },
    {
      name: 'payload with a duplicate key',
      why: 'JSON.parse would keep the last "v"; RFC 8785 output never repeats a key',
      envelope: { payload: duplicated, sig: heartbeat.signature },
      now,
      error: EnvelopeErrorCodes.NON_CANONICAL,
    },
    {
      name: 'payload with an unnecessary escape',
      why: '"\\u0068" is "h", which RFC 8785 writes as itself',
      envelope: { payload: escaped, sig: heartbeat.signature },
      now,
      error: EnvelopeErrorCodes.NON_CANONICAL,
    },
    {
      name: 'tampered body',
      why: 'one number changed after signing: canonical, but the signature no longer matches',
      envelope: { payload: tampered, sig: heartbeat.signature },
      now,
      error: EnvelopeErrorCodes.BAD_SIGNATURE,
    },
    {
      name: 'signature over another type\'s prefix',
      why: 'signed as dcloud/v1/work.request, presented as agent.heartbeat: domain separation refuses it',
      envelope: { payload: heartbeat.envelope.payload, sig: crossSig },
      now,
      error: EnvelopeErrorCodes.BAD_SIGNATURE,
    },
    {
      name: 'stale heartbeat',
      why: 'dated more than 120 s before the receiver\'s clock',
      envelope: heartbeat.envelope,
      now: heartbeat.ts + 120_001,
      error: EnvelopeErrorCodes.STALE,
    },
    {
      name: 'heartbeat from the future',
      why: 'dated more than 30 s after the receiver\'s clock',
      envelope: heartbeat.envelope,
      now: heartbeat.ts - 30_001,
      error: EnvelopeErrorCodes.FUTURE,
    },
  ];
}

/** The file's text: 2-space JSON, as committed. */
export function renderTestVectors(vectors: TestVectors = makeTestVectors()): string {
  return `${JSON.stringify(vectors, null, 2)}\n`;
}

if (import.meta.main) {
  const text = renderTestVectors();
  if (process.argv.includes('--check')) {
    const current = await readFile(VECTORS_PATH, 'utf8').catch(() => '');
    if (current !== text) {
      process.stderr.write('protocol/test-vectors.json is out of date: run node scripts/make-test-vectors.ts\n');
      process.exit(1);
    }
    process.stdout.write(`protocol/test-vectors.json is up to date (${MESSAGE_TYPES.length} message types)\n`);
  } else {
    await writeFile(VECTORS_PATH, text);
    process.stdout.write(`wrote protocol/test-vectors.json (${makeTestVectors().vectors.length} vectors)\n`);
  }
}
