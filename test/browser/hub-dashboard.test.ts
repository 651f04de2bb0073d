// The hub dashboard in a real browser, served by a real hub process, with a real agent process
// running real containers: totals, a validated task's decision and its votes, a waiting task and
// the hub's reason, agents with trust, live updates without reloading, charts, a narrow screen.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, eventually, startAgentProcess } from '../support/agent-process.ts';
import { OPEN_IMAGE } from '../support/env.ts';
import { HubClient, type HubProcess, startHubProcess } from '../support/test-agent.ts';
import type { TaskView } from '../../hub/engine-types.ts';
import { ensureWebBuilt, fitsWidth, launchBrowser, screenshot, SOON } from './browser.ts';

let dir: string;
let hub: HubProcess;
let hubApi: HubClient;
let agent: AgentProcess;
let browser: Browser;
let page: Page;
let validated: TaskView;
let waiting: TaskView;

/** Submits through the agent's control API (signed with its key). */
async function submit(command: string[], overrides: Record<string, unknown> = {}): Promise<TaskView> {
  const { status, body } = await agent.post('/api/tasks', { image: OPEN_IMAGE, command, minTrust: 0, overlap: 1, cpu: 0.5, ramGb: 0.25, timeoutS: 60, ...overrides });
  expect(status, JSON.stringify(body)).toBe(202);
  return body.task;
}

beforeAll(async () => {
  ensureWebBuilt();
  dir = await mkdtemp(join(tmpdir(), 'dcloud-browser-hub-'));
  hub = await startHubProcess({ dataDir: join(dir, 'hub'), args: ['--tick-ms', '50', '--validation-policy', 'trust-sum', '--heartbeat-timeout-ms', '1500', '--heartbeat-interval-ms', '300'] });
  hubApi = new HubClient(hub.url);
  agent = await startAgentProcess({ hubs: [hub.url], dataDir: join(dir, 'agent'), args: ['--name', 'dashboard-agent'] });
  await eventually('the agent active on the hub', async () => ((await hubApi.agent(agent.nodeId).catch(() => undefined))?.active ? true : undefined));
  const first = await submit(['echo', '7']);
  validated = await eventually('echo 7 validated', async () => {
    const task = await hubApi.task(first.id);
    return task.status === 'validated' ? task : undefined;
  }, 60_000);
  // More cores than any agent has: it waits, and the hub says why.
  const big = await submit(['echo', 'never'], { cpu: 512 });
  waiting = await eventually('the big task waiting with a reason', async () => {
    const task = await hubApi.task(big.id);
    return task.status !== 'validating' && task.reason !== undefined ? task : undefined;
  }, 60_000);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${hub.url}/dashboard`);
  await page.evaluate(() => ((globalThis as { sameDocument?: boolean }).sameDocument = true));
});

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  await hub?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the hub dashboard', () => {
  it('shows the network totals and the agents with trust and last heartbeat', async () => {
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'live' }).count(), SOON).toBe(1);
    await expect.poll(() => page.getByTestId('active-agents').first().textContent(), SOON).toBe('1');
    const row = page.locator(`tr[data-agent="${agent.nodeId}"]`);
    await expect.poll(() => row.textContent(), SOON).toContain('dashboard-agent');
    const text = (await row.textContent())!;
    expect(text).toContain('active');
    expect(text).toContain(String((await hubApi.agent(agent.nodeId)).trust));
    expect(text).toMatch(/\d+ s ago/);
  });

  it('says why a waiting task is not running, in the hub\'s words', async () => {
    const table = page.getByTestId('waiting');
    await expect.poll(() => table.textContent(), SOON).toContain(waiting.id.slice(0, 12));
    expect(await table.textContent()).toContain(waiting.reason);
    expect(waiting.reason).toMatch(/512/);
  });

  it('shows the consensus decision with the votes behind it', async () => {
    const decision = page.locator(`details[data-decision="${validated.id}"]`);
    await expect.poll(() => decision.count(), SOON).toBe(1);
    await decision.locator('summary').click();
    const text = (await decision.textContent())!;
    expect(text).toContain('validated');
    expect(text).toContain(validated.result!.digest);
    expect(text).toContain(`${validated.trustScore} / 10`);
    const votes = decision.locator('tbody tr');
    expect(await votes.count()).toBe(validated.assignments.length);
    const vote = (await votes.first().textContent())!;
    expect(vote).toContain('dashboard-agent');
    expect(vote).toContain('yes');
    await screenshot(page, 'hub-dashboard');
  });

  it('draws tasks per status over time and the trust distribution', async () => {
    const charts = page.locator('figure.chart svg[role="img"]');
    await expect.poll(() => charts.count(), SOON).toBe(2);
    expect(await charts.nth(0).getAttribute('aria-label')).toContain('validated 1');
    expect(await charts.nth(1).getAttribute('aria-label')).toMatch(/: 1(,|$)/);
  });

  it('finds tasks by search and status, and shows a new task live without reloading', async () => {
    const search = page.getByLabel('Search tasks', { exact: true });
    await search.fill('never');
    await expect.poll(() => page.locator('details.card[data-task]').count(), SOON).toBe(1);
    await search.fill('');
    await page.getByLabel('Status', { exact: true }).selectOption('validated');
    await expect.poll(() => page.locator('details.card[data-task]').count(), SOON).toBe(1);
    await page.getByLabel('Status', { exact: true }).selectOption('');

    const fresh = await submit(['echo', 'live-on-the-dashboard']);
    const card = page.locator(`details.card[data-task="${fresh.id}"]`);
    await expect.poll(() => card.locator('summary .badge').textContent(), { ...SOON, timeout: 60_000 }).toBe('validated');
    await expect.poll(() => page.locator(`details[data-decision="${fresh.id}"]`).count(), SOON).toBe(1);
    expect(await page.evaluate(() => (globalThis as { sameDocument?: boolean }).sameDocument)).toBe(true);
  });

  it('shows the agent inactive once it stops', async () => {
    expect((await agent.post('/api/stop')).status).toBe(200);
    const row = page.locator(`tr[data-agent="${agent.nodeId}"]`);
    await expect.poll(() => row.locator('td').nth(2).textContent(), SOON).toBe('inactive');
    await expect.poll(() => page.getByTestId('active-agents').first().textContent(), SOON).toBe('0');
  });

  it('stays readable on a narrow screen', async () => {
    await page.setViewportSize({ width: 380, height: 800 });
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, 'hub-dashboard-narrow');
  });
});
