/**
 * When this hub could hear each other hub: the spans during which a libp2p connection to it was
 * open, as the bridge observes them by polling the peer book. A hub is "silent" to this one over
 * an interval that no span touches. Before this hub started it heard nobody: a hub that was down
 * cannot vouch for anyone's liveness, so every earlier interval counts as silence.
 *
 * No I/O and no clock of its own: times are passed in.
 */

interface Span {
  from: number;
  /** null while the connection is open. */
  to: number | null;
}

/** Spans kept per hub: enough to judge the claims of the last few leases. */
const SPANS_KEPT = 32;

export interface PeerContact {
  nodeId: string;
  connected: boolean;
  /** When its connection last opened (connected) or closed (not connected); null if never. */
  lastSeen: number | null;
}

export class ContactBook {
  private readonly spans = new Map<string, Span[]>();

  observe(peer: PeerContact, now: number): void {
    let list = this.spans.get(peer.nodeId);
    const last = list?.at(-1);
    const open = last !== undefined && last.to === null ? last : undefined;
    if (peer.connected && open === undefined) {
      if (list === undefined) this.spans.set(peer.nodeId, (list = []));
      list.push({ from: Math.min(peer.lastSeen ?? now, now), to: null });
      if (list.length > SPANS_KEPT) list.shift();
    } else if (!peer.connected && open !== undefined) {
      open.to = Math.max(open.from, Math.min(peer.lastSeen ?? now, now));
    }
  }

  /** Whether this hub was connected to `nodeId` at no moment of [from, to]. */
  apartDuring(nodeId: string, from: number, to: number): boolean {
    for (const span of this.spans.get(nodeId) ?? []) {
      if (span.from <= to && (span.to === null || span.to >= from)) return false;
    }
    return true;
  }

  isConnected(nodeId: string): boolean {
    return this.spans.get(nodeId)?.at(-1)?.to === null;
  }
}
