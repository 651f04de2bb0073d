import { readFileSync } from 'node:fs';
import { verify as cryptoVerify } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicKeyObject } from '../keys/index.ts';
import { signedBytes } from '../protocol/index.ts';
import { startHubProcess, TestAgent } from '../test/support/test-agent.ts';
import { LoadClient } from './http-load.ts';
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10_000; }; // µs (100 Hz)
const dataDir = await mkdtemp(join(tmpdir(), 'probe-'));
const hub = await startHubProcess({ dataDir, args: ['--log-level', 'error', ...process.argv.slice(3)] });
const load = new LoadClient(hub.url, 16);
const n = Number(process.argv[2] ?? 2000);
const agents = Array.from({ length: n }, (_, i) => new TestAgent(hub.url, { name: `p${i}` }));
await load.run('/v1/agents/register', agents.map((a) => JSON.stringify(a.registerEnvelope())), { connections: 16, ms: 600000, okStatus: 201 });
const bodies: string[] = []; for (let k = 0; k < 5; k++) for (const a of agents) bodies.push(JSON.stringify(a.heartbeatEnvelope()));
const kind = process.env.PROBE ?? 'heartbeat';
if (kind === 'work') { bodies.length = 0; for (let k = 0; k < 5; k++) for (const a of agents) bodies.push(JSON.stringify(a.workEnvelope())); }
console.log(JSON.stringify(await agents[0]!.hub.post('/v1/agents/heartbeat', agents[0]!.heartbeatEnvelope())));
const before = cpu(hub.child.pid!);
const r = await load.run(kind === 'work' ? '/v1/work' : kind === 'none' ? '/v1/none' : kind === 'mal' ? '/v1/agents/heartbeat' : '/v1/agents/heartbeat', kind === 'mal' ? bodies.map(() => '{') : bodies, { connections: 16, ms: 600000, okStatus: kind === 'work' ? 204 : 200 });
const used = cpu(hub.child.pid!) - before;
const s = agents[0]!.heartbeatEnvelope(); const b = signedBytes('agent.heartbeat', s.payload); const sig = Buffer.from(s.sig, 'hex'); const key = publicKeyObject(agents[0]!.signer.publicKey);
const c0 = process.cpuUsage(); for (let i = 0; i < 20000; i++) cryptoVerify(null, b, key, sig); const c1 = process.cpuUsage(c0);
console.log(JSON.stringify({ statuses: [...r.statuses], hubCpuUsPerReq: Math.round(used / bodies.length), rawVerifyCpuUs: Math.round((c1.user + c1.system) / 20000), wallPerSec: Math.round(r.okPerSecond) }));
await hub.stop();
