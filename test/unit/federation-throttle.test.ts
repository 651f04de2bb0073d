// The per-peer pacing of the sync protocol a hub serves: a token bucket and a cap on open sessions.
import { describe, expect, it } from 'vitest';
import { SyncThrottle } from '../../hub/federation/throttle.ts';

const limits = { perSecond: 10, burst: 3, maxWaitMs: 250, sessions: 2 };

describe('the sync throttle', () => {
  it('serves a burst at once, then paces a peer to its rate, then refuses what would wait too long', () => {
    const t = new SyncThrottle(limits);
    for (let i = 0; i < 3; i++) expect(t.request('p', 0)).toEqual({ admit: true, waitMs: 0 });
    expect(t.request('p', 0)).toEqual({ admit: true, waitMs: 100 });
    expect(t.request('p', 0)).toEqual({ admit: true, waitMs: 200 });
    expect(t.request('p', 0)).toEqual({ admit: false }); // 300 ms > 250
    expect(t.request('p', 300)).toEqual({ admit: true, waitMs: 0 }); // the two tokens owed were paid meanwhile
    expect(t.counts().p).toEqual({ served: 6, delayed: 2, refused: 1 });
  });

  it('keeps each peer\'s bucket apart: one peer\'s hammering costs the others nothing', () => {
    const t = new SyncThrottle(limits);
    for (let i = 0; i < 10; i++) t.request('hammer', 0);
    expect(t.request('other', 0)).toEqual({ admit: true, waitMs: 0 });
  });

  it('refills over time up to the burst, no more', () => {
    const t = new SyncThrottle(limits);
    for (let i = 0; i < 3; i++) t.request('p', 0);
    for (let i = 0; i < 3; i++) expect(t.request('p', 60_000).admit && t.counts().p!.delayed).toBe(0);
    expect(t.request('p', 60_000)).toEqual({ admit: true, waitMs: 100 });
  });

  it('lets a peer have so many sessions open at once', () => {
    const t = new SyncThrottle(limits);
    expect(t.open('p', 0)).toBe(true);
    expect(t.open('p', 0)).toBe(true);
    expect(t.open('p', 0)).toBe(false);
    expect(t.open('q', 0)).toBe(true);
    t.close('p');
    expect(t.open('p', 0)).toBe(true);
    expect(t.counts().p!.refused).toBe(1);
  });

  it('forgets idle peers only past the number it keeps', () => {
    const t = new SyncThrottle(limits);
    t.request('a', 0);
    t.request('b', 0);
    t.prune(10_000, 5);
    expect(Object.keys(t.counts())).toEqual(['a', 'b']);
    t.prune(10_000, 1);
    expect(Object.keys(t.counts())).toEqual([]);
  });
});
