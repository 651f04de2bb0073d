// Headless Debian Chromium driven by playwright-core (nothing downloaded), the built web pages,
// and a folder of screenshots a person can look at.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCREENSHOTS = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** `npm install` builds the pages (prepare); a checkout where it did not run gets them built here. */
export function ensureWebBuilt(): void {
  if (existsSync(`${ROOT}web/dist/agent/index.html`) && existsSync(`${ROOT}web/dist/hub/index.html`)) return;
  const vite = fileURLToPath(new URL('../../node_modules/vite/bin/vite.js', import.meta.url));
  execFileSync(process.execPath, [vite, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

/** A full-page screenshot in test-output/screenshots/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

/** True when the page is no wider than its window (readable on a narrow screen without sideways scrolling). */
export async function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const root = (globalThis as unknown as Browserish).document.documentElement;
    return root.scrollWidth <= root.clientWidth;
  });
}

/** How long a page may take to show what its server knows (events, then a throttled read): generous on a busy machine. */
export const SOON = { timeout: 15_000, interval: 100 } as const;

/** The little of the DOM the tests read inside the page (the test code itself is typed for Node). */
export interface Browserish {
  document: { activeElement: { id: string } | null; documentElement: { scrollWidth: number; clientWidth: number } };
}
