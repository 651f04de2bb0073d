import { createHash, randomBytes } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { describe, expect, it } from 'vitest';
import { createSigner, generateKeyPair, keyPairFromSeed, nodeIdOf, publicKeyFromSecret } from '../../keys/index.ts';

// RFC 8032 section 7.1, TEST 1 and TEST 2.
const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('key pairs', () => {
  it('generates 32-byte seeds and public keys, a new pair each time', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(a.secretKey).toHaveLength(32);
    expect(a.publicKey).toHaveLength(32);
    expect(hex(a.secretKey)).not.toBe(hex(b.secretKey));
    expect(hex(publicKeyFromSecret(a.secretKey))).toBe(hex(a.publicKey));
  });

  for (const [i, v] of RFC8032.entries()) {
    it(`derives RFC 8032 TEST ${i + 1}'s public key and signature`, () => {
      const pair = keyPairFromSeed(Buffer.from(v.seed, 'hex'));
      expect(hex(pair.publicKey)).toBe(v.publicKey);
      expect(hex(createSigner(pair).sign(Buffer.from(v.message, 'hex')))).toBe(v.signature);
    });
  }

  it('refuses a seed that is not 32 bytes', () => {
    expect(() => keyPairFromSeed(new Uint8Array(31))).toThrow(RangeError);
  });

  it('keeps its own copy of the seed', () => {
    const seed = Buffer.from(RFC8032[0]!.seed, 'hex');
    const pair = keyPairFromSeed(seed);
    seed.fill(0);
    expect(hex(pair.secretKey)).toBe(RFC8032[0]!.seed);
  });
});

describe('createSigner', () => {
  it('signs (node:crypto) exactly as @noble/ed25519 does, and noble verifies it', () => {
    for (let i = 0; i < 20; i++) {
      const pair = generateKeyPair();
      const signer = createSigner(pair);
      const message = randomBytes(i * 37);
      const ours = signer.sign(message);
      expect(hex(ours)).toBe(hex(ed.sign(message, pair.secretKey)));
      expect(ed.verify(ours, message, pair.publicKey)).toBe(true);
    }
  });

  it('exposes the public key in hex and the node id', () => {
    const pair = generateKeyPair();
    const signer = createSigner(pair);
    expect(signer.publicKeyHex).toBe(hex(pair.publicKey));
    expect(signer.nodeId).toBe(nodeIdOf(pair.publicKey));
  });
});

describe('nodeIdOf', () => {
  it('is the first 16 bytes of sha256("dcloud-node-id\\n" || public key), in hex', () => {
    const publicKey = Buffer.from(RFC8032[0]!.publicKey, 'hex');
    const expected = createHash('sha256').update(Buffer.concat([Buffer.from('dcloud-node-id\n'), publicKey])).digest('hex').slice(0, 32);
    expect(nodeIdOf(publicKey)).toBe(expected);
    expect(nodeIdOf(publicKey)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('is stable: the same key gives the same id from any byte container, every time', () => {
    const pair = generateKeyPair();
    const id = nodeIdOf(pair.publicKey);
    expect(nodeIdOf(Buffer.from(pair.publicKey))).toBe(id);
    expect(nodeIdOf(new Uint8Array(pair.publicKey))).toBe(id);
    expect(nodeIdOf(keyPairFromSeed(pair.secretKey).publicKey)).toBe(id);
  });

  it('differs between keys', () => {
    const ids = new Set(Array.from({ length: 50 }, () => nodeIdOf(generateKeyPair().publicKey)));
    expect(ids.size).toBe(50);
  });
});
