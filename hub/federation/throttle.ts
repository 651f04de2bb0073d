/**
 * Per-peer limits on the sync protocol a hub serves: reading and signing pages of its log costs
 * it far more than a request costs the asker, so one peer asking in a loop must not starve the
 * others. A token bucket per peer (`perSecond`, up to `burst` saved) paces requests: a request
 * beyond it waits for its token, or is refused when that wait would exceed `maxWaitMs`; and a peer
 * gets at most `sessions` sessions at once. Pure: the clock is passed in.
 */

export interface SyncLimits {
  /** Requests a peer may make per second, sustained. */
  perSecond: number;
  /** Requests a peer may make at once after a quiet while (a catching-up hub's burst). */
  burst: number;
  /** Longest a request is held back before it is refused instead, ms. */
  maxWaitMs: number;
  /** Sessions (streams) a peer may have open at once. */
  sessions: number;
}

/** A hub catching up asks for the directory, then a few pages per origin: well within these. */
export const DEFAULT_SYNC_LIMITS: SyncLimits = { perSecond: 50, burst: 200, maxWaitMs: 2000, sessions: 2 };

export interface ThrottleCounts {
  served: number;
  delayed: number;
  refused: number;
}

interface Bucket extends ThrottleCounts {
  tokens: number;
  at: number;
  open: number;
}

/** What to do with a request: serve it after `waitMs` (0: now), or refuse it. */
export type Admission = { admit: true; waitMs: number } | { admit: false };

export class SyncThrottle {
  private readonly buckets = new Map<string, Bucket>();
  private readonly limits: SyncLimits;

  constructor(limits: SyncLimits = DEFAULT_SYNC_LIMITS) {
    this.limits = limits;
  }

  private bucket(peer: string, now: number): Bucket {
    let b = this.buckets.get(peer);
    if (b === undefined) {
      b = { tokens: this.limits.burst, at: now, open: 0, served: 0, delayed: 0, refused: 0 };
      this.buckets.set(peer, b);
    }
    b.tokens = Math.min(this.limits.burst, b.tokens + ((now - b.at) / 1000) * this.limits.perSecond);
    b.at = now;
    return b;
  }

  /** A session opens; false (and counted as refused) when the peer has all it may have open. */
  open(peer: string, now: number): boolean {
    const b = this.bucket(peer, now);
    if (b.open >= this.limits.sessions) {
      b.refused++;
      return false;
    }
    b.open++;
    return true;
  }

  close(peer: string): void {
    const b = this.buckets.get(peer);
    if (b !== undefined) b.open = Math.max(0, b.open - 1);
  }

  /** One request: its token now, later (the wait), or refused. A granted token is spent at once. */
  request(peer: string, now: number): Admission {
    const b = this.bucket(peer, now);
    const waitMs = b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) / this.limits.perSecond) * 1000);
    if (waitMs > this.limits.maxWaitMs) {
      b.refused++;
      return { admit: false };
    }
    b.tokens -= 1;
    b.served++;
    if (waitMs > 0) b.delayed++;
    return { admit: true, waitMs };
  }

  counts(): Record<string, ThrottleCounts> {
    const out: Record<string, ThrottleCounts> = {};
    for (const [peer, { served, delayed, refused }] of this.buckets) out[peer] = { served, delayed, refused };
    return out;
  }

  /**
   * Bounded memory: past `keep` peers, forgets those idle long enough to have a full bucket and
   * nothing open (their counts go with them).
   */
  prune(now: number, keep = 1000): void {
    if (this.buckets.size <= keep) return;
    for (const [peer, b] of this.buckets) {
      if (b.open === 0 && b.tokens + ((now - b.at) / 1000) * this.limits.perSecond >= this.limits.burst) this.buckets.delete(peer);
    }
  }
}
