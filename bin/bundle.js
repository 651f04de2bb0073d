// Whether dist/cli (scripts/build-cli.ts) was built from exactly the sources in this checkout.
// Plain JavaScript: bin/dcloud.js asks before any TypeScript is loaded.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const PROJECT_ROOT_URL = new URL('../', import.meta.url);
export const BUNDLE_ENTRY_URL = new URL('dist/cli/main.js', PROJECT_ROOT_URL);

/** True when dist/cli/manifest.json exists and the SHA-256 of every source it lists still matches. */
export function bundleIsCurrent() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(new URL('dist/cli/manifest.json', PROJECT_ROOT_URL), 'utf8'));
  } catch {
    return false;
  }
  const sources = Object.entries(manifest.sources ?? {});
  if (sources.length === 0) return false;
  for (const [path, digest] of sources) {
    let content;
    try {
      content = readFileSync(new URL(path, PROJECT_ROOT_URL));
    } catch {
      return false;
    }
    if (createHash('sha256').update(content).digest('hex') !== digest) return false;
  }
  return true;
}
