import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { LoadClient } from './http-load.ts';
if (process.argv[2] === 'server') {
  const Fastify = (await import('fastify')).default;
  const app = Fastify();
  app.post('/x', async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send!((app.server.address() as any).port);
} else {
  const child = fork(new URL(import.meta.url).pathname, ['server']);
  const port = await new Promise((r) => child.once('message', r));
  const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10_000; };
  const load = new LoadClient(`http://127.0.0.1:${port}`, 16);
  const bodies = Array.from({ length: 10000 }, () => '{"a":1}');
  await load.run('/x', bodies.slice(0, 2000), { connections: 16, ms: 60000, okStatus: 200 });
  const b = cpu(child.pid!);
  const r = await load.run('/x', bodies, { connections: 16, ms: 60000, okStatus: 200 });
  console.log('bare fastify cpu us/req', Math.round((cpu(child.pid!) - b) / bodies.length), 'wall/s', Math.round(r.okPerSecond));
  load.close(); child.kill();
}
