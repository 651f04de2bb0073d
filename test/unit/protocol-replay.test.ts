import { describe, expect, it } from 'vitest';
import { ReplayGuard } from '../../protocol/replay.ts';

const signer = 'ab'.repeat(32);
const other = 'cd'.repeat(32);

describe('ReplayGuard', () => {
  it('accepts a (signer, nonce) pair once within the window', () => {
    const guard = new ReplayGuard({ windowMs: 1_000 });
    expect(guard.remember(signer, 'n1', 0, 0)).toBe(true);
    expect(guard.remember(signer, 'n1', 0, 999)).toBe(false);
    expect(guard.remember(signer, 'n2', 0, 999)).toBe(true);
    expect(guard.remember(other, 'n1', 0, 999)).toBe(true);
  });

  it('forgets a pair once an envelope carrying it could no longer be fresh', () => {
    const guard = new ReplayGuard({ windowMs: 1_000 });
    guard.remember(signer, 'n1', 0, 0);
    expect(guard.remember(signer, 'n1', 0, 1_000)).toBe(true);
  });

  it('keeps a future-dated pair until its own date plus the window', () => {
    const guard = new ReplayGuard({ windowMs: 1_000 });
    guard.remember(signer, 'n1', 5_000, 0);
    expect(guard.remember(signer, 'n1', 5_000, 5_999)).toBe(false);
    expect(guard.remember(signer, 'n1', 5_000, 6_000)).toBe(true);
  });

  it('bounds its memory by what one window holds', () => {
    const guard = new ReplayGuard({ windowMs: 1_000 });
    for (let t = 0; t < 10_000; t++) guard.remember(signer, `n${t}`, t, t);
    // Entries expire after 1,000 ms and are swept every 250 ms.
    expect(guard.size).toBeGreaterThanOrEqual(1_000);
    expect(guard.size).toBeLessThanOrEqual(1_250);
  });

  it('defaults to a window covering the default freshness limits (120 s old, 30 s ahead)', () => {
    const guard = new ReplayGuard();
    guard.remember(signer, 'n1', 30_000, 0);
    expect(guard.remember(signer, 'n1', 30_000, 149_999)).toBe(false);
  });
});
