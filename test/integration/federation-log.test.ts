// The federation log on a real LevelDB: out-of-order arrival, equivocation, paging, the directory,
// and what survives a reopen.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FederationLogStore, LogOutOfOrderError } from '../../hub/federation/index.ts';
import { type LogEntry, logEntryOf } from '../../hub/federation/log-entry.ts';
import { createSigner, keyPairFromSeed, type Signer, Verifier } from '../../keys/index.ts';
import { open, seal } from '../../protocol/index.ts';
import { expectRejection } from '../support/expect-error.ts';

const verifier = new Verifier();
const hubA = createSigner(keyPairFromSeed(new Uint8Array(32).fill(7)));
const hubB = createSigner(keyPairFromSeed(new Uint8Array(32).fill(8)));

function decision(hub: Signer, seq: number, note = 'thesis'): LogEntry {
  const envelope = seal('decision', { taskId: 'cd'.repeat(32), seq, outcome: 'failed', policy: note, digest: null, score: 0, results: [], trust: [] }, hub);
  return logEntryOf(open(envelope, { verifier }));
}

describe('the federation log store', () => {
  let dir: string;
  let store: FederationLogStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dcloud-fedlog-'));
    store = await FederationLogStore.open(dir);
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores a whole sync page in one batch: gaps, duplicates and equivocations answered as one by one', async () => {
    const [two, four] = [decision(hubA, 2), decision(hubA, 4)];
    expect(await store.append(four)).toBe('appended');
    const outcomes = await store.appendMany([decision(hubA, 1), two, two, decision(hubA, 3, 'other'), four, decision(hubA, 2, 'equivocation'), decision(hubB, 2)]);
    expect(outcomes).toEqual(['appended', 'appended', 'duplicate', 'appended', 'duplicate', 'conflict', 'appended']);
    // 1-4 contiguous (4 was held beyond the gap); B has only its second entry.
    expect(store.heads()).toEqual({ [hubA.nodeId]: 4 });
    expect(store.holds(hubA.nodeId, 4)).toBe(true);
    expect(store.holds(hubB.nodeId, 2)).toBe(true);
    expect(store.holds(hubB.nodeId, 1)).toBe(false);
    // A second entry for a seq already held is an equivocation: the first stays.
    expect(await store.appendMany([decision(hubA, 3, 'equivocation')])).toEqual(['conflict']);
    expect(await store.appendMany([])).toEqual([]);
    // The batch is on disk: a reopened log has the same heads and entries.
    await store.close();
    store = await FederationLogStore.open(dir);
    expect(store.heads()).toEqual({ [hubA.nodeId]: 4 });
    expect(store.holds(hubB.nodeId, 2)).toBe(true);
    expect((await store.since(hubA.nodeId, 0, 10, 1e9)).entries.map((e) => (open(e, { verifier }).body as { policy: string }).policy)).toEqual(['thesis', 'thesis', 'other', 'thesis']);
  });

  it('finds an origin\'s last entry that matches, newest first', async () => {
    await store.appendMany([decision(hubA, 1, 'first'), decision(hubA, 2, 'second'), decision(hubB, 1, 'b')]);
    const found = await store.findLast(hubA.nodeId, (p) => p.type === 'decision');
    expect((open(found!, { verifier }).body as { policy: string }).policy).toBe('second');
    expect(await store.findLast(hubA.nodeId, (p) => (p.body as { policy?: string }).policy === 'first')).toEqual((await store.since(hubA.nodeId, 0, 1, 1e9)).entries[0]);
    expect(await store.findLast(hubA.nodeId, () => false)).toBeUndefined();
  });

  it('keeps entries that arrive beyond a gap, and moves the head over them once it closes', async () => {
    expect(await store.append(decision(hubA, 3))).toBe('appended');
    expect(await store.append(decision(hubA, 2))).toBe('appended');
    expect(store.heads()).toEqual({});
    expect(await store.since(hubA.nodeId, 0, 10, 1e9)).toEqual({ entries: [], more: false });
    expect(await store.append(decision(hubA, 1))).toBe('appended');
    expect(store.heads()).toEqual({ [hubA.nodeId]: 3 });
    const page = await store.since(hubA.nodeId, 0, 10, 1e9);
    expect(page.entries.map((e) => (JSON.parse(e.payload) as { body: { seq: number } }).body.seq)).toEqual([1, 2, 3]);
  });

  it('answers a duplicate as such and keeps the first of two entries an origin signed for one seq', async () => {
    const first = decision(hubA, 1, 'first');
    expect(await store.append(first)).toBe('appended');
    expect(await store.append(first)).toBe('duplicate');
    expect(await store.append(decision(hubA, 1, 'second'))).toBe('conflict');
    expect((await store.since(hubA.nodeId, 0, 10, 1e9)).entries).toEqual([first.envelope]);
    expect(await store.has(first.id)).toBe(true);
  });

  it('refuses this hub\'s own entry out of order, and numbers its next entry itself', async () => {
    await expectRejection(store.append(decision(hubA, 2), { own: true }), LogOutOfOrderError, 'FEDERATION_LOG_OUT_OF_ORDER');
    const made = await Promise.all([1, 2, 3].map(() => store.appendNext(hubA.nodeId, (seq) => decision(hubA, seq))));
    expect(made.map((e) => e.seq).sort()).toEqual([1, 2, 3]);
    expect(store.heads()).toEqual({ [hubA.nodeId]: 3 });
  });

  it('pages by count and by bytes, always at least one entry', async () => {
    for (let seq = 1; seq <= 5; seq++) await store.append(decision(hubA, seq));
    const byCount = await store.since(hubA.nodeId, 1, 2, 1e9);
    expect(byCount.entries).toHaveLength(2);
    expect(byCount.more).toBe(true);
    const byBytes = await store.since(hubA.nodeId, 0, 100, 1);
    expect(byBytes.entries).toHaveLength(1);
    expect(byBytes.more).toBe(true);
    expect(await store.since(hubA.nodeId, 3, 100, 1e9)).toMatchObject({ more: false });
    expect((await store.since(hubA.nodeId, 3, 100, 1e9)).entries).toHaveLength(2);
  });

  it('lists the first entry of every origin for the directory, in pages', async () => {
    await store.append(decision(hubA, 1));
    await store.append(decision(hubA, 2));
    await store.append(decision(hubB, 1));
    await store.append(decision(hubB, 3)); // beyond a gap: hubB's head is 1
    const all = await store.firsts(0, 10, 1e9);
    const origins = all.entries.map((e) => open(e, { verifier }).nodeId);
    expect(origins).toEqual([hubA.nodeId, hubB.nodeId].sort());
    expect(all.more).toBe(false);
    const first = await store.firsts(0, 1, 1e9);
    expect(first).toMatchObject({ more: true });
    expect((await store.firsts(1, 1, 1e9)).entries).toEqual([all.entries[1]]);
  });

  it('survives a reopen: entries, heads, the gaps still open, and the hubs it met', async () => {
    await store.append(decision(hubA, 1));
    await store.append(decision(hubA, 3));
    await store.rememberPeer('12D3KooWPeer', ['/ip4/127.0.0.1/tcp/4001']);
    await store.close();
    store = await FederationLogStore.open(dir);
    expect(store.heads()).toEqual({ [hubA.nodeId]: 1 });
    await store.append(decision(hubA, 2));
    expect(store.heads()).toEqual({ [hubA.nodeId]: 3 });
    expect(await store.rememberedPeers()).toEqual([['12D3KooWPeer', ['/ip4/127.0.0.1/tcp/4001']]]);
  });
});
