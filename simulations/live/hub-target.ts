import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubClient, SignedAgent, sleep, startHubProcess, taskSpec } from './signed-agent.ts';

/**
 * The hub a live run loads: the one at `--hub-url`, or a fresh `dcloud hub` process of its own
 * (`node bin/dcloud.js hub --data TMP --http 127.0.0.1:0 ...`), stopped and its data dir removed
 * when the run ends.
 */
export interface HubTarget {
  client: HubClient;
  url: string;
  /** Whether this run started the hub (its flags then match the scenario's). */
  spawned: boolean;
  close(): Promise<void>;
}

export async function openHub(options: { url: string; args: readonly string[] }): Promise<HubTarget> {
  if (options.url !== '') {
    const client = new HubClient(options.url.replace(/\/+$/, ''));
    // Fail early, with the address in the message, if nothing answers there.
    try {
      await client.hubKey();
    } catch (err) {
      throw new Error(`no dcloud hub answers at ${options.url}: ${(err as Error).message}`, { cause: err });
    }
    return { client, url: client.url, spawned: false, close: async () => {} };
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'dcloud-sim-live-'));
  try {
    const hub = await startHubProcess({ dataDir, args: ['--log-level', 'error', ...options.args] });
    return {
      client: new HubClient(hub.url),
      url: hub.url,
      spawned: true,
      async close() {
        await hub.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** The flags every spawned hub gets: no rate limits (one process speaks for many agents), the image check cached. */
export function commonHubArgs(timeScale: number): string[] {
  const ms = (virtualMs: number): string => String(Math.max(10, Math.round(virtualMs * timeScale)));
  return [
    '--rate-limit-address', '0',
    '--rate-limit-key', '0',
    '--image-cache-ms', '3600000',
    '--validation-policy', 'trust-sum',
    '--heartbeat-interval-ms', ms(30_000),
    '--heartbeat-timeout-ms', ms(120_000),
    '--assignment-grace-ms', ms(60_000),
    '--freshness-ms', '600000',
  ];
}

/** The image live tasks run (the stand-in executor never starts it; the hub validates it). */
export const LIVE_IMAGE = 'dcloud-test/busybox:1';

/**
 * Has the hub validate the live image once before the clock starts, so that its first pull is not
 * counted as the tasks' queue wait (the virtual hub validates at once). The probe asks for more
 * cores than any agent has: it is parked as never fitting, and never runs.
 */
export async function warmImage(client: HubClient, timeoutMs = 120_000): Promise<void> {
  const probe = new SignedAgent(client, { name: 'sim-image-probe' });
  const view = await probe.submitTask(taskSpec({ image: LIVE_IMAGE, command: ['echo', 'probe'], cpu: 1024, ramGb: 1, minTrust: 0, overlap: 1 }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await client.task(view.id);
    if (task.status === 'invalid') throw new Error(`the hub refused the live image ${LIVE_IMAGE}: ${task.reason ?? 'invalid'} (scripts/bootstrap.sh builds it)`);
    if (task.status !== 'validating') return;
    if (Date.now() > deadline) throw new Error(`the hub did not validate the live image ${LIVE_IMAGE} within ${timeoutMs} ms`);
    await sleep(50);
  }
}
