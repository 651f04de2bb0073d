import { describe, expect, it } from 'vitest';
import { ConfigError, resolveHubConfig } from '../../hub/config.ts';

const PEER = '12D3KooWGzh3vZ8FdW1RrHQvLJfuE7ZU4ZbjvoAm8QD3jk8W4Qc6';

describe('hub configuration: the federation', () => {
  it('runs alone by default, with a minute of lease', () => {
    const { federation } = resolveHubConfig({ flags: {}, env: {} });
    expect(federation).toEqual({ listen: [], bootstrap: [], peerAllow: [], announce: [], syncIntervalMs: 30_000, leaseMs: 60_000 });
  });

  it('takes lists from a repeated flag, a comma-separated variable or a JSON array, flags first', () => {
    const file = { name: 'hub.json', json: { federation: { listen: ['/ip4/0.0.0.0/tcp/4001'], bootstrap: ['/ip4/10.0.0.2/tcp/4001/p2p/X'], leaseMs: 5000 } } };
    const fromFile = resolveHubConfig({ flags: {}, env: {}, file });
    expect(fromFile.federation.listen).toEqual(['/ip4/0.0.0.0/tcp/4001']);
    expect(fromFile.federation.leaseMs).toBe(5000);
    const env = { DCLOUD_HUB_BOOTSTRAP: ' /ip4/10.0.0.3/tcp/1/p2p/Y , /ip4/10.0.0.4/tcp/1/p2p/Z ', DCLOUD_HUB_PEER_ALLOW: PEER };
    const fromEnv = resolveHubConfig({ flags: {}, env, file });
    expect(fromEnv.federation.bootstrap).toEqual(['/ip4/10.0.0.3/tcp/1/p2p/Y', '/ip4/10.0.0.4/tcp/1/p2p/Z']);
    expect(fromEnv.federation.peerAllow).toEqual([PEER]);
    // What the CLI hands over for `--listen a --listen b`.
    const fromFlags = resolveHubConfig({ flags: { listen: '/ip4/127.0.0.1/tcp/1,/ip4/127.0.0.1/tcp/2', 'lease-ms': '2000' }, env, file });
    expect(fromFlags.federation.listen).toEqual(['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2']);
    expect(fromFlags.federation.leaseMs).toBe(2000);
  });

  it('refuses a list that is not one, and a lease too short to tell silence from a slow link', () => {
    expect(() => resolveHubConfig({ flags: {}, env: {}, file: { name: 'h.json', json: { federation: { bootstrap: '/ip4/1.2.3.4/tcp/1' } } } })).toThrow(/federation\.bootstrap: must be a list/);
    expect(() => resolveHubConfig({ flags: {}, env: {}, file: { name: 'h.json', json: { federation: { listen: ['a b'] } } } })).toThrow(ConfigError);
    expect(() => resolveHubConfig({ flags: { 'lease-ms': '10' }, env: {} })).toThrow(/--lease-ms: must be between 500/);
  });
});
