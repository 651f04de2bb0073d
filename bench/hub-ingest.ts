import { verify as cryptoVerify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { publicKeyObject } from '../keys/index.ts';
import { signedBytes } from '../protocol/index.ts';
import { startHubProcess, TestAgent } from '../test/support/test-agent.ts';
import { LoadClient, statusCounts } from './http-load.ts';
import { type BenchResult, cpuSeconds, median, result, round, timeLoop } from './lib.ts';

export const description =
  'signed heartbeats accepted per second over HTTP on loopback from 10,000 registered agents (hub in its own process) vs raw node:crypto verifies per second; value = ratio';

export async function run(args: readonly string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      agents: { type: 'string', default: '10000' },
      connections: { type: 'string', default: '32' },
      'per-agent': { type: 'string', default: '6' },
      ms: { type: 'string', default: '8000' },
    },
  });
  const agentCount = Number(values.agents);
  const connections = Number(values.connections);
  const perAgent = Number(values['per-agent']);
  const runMs = Number(values.ms);

  const dataDir = await mkdtemp(join(tmpdir(), 'dcloud-bench-ingest-'));
  // Default limits on purpose: they must let 10,000 agents through one loopback address.
  const hub = await startHubProcess({ dataDir, args: ['--log-level', 'error'] });
  const load = new LoadClient(hub.url);
  try {
    process.stderr.write(`hub-ingest: registering ${agentCount} agents at ${hub.url}\n`);
    const agents = Array.from({ length: agentCount }, (_, i) => new TestAgent(hub.url, { name: `bench-${i}`, resources: { cpu: 4, ramGb: 8 } }));
    const registered = await load.run('/v1/agents/register', agents.map((a) => JSON.stringify(a.registerEnvelope())), { connections, ms: 600_000, okStatus: 201 });
    if ((registered.statuses.get(201) ?? 0) !== agentCount) throw new Error(`registration answered ${JSON.stringify(statusCounts(registered.statuses))}`);

    // Pre-signed, pre-serialized, agent after agent (round-robin), each envelope fresh.
    process.stderr.write(`hub-ingest: signing ${agentCount * perAgent} heartbeats\n`);
    const bodies: string[] = [];
    for (let k = 0; k < perAgent; k++) for (const agent of agents) bodies.push(JSON.stringify(agent.heartbeatEnvelope()));

    // The raw side: the same kind of bytes, verified with a cached KeyObject, in this process.
    const sample = agents[0]!.heartbeatEnvelope();
    const rawBytes = signedBytes('agent.heartbeat', sample.payload);
    const rawSig = Buffer.from(sample.sig, 'hex');
    const key = publicKeyObject(agents[0]!.signer.publicKey);
    const rawRate = () => timeLoop(() => {
      if (!cryptoVerify(null, rawBytes, key, rawSig)) throw new Error('raw verify failed');
    }, 1000).perSecond;

    const rawBefore = rawRate();
    process.stderr.write(`hub-ingest: ${Math.round(rawBefore)} raw verifies/s; sending heartbeats for up to ${runMs} ms over ${connections} connections\n`);
    const hubCpuBefore = await cpuSeconds(hub.child.pid!);
    const ingest = await load.run('/v1/agents/heartbeat', bodies, { connections, ms: runMs, okStatus: 200 });
    const hubCpuAfter = await cpuSeconds(hub.child.pid!);
    const accepted = ingest.statuses.get(200) ?? 0;
    const rawAfter = rawRate();
    const raw = median([rawBefore, rawAfter]);
    if (ingest.sent === bodies.length) process.stderr.write('hub-ingest: ran out of pre-signed heartbeats before the time was up; raise --per-agent\n');

    return result(
      { bench: 'hub-ingest', value: round(ingest.okPerSecond / raw, 3), unit: 'ratio', goal: 0.5 },
      {
        acceptedPerSecond: Math.round(ingest.okPerSecond),
        // CPU the hub process spent per accepted heartbeat vs one raw verify: the hub's cost
        // whatever else runs on the machine (the ratio above also depends on a free core).
        hubCpuUsPerHeartbeat: Math.round(((hubCpuAfter.own - hubCpuBefore.own) * 1e6) / accepted),
        // Of which on the event loop's thread, which bounds the throughput (signatures are
        // verified on the thread pool, in parallel).
        hubMainThreadUsPerHeartbeat: Math.round(((hubCpuAfter.mainThread - hubCpuBefore.mainThread) * 1e6) / accepted),
        rawVerifyUs: Math.round(1e6 / raw),
        rawVerifiesPerSecond: Math.round(raw),
        statuses: statusCounts(ingest.statuses),
        agents: agentCount,
        connections,
        ms: Math.round(ingest.ms),
        hub: 'separate process (bin/dcloud.js hub), default rate limits',
      },
    );
  } finally {
    load.close();
    await hub.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
