import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { MetricsRegister } from '@libp2p/gossipsub/metrics';
import { createFederation, type Federation, FederationLogStore } from '../hub/federation/index.ts';
import { createSigner, generateKeyPair, Verifier } from '../keys/index.ts';
import { type Envelope, seal } from '../protocol/index.ts';
import { type BenchResult, median, result, round } from './lib.ts';

export const description =
  'a task.announce from one of 10 in-process hubs (loopback, each bootstrapped to one other) reaching all of them; value = p99 ms; also gossip bytes per heartbeat per hub';

/** Counts gossipsub's RPC bytes; every other metric it registers is discarded. */
class ByteCounter implements MetricsRegister {
  sent = 0;
  received = 0;

  gauge(config: { name: string }) {
    const add = (...args: unknown[]) => {
      const value = typeof args[0] === 'number' ? args[0] : typeof args[1] === 'number' ? args[1] : 1;
      if (config.name === 'gossipsub_rpc_sent_bytes_total') this.sent += value;
      if (config.name === 'gossipsub_rpc_recv_bytes_total') this.received += value;
    };
    return { inc: add, set: () => {}, addCollect: () => {} } as never;
  }

  histogram() {
    return { startTimer: () => () => {}, observe: () => {}, reset: () => {} } as never;
  }

  avgMinMax() {
    return { set: () => {} } as never;
  }
}

