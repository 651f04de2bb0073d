import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';

/**
 * protocol/test-vectors.json is what a third-party implementation checks itself against.
 * This file verifies it WITHOUT the project's code (nothing here imports it), from the rules in
 * docs/PROTOCOL.md and node:crypto alone; protocol-vectors-project.test.ts checks the project
 * still produces exactly these bytes.
 */
const file = JSON.parse(readFileSync(new URL('../../protocol/test-vectors.json', import.meta.url), 'utf8')) as {
  protocolVersion: number;
  keys: Record<string, { seed: string; publicKey: string; nodeId: string }>;
  vectors: Array<{
    name: string;
    type: string;
    signer: string;
    seed: string;
    publicKey: string;
    nodeId: string;
    ts: number;
    nonce: string;
    body: unknown;
    envelope: { payload: string; sig: string };
    prefix: string;
    signedBytes: string;
    signature: string;
    id: string;
    resultDigest?: { exitCode: number; stdout: string; stdoutBase64: string; stdoutSha256: string; label: string; digest: string };
  }>;
  invalid: Array<{ name: string; envelope: { payload: string; sig: string }; now: number; error: string }>;
};

const ALL_TYPES = ['agent.register', 'agent.heartbeat', 'work.request', 'assignment', 'result', 'task.spec', 'task.announce', 'task.status', 'decision', 'sync.request', 'sync.response'];

// RFC 8410 DER wrappers, written out here on purpose rather than imported.
const spki = (publicKeyHex: string) =>
  createPublicKey({ key: Buffer.from(`302a300506032b6570032100${publicKeyHex}`, 'hex'), format: 'der', type: 'spki' });
const pkcs8 = (seedHex: string) =>
  createPrivateKey({ key: Buffer.from(`302e020100300506032b657004220420${seedHex}`, 'hex'), format: 'der', type: 'pkcs8' });
const sha256 = (...parts: Array<string | Buffer>) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

describe('test vectors, checked with node:crypto alone', () => {
  it('cover every message type', () => {
    expect(new Set(file.vectors.map((v) => v.type))).toEqual(new Set(ALL_TYPES));
  });

  it('derive each public key and node id from its seed', () => {
    for (const [name, key] of Object.entries(file.keys)) {
      const jwk = createPublicKey(pkcs8(key.seed)).export({ format: 'jwk' });
      expect(Buffer.from(jwk.x!, 'base64url').toString('hex'), name).toBe(key.publicKey);
      const nodeId = sha256('dcloud-node-id\n', Buffer.from(key.publicKey, 'hex')).subarray(0, 16).toString('hex');
      expect(nodeId, name).toBe(key.nodeId);
    }
    // The agent's seed is RFC 8032 section 7.1 TEST 1.
    expect(file.keys.agent!.publicKey).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  });

  for (const v of file.vectors) {
    it(`${v.name}: signed bytes are prefix || canonical payload, signature and id verify`, () => {
      expect(file.keys[v.signer]).toEqual({ seed: v.seed, publicKey: v.publicKey, nodeId: v.nodeId });
      const bytes = Buffer.from(v.signedBytes, 'hex');
      expect(v.prefix).toBe(`dcloud/v${file.protocolVersion}/${v.type}\n`);
      expect(bytes.toString('utf8')).toBe(v.prefix + v.envelope.payload);

      const payload = JSON.parse(v.envelope.payload) as Record<string, unknown>;
      expect(canonicalize(payload)).toBe(v.envelope.payload);
      expect(payload).toEqual({ v: file.protocolVersion, type: v.type, signer: v.publicKey, ts: v.ts, nonce: v.nonce, body: v.body });

      expect(v.signature).toBe(v.envelope.sig);
      expect(verify(null, bytes, spki(v.publicKey), Buffer.from(v.signature, 'hex'))).toBe(true);
      // Ed25519 is deterministic: the seed signs the same bytes to the same signature.
      expect(sign(null, bytes, pkcs8(v.seed)).toString('hex')).toBe(v.signature);
      expect(sha256(bytes).toString('hex')).toBe(v.id);
    });
  }

  it('embedded envelopes verify on their own, and ids link the messages', () => {
    const byType = (t: string) => file.vectors.filter((v) => v.type === t);
    const task = byType('task.spec')[0]!;
    const verifies = (e: { payload: string; sig: string }) => {
      const p = JSON.parse(e.payload) as { type: string; signer: string };
      return verify(null, Buffer.from(`dcloud/v1/${p.type}\n${e.payload}`), spki(p.signer), Buffer.from(e.sig, 'hex'));
    };
    const announce = byType('task.announce')[0]!.body as { task: { payload: string; sig: string } };
    expect(announce.task).toEqual(task.envelope);
    const decision = byType('decision')[0]!.body as { taskId: string; results: Array<{ payload: string; sig: string }> };
    expect(decision.taskId).toBe(task.id);
    expect(decision.results.length).toBeGreaterThan(0);
    for (const r of decision.results) expect(verifies(r)).toBe(true);
    const sync = byType('sync.response')[0]!.body as { entries: Array<{ payload: string; sig: string }> };
    for (const e of sync.entries) expect(verifies(e)).toBe(true);
    for (const r of byType('result')) expect((r.body as { taskId: string }).taskId).toBe(task.id);
  });

  it('result digests follow sha256(label || sha256(stdout))', () => {
    const withDigest = file.vectors.filter((v) => v.resultDigest !== undefined);
    expect(withDigest.length).toBeGreaterThan(0);
    for (const v of withDigest) {
      const d = v.resultDigest!;
      expect(Buffer.from(d.stdoutBase64, 'base64').toString('utf8')).toBe(d.stdout);
      expect(sha256(d.stdout).toString('hex')).toBe(d.stdoutSha256);
      expect(d.label).toBe(`dcloud-result-v1\n${d.exitCode}\n`);
      expect(sha256(d.label, Buffer.from(d.stdoutSha256, 'hex')).toString('hex')).toBe(d.digest);
      const body = v.body as { digest: string; exitCode: number; stdout: string };
      expect(body).toMatchObject({ digest: d.digest, exitCode: d.exitCode, stdout: d.stdoutBase64 });
    }
  });

  it('invalid vectors are each either non-canonical or fail the signature check, except the clock ones', () => {
    for (const bad of file.invalid) {
      expect(['ENVELOPE_NON_CANONICAL', 'ENVELOPE_BAD_SIGNATURE', 'ENVELOPE_STALE', 'ENVELOPE_FUTURE'], bad.name).toContain(bad.error);
      const p = JSON.parse(bad.envelope.payload) as { type: string; signer: string; ts: number };
      const canonical = canonicalize(p) === bad.envelope.payload;
      const sigOk = verify(null, Buffer.from(`dcloud/v1/${p.type}\n${bad.envelope.payload}`), spki(p.signer), Buffer.from(bad.envelope.sig, 'hex'));
      if (bad.error === 'ENVELOPE_NON_CANONICAL') expect(canonical, bad.name).toBe(false);
      if (bad.error === 'ENVELOPE_BAD_SIGNATURE') expect([canonical, sigOk], bad.name).toEqual([true, false]);
      if (bad.error === 'ENVELOPE_STALE') expect(bad.now - p.ts, bad.name).toBeGreaterThan(120_000);
      if (bad.error === 'ENVELOPE_FUTURE') expect(p.ts - bad.now, bad.name).toBeGreaterThan(30_000);
    }
  });
});
