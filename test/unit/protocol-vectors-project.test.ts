import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Verifier } from '../../keys/index.ts';
import { EnvelopeError, MESSAGE_TYPES, open } from '../../protocol/index.ts';
import { makeTestVectors, renderTestVectors, type TestVectors, VECTORS_PATH } from '../../scripts/make-test-vectors.ts';

/** A change to the canonical bytes, the prefix, the ids or the digest cannot pass silently. */
const committed = readFileSync(VECTORS_PATH, 'utf8');
const file = JSON.parse(committed) as TestVectors;

describe('the project produces exactly the committed test vectors', () => {
  it('regenerating gives the committed file byte for byte', () => {
    expect(renderTestVectors(makeTestVectors())).toBe(committed);
  });

  it('the vectors cover every type in MessageBodies', () => {
    expect(new Set(file.vectors.map((v) => v.type))).toEqual(new Set(MESSAGE_TYPES));
  });

  it('open() accepts every vector and reports its signer, node id and content id', () => {
    const verifier = new Verifier();
    for (const v of file.vectors) {
      const opened = open(v.envelope, { verifier, now: v.ts });
      expect(opened).toMatchObject({ type: v.type, signer: v.publicKey, nodeId: v.nodeId, ts: v.ts, nonce: v.nonce, body: v.body, id: v.id });
    }
  });

  it('open() refuses every invalid vector with the code it names', () => {
    const verifier = new Verifier();
    for (const bad of file.invalid) {
      let caught: unknown;
      try {
        open(bad.envelope, { verifier, now: bad.now });
      } catch (err) {
        caught = err;
      }
      expect(caught, bad.name).toBeInstanceOf(EnvelopeError);
      expect((caught as EnvelopeError).code, bad.name).toBe(bad.error);
    }
  });
});
