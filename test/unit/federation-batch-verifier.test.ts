// Signatures verified in bulk on the thread pool, remembered so that open() does not verify them
// again, and never trusted beyond the exact bytes they were verified over.
import { describe, expect, it } from 'vitest';
import { BatchVerifier } from '../../hub/federation/batch-verifier.ts';
import { createSigner, generateKeyPair } from '../../keys/index.ts';
import { open, seal, signedBytes } from '../../protocol/index.ts';

const signer = createSigner(generateKeyPair());
const spec = (n: number) => seal('task.spec', { image: 'busybox', command: ['echo', String(n)], cpu: 1, ramGb: 1, minTrust: 5, overlap: 1, timeoutS: 60 }, signer);

describe('the batch verifier', () => {
  it('verifies a page and what its entries carry, and open() then accepts them', async () => {
    const hub = createSigner(generateKeyPair());
    const inner = spec(1);
    const announce = seal('task.announce', { task: inner, home: hub.nodeId, seq: 1 }, hub);
    const verifier = new BatchVerifier();
    await verifier.prepare([announce], (body, type) => (type === 'task.announce' ? [(body as { task: unknown }).task] : []));
    expect(open(announce, { verifier }).type).toBe('task.announce');
    expect(open(inner, { verifier }).type).toBe('task.spec');
  });

  it('never takes a remembered signature for other bytes', async () => {
    const verifier = new BatchVerifier();
    const good = spec(2);
    await verifier.prepare([good]);
    const { sig } = good;
    const other = spec(3);
    // The remembered (key, signature) over another message: verified for real, and refused.
    const payload = JSON.parse(other.payload) as { signer: string };
    expect(verifier.verify(payload.signer, signedBytes('task.spec', other.payload), Buffer.from(sig, 'hex'))).toBe(false);
    expect(() => open({ payload: other.payload, sig }, { verifier })).toThrow(/signature/);
    expect(verifier.verify(payload.signer, signedBytes('task.spec', good.payload), Buffer.from(sig, 'hex'))).toBe(true);
  });

  it('leaves what is malformed or forged for open() to refuse, with its reason', async () => {
    const verifier = new BatchVerifier();
    const good = spec(4);
    const forged = { payload: good.payload, sig: '0'.repeat(128) };
    await verifier.prepare([forged, { payload: 'not json', sig: good.sig }, { nonsense: true } as never]);
    expect(() => open(forged, { verifier })).toThrow(/signature/);
  });
});
