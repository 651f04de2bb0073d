/**
 * `npm run bench -- NAME [args]` runs bench/NAME.ts and prints its result as the last line on
 * stdout; `npm run bench` lists the benchmarks. Exit code 0 when the goal is met, 1 when it is
 * not, 2 on a usage error.
 *
 * A benchmark is any bench/<name>.ts that exports `description` and `run` (see bench/lib.ts):
 * adding one is adding the file, nothing to register here. Listing imports every such file, so
 * a module must do nothing when imported; scratch files named `_*.ts` are never loaded.
 */
import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { type Benchmark, BenchUsageError, printResult } from './lib.ts';

const here = import.meta.dirname;
/** What a benchmark may be called (so `_scratch.ts` and `lib.d.ts` are not benchmarks). */
const NAME = /^[a-z0-9][a-z0-9-]*$/;

function isBenchmark(module: unknown): module is Benchmark {
  const m = module as Partial<Benchmark> | undefined;
  return typeof m?.description === 'string' && typeof m.run === 'function';
}

/** Every module in bench/ that exports a benchmark, by name. Helpers (lib.ts, this file) are not. */
async function discover(): Promise<Map<string, Benchmark>> {
  const files = (await readdir(here)).filter((f) => NAME.test(basename(f, '.ts')) && f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'run.ts').sort();
  const found = new Map<string, Benchmark>();
  for (const file of files) {
    try {
      const module: unknown = await import(`./${file}`);
      if (isBenchmark(module)) found.set(basename(file, '.ts'), module);
    } catch (err) {
      // One broken file must not hide the others from the listing.
      process.stderr.write(`bench: cannot load bench/${file}: ${(err as Error).message}\n`);
    }
  }
  return found;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    const all = await discover();
    process.stdout.write('usage: npm run bench -- NAME [args]\n\n');
    for (const [n, b] of all) process.stdout.write(`  ${n.padEnd(16)} ${b.description}\n`);
    return 0;
  }
  if (!NAME.test(name)) {
    process.stderr.write(`bench: ${JSON.stringify(name)} is not a benchmark name\n`);
    return 2;
  }
  let module: unknown;
  try {
    module = await import(`./${name}.ts`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !String((err as Error).message).includes(`${name}.ts`)) throw err;
  }
  if (!isBenchmark(module)) {
    const names = [...(await discover()).keys()].join(', ');
    process.stderr.write(`bench: no benchmark named ${name} (there are: ${names})\n`);
    return 2;
  }
  const line = await module.run(args);
  printResult(line);
  return line.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof BenchUsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`bench: ${(err as Error).message}\n`);
    } else {
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exitCode = 2;
  },
);
