import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';

// SPKI wrapper for a raw Ed25519 public key (RFC 8410).
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const HEX_KEY = /^[0-9a-f]{64}$/;

export function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

/**
 * Ed25519 verification through node:crypto with a bounded cache of imported keys: importing a
 * key costs about a third of a verify, and a hub sees the same few thousand agents all day.
 */
export class Verifier {
  private readonly cache = new Map<string, KeyObject>();
  private readonly maxKeys: number;

  constructor(options: { maxKeys?: number } = {}) {
    this.maxKeys = options.maxKeys ?? 50_000;
  }

  /** `publicKeyHex` must be 64 lower-case hex characters; anything else simply fails to verify. */
  verify(publicKeyHex: string, message: Uint8Array, signature: Uint8Array): boolean {
    if (signature.length !== 64) return false;
    let key = this.cache.get(publicKeyHex);
    if (key === undefined) {
      // Only keys in canonical form enter the cache, so a hit needs no second look at the text.
      if (!HEX_KEY.test(publicKeyHex)) return false;
      try {
        key = publicKeyObject(Buffer.from(publicKeyHex, 'hex'));
      } catch {
        return false; // not a point on the curve
      }
      if (this.cache.size >= this.maxKeys) {
        // Maps iterate in insertion order: drop the oldest key.
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) this.cache.delete(oldest);
      }
      this.cache.set(publicKeyHex, key);
    }
    try {
      return cryptoVerify(null, message, key, signature);
    } catch {
      return false;
    }
  }

  /** Whether the key is imported and cached now (it is dropped, oldest first, beyond `maxKeys`). */
  has(publicKeyHex: string): boolean {
    return this.cache.has(publicKeyHex);
  }

  get size(): number {
    return this.cache.size;
  }
}
