// The dashboard of a hub in a federation of two real hub processes (libp2p on 127.0.0.1): its
// peer, the addresses to bootstrap from, and the federation's totals beside its own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FederationView } from '../../hub/federation-bridge.ts';
import { expectStatus, HubClient, type HubProcess, startHubProcess } from '../support/test-agent.ts';
import { ensureWebBuilt, launchBrowser, screenshot, SOON } from './browser.ts';

let dir: string;
const hubs: HubProcess[] = [];
let first: FederationView;
let second: FederationView;
let browser: Browser;
let page: Page;

async function federation(hub: HubProcess): Promise<FederationView> {
  return expectStatus('GET /v1/federation', await new HubClient(hub.url).get<FederationView>('/v1/federation'), 200);
}

beforeAll(async () => {
  ensureWebBuilt();
  dir = await mkdtemp(join(tmpdir(), 'dcloud-browser-fed-'));
  const args = ['--tick-ms', '50', '--validation-policy', 'trust-sum', '--sync-interval-ms', '1000', '--listen', '/ip4/127.0.0.1/tcp/0'];
  hubs.push(await startHubProcess({ dataDir: join(dir, 'a'), args }));
  first = await federation(hubs[0]!);
  hubs.push(await startHubProcess({ dataDir: join(dir, 'b'), args: [...args, '--bootstrap', first.multiaddrs[0]!] }));
  second = await federation(hubs[1]!);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${hubs[0]!.url}/dashboard`);
});

afterAll(async () => {
  await browser?.close();
  for (const hub of hubs) await hub.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the dashboard of a federated hub', () => {
  it('lists its peer hub, connected, and its own addresses to bootstrap from', async () => {
    const panel = page.locator('section[aria-labelledby="h-federation"]');
    await expect.poll(() => panel.textContent(), SOON).toContain(first.multiaddrs[0]!);
    const peer = panel.locator('tbody tr', { hasText: second.peerId.slice(0, 16) });
    // The page re-reads the federation after changes; a reload-free wait for the connection.
    await expect.poll(async () => (await peer.count()) === 1 && (await peer.textContent())!.includes('connected'), { ...SOON, timeout: 30_000 }).toBe(true);
    expect(await peer.textContent()).toContain(second.nodeId.slice(0, 12));
    await expect.poll(() => page.locator('section[aria-labelledby="h-totals"]').textContent(), { ...SOON, timeout: 30_000 }).toContain('Whole federation (2 hubs)');
    await screenshot(page, 'hub-dashboard-federation');
  });
});
