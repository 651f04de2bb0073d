// The volunteer's page in a real browser, served by a real agent process working for a real hub
// process, running real containers: register, stop and start, a refused form, and `echo 42`
// followed live to its validated result.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from '../support/agent-process.ts';
import { OPEN_IMAGE } from '../support/env.ts';
import { HubClient, type HubProcess, startHubProcess } from '../support/test-agent.ts';
import { type Browserish, ensureWebBuilt, fitsWidth, launchBrowser, screenshot, SOON } from './browser.ts';

let dir: string;
let hub: HubProcess;
let hubApi: HubClient;
let agent: AgentProcess;
let browser: Browser;
let page: Page;
/** Every request the page made to the agent's task route, by method. */
const taskPosts: string[] = [];

beforeAll(async () => {
  ensureWebBuilt();
  dir = await mkdtemp(join(tmpdir(), 'dcloud-browser-agent-'));
  // A short heartbeat timeout, so that a stopped agent is marked inactive within moments.
  hub = await startHubProcess({ dataDir: join(dir, 'hub'), args: ['--tick-ms', '50', '--validation-policy', 'trust-sum', '--heartbeat-timeout-ms', '1500', '--heartbeat-interval-ms', '300'] });
  hubApi = new HubClient(hub.url);
  agent = await startAgentProcess({ hubs: [hub.url], dataDir: join(dir, 'agent'), args: ['--name', 'before-the-page'] });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/api/tasks' && request.method() === 'POST') taskPosts.push(request.postData() ?? '');
  });
  await page.goto(`${agent.controlUrl}/`);
  // Marks this document: a reload would lose it.
  await page.evaluate(() => ((globalThis as { sameDocument?: boolean }).sameDocument = true));
});

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  await hub?.stop();
  await rm(dir, { recursive: true, force: true });
});

const stillSameDocument = () => page.evaluate(() => (globalThis as { sameDocument?: boolean }).sameDocument === true);

