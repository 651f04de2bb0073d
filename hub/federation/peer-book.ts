import { type BackoffPolicy, backoffDelay } from '../../src/core/backoff.ts';

/**
 * Who this hub knows in the federation and when to dial whom. libp2p 3 has no autodialer, and
 * Bacalhau's orchestrators could not find their nodes again after a restart; so every peer worth
 * keeping (a bootstrap address, or a peer that proved to be a hub by speaking the sync protocol)
 * is redialled after it is lost, forever, with exponential backoff and jitter. Peers that are
 * neither (a DHT neighbour that never answered, a stranger that connected once) get a few tries
 * and are then forgotten, so the book cannot be filled by anyone who says hello.
 *
 * No I/O here: the clock and the random numbers are passed in, so every transition can be tested.
 */

export type PeerStatus = 'connected' | 'dialing' | 'lost';

export interface PeerView {
  peerId: string;
  addrs: string[];
  status: PeerStatus;
  /** When a connection to it was last open, ms since the epoch; null if never. */
  lastSeen: number | null;
  /** Whether it speaks the sync protocol, i.e. is a hub. */
  hub: boolean;
  /** Gossip messages or sync answers from it that this hub refused. */
  rejected: number;
}

interface PeerRecord {
  addrs: string[];
  status: PeerStatus;
  lastSeen: number | null;
  hub: boolean;
  bootstrap: boolean;
  rejected: number;
  /** Consecutive failed dials. */
  failures: number;
  nextDialAt: number;
  inFlight: boolean;
}

export interface PeerBookPolicy extends BackoffPolicy {
  /** Dials given to a peer that is neither a bootstrap peer nor a known hub before it is forgotten. */
  strangerTries: number;
}

export const DEFAULT_PEER_POLICY: PeerBookPolicy = { baseMs: 500, maxMs: 30_000, strangerTries: 3 };

export class PeerBook {
  private readonly peers = new Map<string, PeerRecord>();
  private readonly policy: PeerBookPolicy;

  constructor(policy: PeerBookPolicy = DEFAULT_PEER_POLICY) {
    this.policy = policy;
  }

  /** A peer heard of (bootstrap list, DHT, identify): due for a dial now unless already known. */
  learn(peerId: string, addrs: readonly string[], now: number, options: { bootstrap?: boolean } = {}): void {
    const known = this.peers.get(peerId);
    if (known !== undefined) {
      known.addrs = merge(known.addrs, addrs);
      if (options.bootstrap === true) known.bootstrap = true;
      return;
    }
    this.peers.set(peerId, {
      addrs: [...addrs],
      status: 'dialing',
      lastSeen: null,
      hub: false,
      bootstrap: options.bootstrap === true,
      rejected: 0,
      failures: 0,
      nextDialAt: now,
      inFlight: false,
    });
  }

  /** Peers to dial now: not connected, not being dialled, their backoff over. */
  due(now: number): string[] {
    const out: string[] = [];
    for (const [peerId, p] of this.peers) if (p.status !== 'connected' && !p.inFlight && p.nextDialAt <= now) out.push(peerId);
    return out;
  }

  dialStarted(peerId: string): void {
    const p = this.peers.get(peerId);
    if (p === undefined) return;
    p.inFlight = true;
    if (p.status !== 'connected') p.status = 'dialing';
  }

  dialFailed(peerId: string, now: number, random: number): void {
    const p = this.peers.get(peerId);
    if (p === undefined) return;
    p.inFlight = false;
    if (p.status === 'connected') return; // it dialled us meanwhile
    p.failures++;
    if (!this.keeps(p) && p.failures >= this.policy.strangerTries) {
      this.peers.delete(peerId);
      return;
    }
    p.status = 'lost';
    p.nextDialAt = now + backoffDelay(p.failures, this.policy, random);
  }

  /** A connection is open (dialled by either side). */
  connected(peerId: string, addr: string | undefined, now: number): void {
    const p = this.peers.get(peerId) ?? this.fresh();
    this.peers.set(peerId, p);
    p.status = 'connected';
    p.inFlight = false;
    p.failures = 0;
    p.lastSeen = now;
    if (addr !== undefined) p.addrs = merge(p.addrs, [addr]);
  }

  /** Its last connection closed: kept peers are redialled after a backoff, strangers forgotten. */
  disconnected(peerId: string, now: number, random: number): void {
    const p = this.peers.get(peerId);
    if (p === undefined) return;
    if (!this.keeps(p)) {
      this.peers.delete(peerId);
      return;
    }
    p.status = 'lost';
    p.lastSeen = now;
    p.failures = 1;
    p.nextDialAt = now + backoffDelay(1, this.policy, random);
  }

  /** Every peer not connected is due for a dial now, its backoff forgotten (a cut was lifted). */
  redialAll(now: number): void {
    for (const p of this.peers.values()) if (p.status !== 'connected') p.nextDialAt = now;
  }

  /** It speaks the sync protocol: a hub, worth redialling forever. */
  markHub(peerId: string): void {
    const p = this.peers.get(peerId);
    if (p !== undefined) p.hub = true;
  }

  rejected(peerId: string): void {
    const p = this.peers.get(peerId);
    if (p !== undefined) p.rejected++;
  }

  isHub(peerId: string): boolean {
    return this.peers.get(peerId)?.hub === true;
  }

  isConnected(peerId: string): boolean {
    return this.peers.get(peerId)?.status === 'connected';
  }

  addrsOf(peerId: string): readonly string[] {
    return this.peers.get(peerId)?.addrs ?? [];
  }

  view(): PeerView[] {
    return [...this.peers].map(([peerId, p]) => ({ peerId, addrs: [...p.addrs], status: p.status, lastSeen: p.lastSeen, hub: p.hub, rejected: p.rejected }));
  }

  private keeps(p: PeerRecord): boolean {
    return p.bootstrap || p.hub;
  }

  private fresh(): PeerRecord {
    return { addrs: [], status: 'connected', lastSeen: null, hub: false, bootstrap: false, rejected: 0, failures: 0, nextDialAt: 0, inFlight: false };
  }
}

function merge(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}
