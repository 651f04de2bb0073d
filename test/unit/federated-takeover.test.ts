// The lease that replaces a silent decider, judged from what each hub heard itself.
import { describe, expect, it } from 'vitest';
import { ContactBook } from '../../hub/federated/contact.ts';
import { claimEntry, judgeClaim, type LeaseView, orphans, shouldTakeOver } from '../../hub/federated/takeover.ts';
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
    expect(shouldTakeOver(task, [C], 8500, 0, b)).toBe(false); // heard half a second ago
    expect(shouldTakeOver(task, [C], now, 0, b)).toBe(true);
    expect(shouldTakeOver(task, [C], now, 8500, b)).toBe(false); // B itself started 0.6 s ago
    const c = view(C, [[A, 0, 8000], [B, 0, null]]);
    expect(shouldTakeOver(task, [B], now, 0, c)).toBe(false); // B is lower
    expect(shouldTakeOver(task, [], now, 0, c)).toBe(true); // alone, C is the lowest
    expect(shouldTakeOver(makeTask({ home: B }), [A], now, 0, b)).toBe(false); // never its own tasks
    expect(shouldTakeOver(makeTask({ home: A, spec: { privateRegistry: true } }), [C], now, 0, b)).toBe(false); // only its home has the credentials
  });

  it('takes a claimant\'s task only for a hub that outranks the claimant: the home never takes it back', () => {
    const now = 9100;
    const claimedByB = makeTask({ home: A, decider: B });
    const a = view(A, [[B, 0, 8000], [C, 0, null]]);
    expect(shouldTakeOver(claimedByB, [C], now, 0, a)).toBe(false); // A is the home, C is higher than B
    const c = view(C, [[B, 0, 8000], [A, 0, null]]);
    expect(shouldTakeOver(claimedByB, [A], now, 0, c)).toBe(false);
    const claimedByC = makeTask({ home: A, decider: C });
    const b = view(B, [[C, 0, 8000], [A, 0, null]]);
    expect(shouldTakeOver(claimedByC, [A], now, 0, b)).toBe(true); // B < C
  });

  it('judges a claim by rank from the signed entry alone: a claimant outranks the home, the lower claimant outranks the higher', () => {
    expect(judgeClaim(task, A)).toBe('decider');
    expect(judgeClaim(task, B)).toBe('takeover');
    expect(judgeClaim(task, C)).toBe('takeover');
    const claimedByC = { ...task, decider: C };
    expect(judgeClaim(claimedByC, B)).toBe('takeover'); // B < C
    expect(judgeClaim(claimedByC, A)).toBe('ignore'); // the old home's late entries
    const claimedByB = { ...task, decider: B };
    expect(judgeClaim(claimedByB, C)).toBe('ignore');
    expect(judgeClaim(claimedByB, A)).toBe('ignore');
    expect(judgeClaim(makeTask({ home: A, spec: { privateRegistry: true } }), B)).toBe('ignore');
  });
});

describe('the takeover pass', () => {
  const now = 9100;
  const b = view(B, [[A, 0, 8000], [C, 0, null]]);
  const tasks = [makeTask({ id: 'open', home: A, status: 'in_progress' }), makeTask({ id: 'done', home: A, status: 'validated' }), makeTask({ id: 'mine', home: B })];

  it('takes the open tasks of a decider silent for a lease, only while this hub decides and holds a quorum', () => {
    expect(orphans(tasks, [C], now, 0, b, true, true)).toEqual(['open']);
    expect(orphans(tasks, [C], now, 0, b, false, true)).toEqual([]);
    expect(orphans(tasks, [C], now, 0, b, true, false)).toEqual([]);
  });

  it('logs a claim at once: the waiting status as it is, any other as in_progress (no status, a claim only)', () => {
    expect(claimEntry(makeTask({ id: 'w', status: 'in_queue', round: 2 }))).toEqual({ tasks: [{ taskId: 'w', status: 'in_queue', round: 2 }] });
    expect(claimEntry(makeTask({ id: 'r', status: 'in_progress', round: 1 }))).toEqual({ tasks: [{ taskId: 'r', status: 'in_progress', round: 1 }] });
    expect(claimEntry(makeTask({ id: 'v', status: 'validating', round: 0 }))).toEqual({ tasks: [{ taskId: 'v', status: 'in_progress', round: 0 }] });
  });
});
