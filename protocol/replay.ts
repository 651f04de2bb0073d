/**
 * Remembers (signer, nonce) pairs for as long as an envelope carrying them could still pass the
 * freshness check, so each signed envelope is accepted at most once per receiver.
 * Memory is bounded by the envelopes accepted within one window.
 */
export class ReplayGuard {
  /** signer -> nonce -> expiry (ms). Nested rather than keyed by signer + nonce: no key string to build and hash per envelope. */
  private readonly seen = new Map<string, Map<string, number>>();
  private readonly windowMs: number;
  private nextSweep = 0;
  private count = 0;

  /** `windowMs` must cover maxAge + maxSkew of the freshness check it backs. */
  constructor(options: { windowMs?: number } = {}) {
    this.windowMs = options.windowMs ?? 150_000;
  }

  /** Returns false when the pair was already seen; otherwise records it and returns true. */
  remember(signer: string, nonce: string, ts: number, now: number): boolean {
    if (now >= this.nextSweep) this.sweep(now);
    let nonces = this.seen.get(signer);
    if (nonces === undefined) {
      nonces = new Map();
      this.seen.set(signer, nonces);
    }
    const expiry = nonces.get(nonce);
    if (expiry !== undefined && expiry > now) return false;
    if (expiry === undefined) this.count++;
    nonces.set(nonce, Math.max(ts, now) + this.windowMs);
    return true;
  }

  private sweep(now: number): void {
    for (const [signer, nonces] of this.seen) {
      for (const [nonce, expiry] of nonces) {
        if (expiry <= now) {
          nonces.delete(nonce);
          this.count--;
        }
      }
      if (nonces.size === 0) this.seen.delete(signer);
    }
    this.nextSweep = now + this.windowMs / 4;
  }

  /** How many pairs are remembered now. */
  get size(): number {
    return this.count;
  }
}
