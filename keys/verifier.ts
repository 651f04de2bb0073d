import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';

// SPKI wrapper for a raw Ed25519 public key (RFC 8410).
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const HEX_KEY = /^[0-9a-f]{64}$/;

/** Whether text is a public key in canonical form (64 lower-case hex characters); other text never verifies. */
export function isPublicKeyHex(text: string): boolean {
  return HEX_KEY.test(text);
}

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
    const key = this.keyObject(publicKeyHex);
    if (key === undefined) return false;
    try {
      return cryptoVerify(null, message, key, signature);
    } catch {
      return false;
    }
  }

  /**
   * verify() on libuv's thread pool: the main thread only queues the check and takes the verdict,
   * so a hub verifies on every core while its one JavaScript thread parses, routes and answers
   * (a verify is most of what an agent's heartbeat costs).
   */
  verifyOffThread(publicKeyHex: string, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (signature.length !== 64) return Promise.resolve(false);
    const key = this.keyObject(publicKeyHex);
    if (key === undefined) return Promise.resolve(false);
    return new Promise((resolve) => {
      try {
        cryptoVerify(null, message, key, signature, (err, ok) => resolve(err === null && ok));
      } catch {
        resolve(false);
      }
    });
  }

  /** The imported key, from the cache when it is there; undefined for text that is no key. */
  protected keyObject(publicKeyHex: string): KeyObject | undefined {
    let key = this.cache.get(publicKeyHex);
    if (key !== undefined) return key;
    // Only keys in canonical form enter the cache, so a hit needs no second look at the text.
    if (!isPublicKeyHex(publicKeyHex)) return undefined;
    try {
      key = publicKeyObject(Buffer.from(publicKeyHex, 'hex'));
    } catch {
      return undefined; // not a point on the curve
    }
    if (this.cache.size >= this.maxKeys) {
      // Maps iterate in insertion order: drop the oldest key.
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(publicKeyHex, key);
    return key;
  }

  /** Whether the key is imported and cached now (it is dropped, oldest first, beyond `maxKeys`). */
  has(publicKeyHex: string): boolean {
    return this.cache.has(publicKeyHex);
  }

  get size(): number {
    return this.cache.size;
  }
}
