import { afterEach, describe, expect, it } from 'vitest';
import { createSigner, generateKeyPair, type Signer, Verifier, VerifyPool } from '../../keys/index.ts';

const signers: Signer[] = Array.from({ length: 3 }, () => createSigner(generateKeyPair()));
const [a, b] = signers as [Signer, Signer];
const message = (i: number) => Buffer.from(`dcloud/v1/agent.heartbeat\n{"n":${i}}`);
const plain = new Verifier();
let pool: VerifyPool | undefined;

afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('VerifyPool', () => {
  it('gives verify()\'s verdict for every signature of a batch, good and bad mixed, on worker threads', async () => {
    pool = new VerifyPool({ threads: 2 });
    const cases: Array<[string, Uint8Array, Uint8Array]> = [];
    for (let i = 0; i < 200; i++) {
      const signer = signers[i % 3]!;
      const sig = signer.sign(message(i));
      if (i % 5 === 0) cases.push([signer.publicKeyHex, message(i + 1), sig]); // another message
      else if (i % 7 === 0) cases.push([b.publicKeyHex === signer.publicKeyHex ? a.publicKeyHex : b.publicKeyHex, message(i), sig]); // another key
      else cases.push([signer.publicKeyHex, message(i), sig]);
    }
    cases.push([a.publicKeyHex.toUpperCase(), message(0), a.sign(message(0))], ['zz'.repeat(32), message(0), a.sign(message(0))]);
    cases.push([`ee${'ff'.repeat(30)}7f`, message(0), a.sign(message(0))], [a.publicKeyHex, message(0), a.sign(message(0)).subarray(0, 63)]);
    const verdicts = await Promise.all(cases.map(([key, m, s]) => pool!.verifyOffThread(key, m, s)));
    expect(verdicts).toEqual(cases.map(([key, m, s]) => plain.verify(key, m, s)));
    expect(verdicts.filter(Boolean).length).toBeGreaterThan(100);
    expect(verdicts.filter((v) => !v).length).toBeGreaterThan(40);
  });

  it('still answers, by the thread pool, for a batch whose worker was ended before answering', async () => {
    pool = new VerifyPool({ threads: 1 });
    const good = a.sign(message(1));
    const pending = [pool.verifyOffThread(a.publicKeyHex, message(1), good), pool.verifyOffThread(a.publicKeyHex, message(2), good)];
    await new Promise((resolve) => setImmediate(resolve)); // the batch is posted
    await pool.close();
    expect(await Promise.all(pending)).toEqual([true, false]);
    // And starts a worker again when used after close().
    expect(await pool.verifyOffThread(b.publicKeyHex, message(3), b.sign(message(3)))).toBe(true);
  });
});
