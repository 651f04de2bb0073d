// The fence that keeps a cut-off home and the hub that took its tasks over from deciding one task
// with different effects: a quorum to decide at all, and a rank that settles what slipped through.
import { describe, expect, it } from 'vitest';
import { federationMembers, fenceAction, hasQuorum, outranks, reopened, revertTrust } from '../../hub/federated/fence.ts';
import { DEFAULT_PARAMS } from '../../src/core/index.ts';
import { makeAgent, makeTask } from './core-fixtures.ts';

const [A, B, C, D] = ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32), 'd'.repeat(32)] as const;

describe('the quorum', () => {
  it('is more than half of the members, the hub itself counted', () => {
    expect(hasQuorum([A, B, C], [C, B])).toBe(true);
    expect(hasQuorum([A, B, C], [C])).toBe(false); // cut off from both others
    expect(hasQuorum([A, B, C, D, 'e'.repeat(32)], [A, B, C])).toBe(true);
    expect(hasQuorum([A, B, C, D, 'e'.repeat(32)], [D, 'e'.repeat(32)])).toBe(false);
    expect(hasQuorum([A], [A])).toBe(true); // alone in its federation
  });

  it('goes to the half that holds the lowest member when the members split in two equal halves', () => {
    expect(hasQuorum([A, B], [A])).toBe(true);
    expect(hasQuorum([A, B], [B])).toBe(false);
    expect(hasQuorum([A, B, C, D], [A, D])).toBe(true);
    expect(hasQuorum([A, B, C, D], [B, C])).toBe(false);
  });

  it('counts only members: a stranger heard is no vote', () => {
    expect(hasQuorum([A, B, C], [C, D])).toBe(false);
  });
});

describe('the members whose quorum a hub needs', () => {
  it('are every hub it knows of, however long silent, less those that sent forgeries', () => {
    expect(federationMembers(A, [B, C, D, B], new Set([D])).sort()).toEqual([A, B, C]);
    expect(federationMembers(A, [], new Set())).toEqual([A]); // alone
  });

  it('are the allow list when there is one, whatever else it knows', () => {
    expect(federationMembers(A, [B, C, D], new Set(), [B, C]).sort()).toEqual([A, B, C]);
  });

  it('keep a minority cut off for any length of time a minority: it never regains a quorum of itself', () => {
    // Five hubs; D and E cut off. Silence never shrinks their member list, so they never decide.
    const E = 'e'.repeat(32);
    expect(hasQuorum(federationMembers(D, [A, B, C, E], new Set()), [D, E])).toBe(false);
    expect(hasQuorum(federationMembers(A, [B, C, D, E], new Set()), [A, B, C])).toBe(true);
  });
});

describe('the fence', () => {
  it('holds a deciding hub the moment it is out of quorum, and resumes a held one back in quorum', () => {
    expect(fenceAction(true, false)).toBe('hold');
    expect(fenceAction(false, true)).toBe('resume');
    expect(fenceAction(true, true)).toBe('none');
    expect(fenceAction(false, false)).toBe('none');
  });
});

describe('the rank of a task\'s deciders', () => {
  const task = makeTask({ home: B });

  it('puts any hub that took the task over above its home, and the lower of two claimants above the higher', () => {
    expect(outranks(task, A, B)).toBe(true);
    expect(outranks(task, C, B)).toBe(true);
    expect(outranks(task, B, C)).toBe(false); // the home never wins back
    expect(outranks(task, A, C)).toBe(true);
    expect(outranks(task, C, A)).toBe(false);
    expect(outranks(task, A, A)).toBe(false);
  });

  it('is a total order over the candidates: exactly one of two distinct hubs outranks the other', () => {
    for (const x of [A, B, C, D]) for (const y of [A, B, C, D]) if (x !== y) expect(outranks(task, x, y) !== outranks(task, y, x)).toBe(true);
  });
});

describe('voiding a verdict', () => {
  it('reopens a validated task in its round without its result, and an invalid one to validating', () => {
    const validated = makeTask({ home: B, status: 'validated', round: 2, result: { digest: 'd'.repeat(64), stdout: '', exitCode: 0 }, trustScore: 10, reason: 'accepted' });
    const back = reopened(validated, A, 5000);
    expect(back.status).toBe('in_progress');
    expect(back.round).toBe(2);
    expect(back.result).toBeUndefined();
    expect(back.trustScore).toBeUndefined();
    expect(back.transitions.at(-1)).toMatchObject({ status: 'in_progress', at: 5000 });
    expect(reopened(makeTask({ home: B, status: 'invalid' }), A, 1).status).toBe('validating');
    const open = makeTask({ home: B, status: 'in_progress' });
    expect(reopened(open, A, 1)).toBe(open);
  });

  it('takes back the trust steps of a validated decision, and none of a failed one', () => {
    const agents = new Map([
      ['x', makeAgent({ id: 'x', trust: 7 })],
      ['y', makeAgent({ id: 'y', trust: 2 })],
    ]);
    const steps = [
      { agent: 'x', before: 6, after: 7 },
      { agent: 'y', before: 4, after: 2 },
      { agent: 'z', before: 5, after: 6 }, // not known here
    ];
    const reverted = revertTrust({ outcome: 'validated', trust: steps }, (id) => agents.get(id), DEFAULT_PARAMS.trust);
    expect(reverted.map((a) => [a.id, a.trust])).toEqual([
      ['x', 6],
      ['y', 4],
    ]);
    expect(revertTrust({ outcome: 'failed', trust: steps }, (id) => agents.get(id), DEFAULT_PARAMS.trust)).toEqual([]);
    expect(revertTrust(undefined, (id) => agents.get(id), DEFAULT_PARAMS.trust)).toEqual([]);
  });
});