interface BenchHub {
  fed: Federation;
  store: FederationLogStore;
  dir: string;
  bytes: ByteCounter;
  /** Content id to arrival time (performance.now()) and path. */
  arrivals: Map<string, { at: number; via: 'gossip' | 'sync' }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`fed-propagation: timed out waiting for ${what}`);
    await sleep(20);
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function run(args: readonly string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      hubs: { type: 'string', default: '10' },
      messages: { type: 'string', default: '300' },
      'interval-ms': { type: 'string', default: '20' },
      heartbeats: { type: 'string', default: '200' },
    },
  });
  const hubCount = Number(values.hubs);
  const messages = Number(values.messages);
  const intervalMs = Number(values['interval-ms']);
  const heartbeatCount = Number(values.heartbeats);

  const hubs: BenchHub[] = [];
  const submitter = createSigner(generateKeyPair());
  try {
    // A sparse start: hub i knows only hub i-1. Everything else is found through the DHT.
    for (let i = 0; i < hubCount; i++) {
      const dir = await mkdtemp(join(tmpdir(), `dcloud-bench-fed-${i}-`));
      const store = await FederationLogStore.open(dir);
      const bytes = new ByteCounter();
      const arrivals = new Map<string, { at: number; via: 'gossip' | 'sync' }>();
      const bootstrap = i === 0 ? [] : [hubs[i - 1]!.fed.info().multiaddrs[0]!];
      const fed = createFederation(
        {
          store,
          verifier: new Verifier(),
          identity: generateKeyPair(),
          onMessage: (opened, from) => {
            arrivals.set(opened.id, { at: performance.now(), via: from.via });
            return 'accept';
          },
        },
        { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, gossipMetrics: bytes },
      );
      await fed.start();
      hubs.push({ fed, store, dir, bytes, arrivals });
    }
    process.stderr.write(`fed-propagation: ${hubCount} hubs started; waiting for the mesh\n`);

    // Ready when a heartbeat from every hub reaches every other one.
    const agent = createSigner(generateKeyPair());
    const beat = (): Envelope => seal('agent.heartbeat', { total: { cpu: 4, ramGb: 8 }, free: { cpu: 2, ramGb: 4 }, running: [] }, agent);
    await until('the gossip mesh', () => hubs.every((h) => h.fed.info().peers.some((p) => p.status === 'connected' && p.hub)), 30_000);
    for (let round = 0; ; round++) {
      const probes = await Promise.all(hubs.map((h) => h.fed.publish(beat())));
      await sleep(500);
      if (probes.every((probe, i) => hubs.every((h, j) => i === j || h.arrivals.has(probe.id)))) break;
      if (round > 60) throw new Error('fed-propagation: the mesh never formed');
    }
    const connections = hubs.map((h) => h.fed.info().peers.filter((p) => p.status === 'connected').length);
    process.stderr.write(`fed-propagation: mesh ready, connections per hub ${connections.join(' ')}; ${messages} announcements every ${intervalMs} ms\n`);

    // Announcements, publishers in turn.
    const sent: Array<{ id: string; from: number; at: number }> = [];
    for (let k = 0; k < messages; k++) {
      const from = k % hubCount;
      const task = seal('task.spec', { image: 'busybox', command: ['echo', String(k)], cpu: 1, ramGb: 0.5, minTrust: 0, overlap: 1, timeoutS: 60 }, submitter);
      const at = performance.now();
      const out = await hubs[from]!.fed.originate('task.announce', { task, home: hubs[from]!.fed.nodeId });
      sent.push({ id: out.id, from, at });
      await sleep(intervalMs);
    }
    await until('every announcement at every hub', () => sent.every((s) => hubs.every((h, j) => j === s.from || h.arrivals.has(s.id))), 60_000);
    const toAll: number[] = [];
    const perDelivery: number[] = [];
    let viaSync = 0;
    for (const s of sent) {
      let worst = 0;
      hubs.forEach((h, j) => {
        if (j === s.from) return;
        const arrival = h.arrivals.get(s.id)!;
        if (arrival.via === 'sync') viaSync++;
        perDelivery.push(arrival.at - s.at);
        worst = Math.max(worst, arrival.at - s.at);
      });
      toAll.push(worst);
    }
    toAll.sort((x, y) => x - y);
    perDelivery.sort((x, y) => x - y);

    // Gossip bytes per heartbeat: gossipsub RPC bytes (before Noise and Yamux framing) sent by all
    // hubs in a window holding the heartbeats and the IHAVE gossip that trails them, less what an
    // equal idle window costs, per heartbeat and per hub. The idle window starts once the
    // announcements' trailing gossip is over (the message cache keeps ids for a few heartbeats).
    const sentBytes = () => hubs.reduce((sum, h) => sum + h.bytes.sent, 0);
    const trailMs = 6000;
    const window = Math.max(2000, heartbeatCount * 10) + trailMs;
    await sleep(trailMs);
    let base = sentBytes();
    await sleep(window);
    const idle = sentBytes() - base;
    base = sentBytes();
    const started = performance.now();
    const beats: string[] = [];
    for (let k = 0; k < heartbeatCount; k++) {
      beats.push((await hubs[k % hubCount]!.fed.publish(beat())).id);
      await sleep(5);
    }
    await until('every heartbeat at every hub', () => beats.every((id, k) => hubs.every((h, j) => j === k % hubCount || h.arrivals.has(id))), 30_000);
    const rest = window - (performance.now() - started);
    if (rest > 0) await sleep(rest);
    const busy = sentBytes() - base;
    const perHeartbeatPerHub = (busy - idle) / heartbeatCount / hubCount;
    const envelopeBytes = Buffer.byteLength(JSON.stringify(beat()));

    const p50 = percentile(toAll, 50);
    const p99 = percentile(toAll, 99);
    process.stderr.write(`fed-propagation: to all hubs p50 ${round(p50)} ms, p99 ${round(p99)} ms; ${round(perHeartbeatPerHub)} gossip bytes per heartbeat per hub (envelope ${envelopeBytes} B)\n`);
    return result(
      { bench: 'fed-propagation', value: round(p99), unit: 'ms', goal: 1000, better: 'lower' },
      {
        p50: round(p50),
        max: round(toAll[toAll.length - 1]!),
        deliveryP50: round(median(perDelivery)),
        deliveryP99: round(percentile(perDelivery, 99)),
        hubs: hubCount,
        announcements: messages,
        intervalMs,
        connectionsPerHub: round(median(connections)),
        deliveriesViaSync: viaSync,
        heartbeats: heartbeatCount,
        heartbeatEnvelopeBytes: envelopeBytes,
        gossipBytesPerHeartbeatPerHub: round(perHeartbeatPerHub),
        idleGossipBytesPerHubPerSecond: round(idle / hubCount / (window / 1000)),
      },
    );
  } finally {
    await Promise.allSettled(hubs.map((h) => h.fed.stop()));
    await Promise.allSettled(hubs.map((h) => h.store.close()));
    await Promise.allSettled(hubs.map((h) => rm(h.dir, { recursive: true, force: true })));
  }
}
