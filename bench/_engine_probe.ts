import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { createHubEngine } from '../hub/engine.ts';
import { TestAgent } from '../test/support/test-agent.ts';
const dataDir = await mkdtemp(join(tmpdir(), 'eprobe-'));
const engine = createHubEngine({ docker: new Dockerode() }, { dataDir, tickMs: 0, validationConcurrency: 1, freshness: { maxAgeMs: 120000, maxSkewMs: 30000 } });
await engine.start();
const agents = Array.from({ length: 2000 }, (_, i) => new TestAgent('http://x', { name: `p${i}` }));
for (const a of agents) await engine.registerAgent(a.registerEnvelope(), { address: '127.0.0.1' });
const env = []; for (let k = 0; k < 5; k++) for (const a of agents) env.push(a.heartbeatEnvelope());
const c0 = process.cpuUsage(); const t0 = performance.now();
await Promise.all(env.map((e) => engine.heartbeat(e)));
const c1 = process.cpuUsage(c0);
console.log('engine.heartbeat cpu us/call', Math.round((c1.user + c1.system) / env.length), 'wall/s', Math.round(env.length * 1000 / (performance.now() - t0)));
const c2 = process.cpuUsage(); for (const e of env.slice(0, 5000)) { try { engine.getAgent(agents[0]!.id); } catch {} }
await engine.stop();
