/**
 * Remembers (signer, nonce) pairs for as long as an envelope carrying them could still pass the
 * freshness check, so each signed envelope is accepted at most once per receiver.
 * Memory is bounded by the envelopes accepted within one window.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  private readonly windowMs: number;
  private nextSweep = 0;

  /** `windowMs` must cover maxAge + maxSkew of the freshness check it backs. */
  constructor(options: { windowMs?: number } = {}) {
    this.windowMs = options.windowMs ?? 150_000;
  }

  /** Returns false when the pair was already seen; otherwise records it and returns true. */
  remember(signer: string, nonce: string, ts: number, now: number): boolean {
    if (now >= this.nextSweep) this.sweep(now);
    const key = `${signer}:${nonce}`;
    const expiry = this.seen.get(key);
    if (expiry !== undefined && expiry > now) return false;
    this.seen.set(key, Math.max(ts, now) + this.windowMs);
    return true;
  }

  private sweep(now: number): void {
    for (const [key, expiry] of this.seen) if (expiry <= now) this.seen.delete(key);
    this.nextSweep = now + this.windowMs / 4;
  }

  get size(): number {
    return this.seen.size;
  }
}