describe('the agent page', () => {
  it('shows the agent live, and registers it under a new name from the keyboard', async () => {
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'live' }).count(), SOON).toBe(1);
    await expect.poll(() => page.getByTestId('working-state').textContent(), SOON).toBe('working');
    await expect.poll(() => page.getByTestId('hub-active').textContent(), SOON).toBe('active');
    // Its identity, resources and trust as the agent and hub report them.
    await expect.poll(() => page.locator('header').textContent(), SOON).toContain(agent.nodeId);
    const trust = (await hubApi.agent(agent.nodeId)).trust;
    await expect.poll(() => page.getByTestId('hub-trust').textContent(), SOON).toBe(String(trust));

    const name = page.getByLabel('Name', { exact: true });
    await name.fill('browser-volunteer');
    await name.press('Enter');
    await expect.poll(() => page.locator('header h1').textContent(), SOON).toBe('dcloud agent: browser-volunteer');
    // The page shows the agent's own name at once; the hub learns it when the registration lands.
    await expect.poll(async () => (await hubApi.agent(agent.nodeId)).name, SOON).toBe('browser-volunteer');
    await screenshot(page, 'agent-page-registered');
  });

  it('stops (the hub then marks it inactive) and starts again', async () => {
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => page.getByTestId('working-state').textContent(), SOON).toBe('stopped');
    // The hub's verdict arrives through the relayed event stream, not from the agent.
    await expect.poll(() => page.getByTestId('hub-active').textContent(), SOON).toBe('inactive');
    expect((await hubApi.agent(agent.nodeId)).active).toBe(false);
    expect((await agent.status()).working).toBe(false);
    await screenshot(page, 'agent-page-stopped');

    await page.getByRole('button', { name: 'Start' }).click();
    await expect.poll(() => page.getByTestId('working-state').textContent(), SOON).toBe('working');
    await expect.poll(() => page.getByTestId('hub-active').textContent(), SOON).toBe('active');
    expect((await hubApi.agent(agent.nodeId)).active).toBe(true);
  });

  it('labels every field of the task form and gives each a tooltip', async () => {
    for (const label of ['Image', 'Command', 'CPU (cores)', 'RAM (GB)', 'Minimum trust', 'Overlap', 'Timeout (s)', 'Registry user', 'Registry password']) {
      const field = page.getByLabel(label, { exact: true });
      expect(await field.count(), label).toBe(1);
      expect((await field.getAttribute('title'))?.length ?? 0, label).toBeGreaterThan(10);
      // The tooltip shows when the field has the keyboard's focus.
      await field.focus();
      const tip = page.locator(`#${await field.getAttribute('id')}-tip`);
      expect(await tip.isVisible(), label).toBe(true);
    }
  });

  it('refuses invalid input with the field\'s message and sends nothing', async () => {
    await page.getByLabel('Image', { exact: true }).fill(OPEN_IMAGE);
    await page.getByLabel('Command', { exact: true }).fill('echo "unclosed');
    await page.getByLabel('CPU (cores)', { exact: true }).fill('0');
    await page.getByLabel('Registry user', { exact: true }).fill('someone');
    await page.getByRole('button', { name: 'Submit task' }).click();

    await expect.poll(() => page.locator('#task-cpu-error').textContent(), SOON).toBe('CPU must be more than 0 cores');
    expect(await page.locator('#task-command-error').textContent()).toBe('Command: a double quote is not closed');
    expect(await page.locator('#task-registryPassword-error').textContent()).toBe('A registry user needs its password');
    expect(await page.getByLabel('CPU (cores)', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByTestId('submit-outcome').textContent()).toContain('Not sent');
    // The keyboard is taken to the first field to fix.
    expect(await page.evaluate(() => (globalThis as unknown as Browserish).document.activeElement?.id)).toBe('task-command');
    await screenshot(page, 'agent-page-invalid-form');

    expect(taskPosts).toEqual([]);
    expect((await hubApi.request('GET', '/v1/tasks')).body).toEqual({ tasks: [] });
  });

  it('submits `echo 42` through the agent and follows its card to validated with result 42, without reloading', async () => {
    await page.getByLabel('Command', { exact: true }).fill('echo 42');
    await page.getByLabel('CPU (cores)', { exact: true }).fill('0.5');
    await page.getByLabel('RAM (GB)', { exact: true }).fill('0.25');
    await page.getByLabel('Minimum trust', { exact: true }).fill('0');
    await page.getByLabel('Overlap', { exact: true }).fill('1');
    await page.getByLabel('Timeout (s)', { exact: true }).fill('60');
    await page.getByLabel('Registry user', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Submit task' }).click();

    await expect.poll(() => page.getByTestId('submit-outcome').textContent(), SOON).toMatch(/^Submitted: task [0-9a-f]{12} is /);
    expect(taskPosts).toHaveLength(1);
    const card = page.locator('details.card').first();
    const taskId = await card.getAttribute('data-task');
    // Signed with the agent's key: the hub records the agent as the submitter.
    const submitted = await hubApi.task(taskId!);
    expect(submitted.submitter).toBe(agent.nodeId);
    expect(submitted.spec).toMatchObject({ image: OPEN_IMAGE, command: ['echo', '42'], cpu: 0.5, ramGb: 0.25, minTrust: 0, overlap: 1, timeoutS: 60 });

    await expect.poll(() => card.locator('summary .badge').textContent(), { ...SOON, timeout: 60_000 }).toBe('validated');
    await card.locator('summary').click();
    expect((await card.locator('pre.result').textContent())?.trim()).toBe('42');
    const body = (await card.textContent()) ?? '';
    for (const shown of ['Trust score', 'Transitions', 'Container', 'Constraints', OPEN_IMAGE, '["echo","42"]', 'Copy result']) expect(body).toContain(shown);
    // A time for every transition the hub recorded.
    const task = await hubApi.task(taskId!);
    expect(task.status).toBe('validated');
    expect(await card.locator('ol.transitions li').count()).toBe(task.transitions.length);
    expect(await stillSameDocument()).toBe(true);

    await card.getByRole('button', { name: 'Copy result' }).click();
    await expect.poll(() => card.getByRole('status').textContent(), SOON).toMatch(/Copied|Could not copy/);
    // The last task, as the agent ran it.
    await expect.poll(() => page.getByTestId('last-task').textContent(), SOON).toContain('echo 42');
    await screenshot(page, 'agent-page-validated');
  });

  it('shows the hub\'s own message when the hub refuses a task', async () => {
    await page.getByLabel('Image', { exact: true }).fill('127.0.0.1:5000/dcloud/no-such-image:1');
    await page.getByLabel('Command', { exact: true }).fill('true');
    await page.getByRole('button', { name: 'Submit task' }).click();
    // Accepted, then found invalid by the hub's image check: its reason is the hub's.
    const card = page.locator('details.card', { hasText: 'true' }).first();
    await expect.poll(() => card.locator('summary .badge').textContent(), { ...SOON, timeout: 60_000 }).toBe('invalid');
    await card.locator('summary').click();
    const id = (await card.getAttribute('data-task'))!;
    const reason = (await hubApi.task(id)).reason!;
    expect(reason.length).toBeGreaterThan(0);
    expect(await card.textContent()).toContain(reason);
  });

  it('shows the network and stays readable on a narrow screen', async () => {
    await expect.poll(() => page.getByTestId('net-active').textContent(), SOON).toBe('1');
    await page.setViewportSize({ width: 380, height: 800 });
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, 'agent-page-narrow');
    expect(await stillSameDocument()).toBe(true);
  });

  it('says so, in the words of the failure, when its hub goes away', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await hub.stop();
    // The relayed stream broke: the page says why, without being asked.
    await expect.poll(() => page.getByTestId('hub-error').textContent(), SOON).toContain(`hub ${hub.url}`);
    await page.getByLabel('Image', { exact: true }).fill(OPEN_IMAGE);
    await page.getByLabel('Command', { exact: true }).fill('echo too-late');
    await page.getByRole('button', { name: 'Submit task' }).click();
    await expect.poll(() => page.getByTestId('submit-outcome').textContent(), SOON).toBe(`Not submitted: hub ${hub.url} is unreachable: ECONNREFUSED`);
    await screenshot(page, 'agent-page-hub-gone');
  });
});
