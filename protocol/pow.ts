import { createHash } from 'node:crypto';

/**
 * Registration proof of work (docs/PROTOCOL.md, agent.register `pow`): the agent finds a nonce
 * such that sha256("dcloud-pow\n" || challenge || "\n" || public key hex || "\n" || nonce) starts
 * with `bits` zero bits. The hash binds the work to one key and one challenge of one hub, so a
 * solution cannot be reused for another key, and every new identity costs the same work.
 */

export function powHash(challenge: string, publicKeyHex: string, nonce: string): Buffer {
  return createHash('sha256').update(`dcloud-pow\n${challenge}\n${publicKeyHex}\n${nonce}`).digest();
}

/** Leading zero bits of `hash`. */
export function leadingZeroBits(hash: Uint8Array): number {
  let bits = 0;
  for (const byte of hash) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** Whether `nonce` solves `challenge` for this key at `bits`. */
export function powSolves(challenge: string, publicKeyHex: string, nonce: string, bits: number): boolean {
  return leadingZeroBits(powHash(challenge, publicKeyHex, nonce)) >= bits;
}

/**
 * Finds a nonce (2^bits hashes on average). Yields to the event loop now and then, so that an
 * agent stays responsive while it works; throws `signal.reason` when aborted.
 */
export async function solvePow(challenge: string, publicKeyHex: string, bits: number, signal?: AbortSignal): Promise<string> {
  for (let i = 0; ; i++) {
    const nonce = i.toString(36);
    if (powSolves(challenge, publicKeyHex, nonce, bits)) return nonce;
    if (i % 4096 === 4095) {
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
    }
  }
}
