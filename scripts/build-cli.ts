/**
 * Bundles the `dcloud` command (src/cli/main.ts and everything of ours it imports) into plain
 * JavaScript under dist/cli, for bin/dcloud.js to run instead of the TypeScript sources.
 *
 * Why: Node strips types with a WebAssembly compiler that stays loaded for the life of the
 * process, about 17 MB of resident memory. An agent idles on a volunteer's machine all day, and
 * its memory goal is 100 MB. The bundle changes no behaviour: dependencies stay external (loaded
 * from node_modules as before), dynamic imports stay lazy chunks, and the output is not minified
 * so stack traces still read.
 *
 * dist/cli/manifest.json lists the SHA-256 of every source file in the bundle; bin/dcloud.js runs
 * the bundle only when every one still matches, so an edited checkout never runs stale code.
 *
 * Usage: node scripts/build-cli.ts   (npm run build:cli; `npm ci` runs it through "prepare")
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'rolldown';
import { PROJECT_ROOT } from '../src/paths.ts';

const OUT_DIR = join(PROJECT_ROOT, 'dist', 'cli');
const ENTRY = join(PROJECT_ROOT, 'src', 'cli', 'main.ts');

export interface CliManifest {
  entry: string;
  /** Project-relative source path → SHA-256 (hex) of its content when the bundle was built. */
  sources: Record<string, string>;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function main(): Promise<void> {
  rmSync(OUT_DIR, { recursive: true, force: true });
  const output = await build({
    input: { main: ENTRY },
    platform: 'node',
    // Bare specifiers are packages (and node: builtins): load them from node_modules as the
    // sources do; bundling them saved no memory and would hide their own file layout.
    external: [/^[^./]/],
    output: { dir: OUT_DIR, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
    logLevel: 'warn',
  });
  const sources: Record<string, string> = {};
  for (const chunk of output.output) {
    if (chunk.type !== 'chunk') continue;
    for (const id of chunk.moduleIds) {
      if (!id.startsWith(PROJECT_ROOT) || id.includes('/node_modules/')) continue;
      sources[relative(PROJECT_ROOT, id)] = sha256File(id);
    }
  }
  const manifest: CliManifest = { entry: 'main.js', sources: Object.fromEntries(Object.entries(sources).sort()) };
  writeFileSync(join(OUT_DIR, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  console.log(`build-cli: ${Object.keys(sources).length} sources → ${relative(PROJECT_ROOT, OUT_DIR)}/ (${output.output.length} files)`);
}

await main();
