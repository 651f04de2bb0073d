import { describe, expect, it } from 'vitest';
import { PeerBook } from '../../hub/federation/peer-book.ts';

const policy = { baseMs: 500, maxMs: 30_000, strangerTries: 3 };
const view = (book: PeerBook, id: string) => book.view().find((p) => p.peerId === id);

describe('the federation peer book', () => {
  it('dials a newly learned peer at once, and only once while the dial runs', () => {
    const book = new PeerBook(policy);
    book.learn('p', ['/ip4/10.0.0.1/tcp/4001'], 1000);
    expect(book.due(1000)).toEqual(['p']);
    book.dialStarted('p');
    expect(book.due(1000)).toEqual([]);
    expect(view(book, 'p')).toMatchObject({ status: 'dialing', lastSeen: null, hub: false });
  });

  it('forgets a stranger after its tries, but redials a bootstrap peer forever with a capped backoff', () => {
    const book = new PeerBook(policy);
    book.learn('stranger', [], 0);
    book.learn('boot', ['/ip4/10.0.0.2/tcp/4001'], 0, { bootstrap: true });
    let now = 0;
    const delays: number[] = [];
    for (let failure = 1; failure <= 10; failure++) {
      for (const id of book.due(now)) {
        book.dialStarted(id);
        book.dialFailed(id, now, 0.5);
      }
      const boot = book.view().find((p) => p.peerId === 'boot')!;
      expect(boot.status).toBe('lost');
      const next = [...Array(60_001).keys()].find((dt) => book.due(now + dt).includes('boot'))!;
      delays.push(next);
      now += next;
    }
    expect(view(book, 'stranger')).toBeUndefined();
    // Equal jitter at random = 0.5: three quarters of min(cap, base * 2^(n-1)).
    expect(delays.slice(0, 4)).toEqual([375, 750, 1500, 3000]);
    expect(Math.max(...delays)).toBe(22_500);
  });

  it('keeps a peer that proved to be a hub: lost on disconnect, due again after the backoff', () => {
    const book = new PeerBook(policy);
    book.connected('hub', '/ip4/10.0.0.3/tcp/4001', 5000);
    book.markHub('hub');
    expect(book.due(5000)).toEqual([]);
    book.disconnected('hub', 9000, 0);
    expect(view(book, 'hub')).toMatchObject({ status: 'lost', lastSeen: 9000, hub: true, addrs: ['/ip4/10.0.0.3/tcp/4001'] });
    expect(book.due(9000 + 249)).toEqual([]);
    expect(book.due(9000 + 250)).toEqual(['hub']);
  });

  it('forgets a stranger that disconnects, and counts what a peer sent that was refused', () => {
    const book = new PeerBook(policy);
    book.connected('stranger', undefined, 1);
    book.rejected('stranger');
    book.rejected('stranger');
    expect(view(book, 'stranger')).toMatchObject({ status: 'connected', rejected: 2 });
    book.disconnected('stranger', 2, 0);
    expect(view(book, 'stranger')).toBeUndefined();
  });

  it('a dial that fails after the peer dialled us meanwhile leaves it connected', () => {
    const book = new PeerBook(policy);
    book.learn('p', [], 0, { bootstrap: true });
    book.dialStarted('p');
    book.connected('p', undefined, 10);
    book.dialFailed('p', 11, 0);
    expect(view(book, 'p')?.status).toBe('connected');
    expect(book.due(100_000)).toEqual([]);
  });

  it('merges the addresses it learns for a peer', () => {
    const book = new PeerBook(policy);
    book.learn('p', ['/ip4/1.2.3.4/tcp/1'], 0);
    book.learn('p', ['/ip4/1.2.3.4/tcp/1', '/ip4/10.0.0.9/tcp/1'], 0);
    expect(book.addrsOf('p')).toEqual(['/ip4/1.2.3.4/tcp/1', '/ip4/10.0.0.9/tcp/1']);
  });
});
