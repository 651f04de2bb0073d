import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The project's root folder (where package.json is), found by walking up from this module. Code
 * runs both from its TypeScript sources and from the bundle in dist/cli (see scripts/build-cli.ts),
 * so a path relative to a module's own folder would differ between the two: resolve project files
 * from here instead.
 */
export const PROJECT_ROOT = findRoot(import.meta.dirname);

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'dcloud.js'))) return dir;
    if (dirname(dir) === dir) throw new Error(`dcloud: no project root above ${start}`);
  }
}
