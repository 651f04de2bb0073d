import v8 from 'node:v8';
import { Command } from 'commander';
if (process.argv[2]) v8.setFlagsFromString(process.argv[2]);
const { register } = await import('/work/main/src/cli/commands/agent.ts');
const program = new Command('dcloud');
register(program, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, exitCode: 0 });
program.parseAsync(['agent', '--hub', 'http://127.0.0.1:18081', '--data', '/tmp/t2/agent', '--ui', '127.0.0.1:0'], { from: 'user' });
let peak = 0;
setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 200).unref();
setTimeout(() => {
  const m = process.memoryUsage();
  const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  console.error(process.argv[2], 'rss', (m.rss / 1048576).toFixed(1), 'peak', (peak/1048576).toFixed(1), 'heapUsed', (m.heapUsed/1048576).toFixed(1), 'new_space', (ns.space_size / 1048576).toFixed(1), 'ext', (m.external/1048576).toFixed(1));
  process.exit(0);
}, 10000);
