import { describe, expect, it } from 'vitest';
import { createSigner, generateKeyPair, type Signer, Verifier } from '../../keys/index.ts';

const message = Buffer.from('dcloud/v1/work.request\n{"body":{}}');
const signers: Signer[] = Array.from({ length: 4 }, () => createSigner(generateKeyPair()));
const [a, b, c, d] = signers as [Signer, Signer, Signer, Signer];

describe('Verifier', () => {
  it('accepts a genuine signature and refuses it for another message or another key', () => {
    const verifier = new Verifier();
    const sig = a.sign(message);
    expect(verifier.verify(a.publicKeyHex, message, sig)).toBe(true);
    expect(verifier.verify(a.publicKeyHex, Buffer.from('other'), sig)).toBe(false);
    expect(verifier.verify(b.publicKeyHex, message, sig)).toBe(false);
  });

  it('answers false, never throws, for malformed keys and signatures', () => {
    const verifier = new Verifier();
    const sig = a.sign(message);
    expect(verifier.verify(a.publicKeyHex.toUpperCase(), message, sig)).toBe(false);
    expect(verifier.verify(a.publicKeyHex.slice(2), message, sig)).toBe(false);
    expect(verifier.verify('zz'.repeat(32), message, sig)).toBe(false);
    expect(verifier.verify(a.publicKeyHex, message, sig.subarray(0, 63))).toBe(false);
    expect(verifier.verify(a.publicKeyHex, message, new Uint8Array(64))).toBe(false);
    expect(verifier.size).toBe(1);
    // Not a valid encoding of a point (y >= p): OpenSSL imports it, and no signature verifies.
    expect(verifier.verify(`ee${'ff'.repeat(30)}7f`, message, sig)).toBe(false);
  });

  it('caches each key once, and drops the oldest beyond maxKeys', () => {
    const verifier = new Verifier({ maxKeys: 2 });
    for (const s of [a, a, b, b]) expect(verifier.verify(s.publicKeyHex, message, s.sign(message))).toBe(true);
    expect(verifier.size).toBe(2);
    expect(verifier.verify(c.publicKeyHex, message, c.sign(message))).toBe(true);
    expect(verifier.size).toBe(2);
    expect([verifier.has(a.publicKeyHex), verifier.has(b.publicKeyHex), verifier.has(c.publicKeyHex)]).toEqual([false, true, true]);
    expect(verifier.verify(d.publicKeyHex, message, d.sign(message))).toBe(true);
    expect([verifier.has(b.publicKeyHex), verifier.has(c.publicKeyHex), verifier.has(d.publicKeyHex)]).toEqual([false, true, true]);
    // An evicted key is imported again and still verifies.
    expect(verifier.verify(a.publicKeyHex, message, a.sign(message))).toBe(true);
    expect(verifier.has(a.publicKeyHex)).toBe(true);
    expect(verifier.size).toBe(2);
  });
});

describe('Verifier.verifyOffThread', () => {
  it('gives the same verdicts as verify(), on the thread pool', async () => {
    const verifier = new Verifier();
    const sig = a.sign(message);
    const cases: Array<[string, Uint8Array, Uint8Array]> = [
      [a.publicKeyHex, message, sig],
      [a.publicKeyHex, Buffer.from('other'), sig],
      [b.publicKeyHex, message, sig],
      [a.publicKeyHex.toUpperCase(), message, sig],
      ['zz'.repeat(32), message, sig],
      [a.publicKeyHex, message, sig.subarray(0, 63)],
      [`ee${'ff'.repeat(30)}7f`, message, sig],
    ];
    const offThread = await Promise.all(cases.map(([key, m, s]) => verifier.verifyOffThread(key, m, s)));
    expect(offThread).toEqual(cases.map(([key, m, s]) => verifier.verify(key, m, s)));
    expect(offThread).toEqual([true, false, false, false, false, false, false]);
  });
});
