// The lease that replaces a silent decider, judged from what each hub heard itself.
import { describe, expect, it } from 'vitest';
import { ContactBook } from '../../hub/federated/contact.ts';
import { judgeClaim, type LeaseView, shouldTakeOver } from '../../hub/federated/takeover.ts';
import { makeTask } from './core-fixtures.ts';

const LEASE = 1000;
const [A, B, C] = ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)] as const;

/** `self`'s view, connected to each hub of `spans` over [from, to) (to null: still connected). */
function view(self: string, spans: Array<[string, number, number | null]>): LeaseView {
  const contacts = new ContactBook();
  for (const [nodeId, from, to] of spans) {
    contacts.observe({ nodeId, connected: true, lastSeen: from }, from);
    if (to !== null) contacts.observe({ nodeId, connected: false, lastSeen: to }, to);
  }
  return { self, leaseMs: LEASE, contacts };
}

describe('the contact book', () => {
  it('knows when a hub could be heard, and counts the time before it saw one as silence', () => {
    const contacts = new ContactBook();
    expect(contacts.apartDuring(A, 0, 10_000)).toBe(true);
    contacts.observe({ nodeId: A, connected: true, lastSeen: 1000 }, 1100);
    contacts.observe({ nodeId: A, connected: true, lastSeen: 1000 }, 1300); // no change
    expect(contacts.isConnected(A)).toBe(true);
    expect(contacts.apartDuring(A, 0, 999)).toBe(true);
    expect(contacts.apartDuring(A, 500, 5000)).toBe(false);
    contacts.observe({ nodeId: A, connected: false, lastSeen: 3000 }, 3100);
    expect(contacts.isConnected(A)).toBe(false);
    expect(contacts.apartDuring(A, 3001, 9000)).toBe(true);
    expect(contacts.apartDuring(A, 2500, 9000)).toBe(false);
  });
});

describe('taking a task over', () => {
  const task = makeTask({ home: A });

  it('is for the lowest live hub, once the decider was silent for a whole lease and it has run that long', () => {
    const now = 9100; // A was last heard at 8000: 1.1 s ago, more than the lease
    const b = view(B, [[A, 0, 8000], [C, 0, null]]);
    expect(shouldTakeOver(A, [C], 8500, 0, b)).toBe(false); // heard half a second ago
    expect(shouldTakeOver(A, [C], now, 0, b)).toBe(true);
    expect(shouldTakeOver(A, [C], now, 8500, b)).toBe(false); // B itself started 0.6 s ago
    const c = view(C, [[A, 0, 8000], [B, 0, null]]);
    expect(shouldTakeOver(A, [B], now, 0, c)).toBe(false); // B is lower
    expect(shouldTakeOver(A, [], now, 0, c)).toBe(true); // alone, C is the lowest
    expect(shouldTakeOver(B, [A], now, 0, b)).toBe(false); // never its own tasks
  });

  it('accepts the claim of a hub when the decider was silent to it too, and makes the claimant the decider', () => {
    const c = view(C, [[A, 0, 8000], [B, 0, null]]);
    expect(judgeClaim(task, A, 7000, c)).toBe('decider');
    expect(judgeClaim(task, B, 9000, c)).toBe('takeover');
    expect(judgeClaim(task, B, 8200, c)).toBe('reject'); // A was heard half a lease before the claim
  });

  it('lets a home that was away give its task up, but not to a hub it was hearing all along', () => {
    const a = view(A, [[B, 20_000, null]]); // A restarted and met B again at 20 s
    expect(judgeClaim(task, B, 9000, a)).toBe('takeover'); // claimed while A was down
    expect(judgeClaim(task, B, 25_000, a)).toBe('reject'); // a rogue claim while connected
  });

  it('settles two claims after a partition healed: the lower node id decides, the old home\'s late entries lose', () => {
    const claimedByC = { ...task, decider: C };
    const b = view(B, [[C, 20_000, null]]);
    expect(judgeClaim(claimedByC, B, 9000, b)).toBe('takeover'); // B < C
    const claimedByB = { ...task, decider: B };
    const c = view(C, [[B, 20_000, null]]);
    expect(judgeClaim(claimedByB, C, 9000, c)).toBe('ignore');
    const heard = view(C, [[B, 0, null]]);
    expect(judgeClaim(claimedByB, A, 25_000, heard)).toBe('ignore');
  });
});
