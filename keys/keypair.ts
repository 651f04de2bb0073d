import { createHash, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

// noble ships async-only unless given a sha512; the sync API keeps key generation simple.
ed.hashes.sha512 = sha512;

export interface KeyPair {
  /** The 32-byte Ed25519 seed (RFC 8032 "private key"). Never leaves its key file. */
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Anything that can sign bytes for a public key: a local key, or in tests a deliberate forger. */
export interface Signer {
  readonly publicKey: Uint8Array;
  /** Lower-case hex of the public key, as it appears in every envelope's `signer` field. */
  readonly publicKeyHex: string;
  readonly nodeId: string;
  sign(message: Uint8Array): Uint8Array;
}

export function generateKeyPair(): KeyPair {
  const { secretKey, publicKey } = ed.keygen();
  return { secretKey, publicKey };
}

export function publicKeyFromSecret(secretKey: Uint8Array): Uint8Array {
  return ed.getPublicKey(secretKey);
}

/** The key pair of a known 32-byte seed: test vectors, simulations, deterministic fixtures. */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new RangeError(`an Ed25519 seed is 32 bytes, not ${seed.length}`);
  return { secretKey: new Uint8Array(seed), publicKey: publicKeyFromSecret(seed) };
}

/**
 * A node's id: the first 16 bytes of SHA-256 over a label and its public key, in hex.
 * Anyone holding the public key derives the same id; nobody can choose an id without the key.
 */
export function nodeIdOf(publicKey: Uint8Array): string {
  return createHash('sha256').update('dcloud-node-id\n').update(publicKey).digest('hex').slice(0, 32);
}

// PKCS#8 wrapper for a raw Ed25519 seed (RFC 8410): lets node:crypto sign with our key.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function privateKeyObject(secretKey: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
}

/**
 * Signs with node:crypto (several times faster than pure JS; RFC 8032 signatures are
 * deterministic, so the bytes are identical to @noble/ed25519's).
 */
export function createSigner(pair: KeyPair): Signer {
  const key = privateKeyObject(pair.secretKey);
  const publicKeyHex = Buffer.from(pair.publicKey).toString('hex');
  return {
    publicKey: pair.publicKey,
    publicKeyHex,
    nodeId: nodeIdOf(pair.publicKey),
    sign: (message) => new Uint8Array(cryptoSign(null, message, key)),
  };
}
