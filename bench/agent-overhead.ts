/**
 * What the agent's hardened executor costs per task over plain Docker: wall time of
 * `executor.run` (image check, create with the full sandbox, attach, start, wait, inspect, remove)
 * against `docker run --rm --network none IMAGE echo 42` through the CLI, same image, same
 * command, alternating in the same run so a noisy neighbour slows both.
 *
 *   npm run bench -- agent-overhead [--rounds N]
 */
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import Docker from 'dockerode';
import { createExecutor } from '../agent/executor.ts';
import { type BenchResult, median, result, round } from './lib.ts';

export const description = 'executor.run vs `docker run --rm --network none` for echo 42 (ratio, goal <= 1.2)';

/** The test image scripts/bootstrap.sh builds locally (test/support/env.ts names it too). */
const IMAGE = 'dcloud-test/busybox:1';
const COMMAND = ['echo', '42'];
const GOAL = 1.2;

const execFileAsync = promisify(execFile);

function roundsFrom(args: readonly string[]): number {
  const { values } = parseArgs({ args: [...args], options: { rounds: { type: 'string', default: '10' } } });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`--rounds must be a positive integer, got ${values.rounds}`);
  return rounds;
}

async function timed(op: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await op();
  return performance.now() - start;
}

export async function run(args: readonly string[]): Promise<BenchResult> {
  const rounds = roundsFrom(args);
  const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' });
  const executor = createExecutor({ docker });

  const viaExecutor = async (): Promise<void> => {
    const outcome = await executor.run({ image: IMAGE, command: COMMAND, cpu: 1, ramGb: 0.0625, timeoutS: 30 });
    if (outcome.outcome !== 'ok' || outcome.stdout.toString() !== '42\n') {
      throw new Error(`executor did not run echo 42: ${outcome.outcome === 'error' ? `${outcome.reason}: ${outcome.message}` : JSON.stringify(outcome.stdout.toString())}`);
    }
  };
  const viaCli = async (): Promise<void> => {
    const { stdout } = await execFileAsync('docker', ['run', '--rm', '--network', 'none', IMAGE, ...COMMAND]);
    if (stdout !== '42\n') throw new Error(`docker run printed ${JSON.stringify(stdout)}`);
  };

  // One of each first: the image's layers and the CLI binary into the page cache.
  await viaExecutor();
  await viaCli();
  const executorMs: number[] = [];
  const dockerRunMs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (['executor', 'cli'] as const) : (['cli', 'executor'] as const);
    for (const which of order) {
      if (which === 'executor') executorMs.push(await timed(viaExecutor));
      else dockerRunMs.push(await timed(viaCli));
    }
    process.stderr.write(`round ${r + 1}/${rounds}: executor ${executorMs.at(-1)!.toFixed(0)} ms, docker run ${dockerRunMs.at(-1)!.toFixed(0)} ms\n`);
  }
  const executorMedian = median(executorMs);
  const dockerRunMedian = median(dockerRunMs);
  return result(
    { bench: 'agent-overhead', value: round(executorMedian / dockerRunMedian, 3), unit: 'ratio executor/docker-run (median wall time)', goal: GOAL, better: 'lower' },
    {
      rounds,
      executorMedianMs: round(executorMedian),
      dockerRunMedianMs: round(dockerRunMedian),
      executorMs: executorMs.map((v) => round(v)),
      dockerRunMs: dockerRunMs.map((v) => round(v)),
    },
  );
}
