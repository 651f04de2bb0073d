// The pages' server side over real HTTP: the built page and its assets, the missing build as a
// clear error that says what to run, and no path out of the assets folder.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorCatalogue } from '../../hub/http/errors.ts';
import { validatorCompiler } from '../../hub/http/validation.ts';
import { webPageRoutes } from '../../hub/http/web.ts';

let dir: string;
type ErrorAnswer = { error: { code: string; message: string } };
const apps: FastifyInstance[] = [];

async function serve(dist: string): Promise<string> {
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  installErrorCatalogue(app);
  await app.register(webPageRoutes, { page: 'hub', paths: ['/', '/dashboard'], dist });
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-web-assets-'));
  await mkdir(join(dir, 'built/hub'), { recursive: true });
  await mkdir(join(dir, 'built/assets'), { recursive: true });
  await writeFile(join(dir, 'built/hub/index.html'), '<!doctype html><title>dashboard</title><script src="/assets/hub-abc.js"></script>');
  await writeFile(join(dir, 'built/assets/hub-abc.js'), 'console.log(1)');
  await writeFile(join(dir, 'secret.js'), 'not an asset');
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('the web pages\' routes', () => {
  it('serve the page at each of its paths and its hashed assets', async () => {
    const base = await serve(join(dir, 'built/'));
    for (const path of ['/', '/dashboard']) {
      const res = await fetch(base + path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await res.text()).toContain('<title>dashboard</title>');
    }
    const asset = await fetch(`${base}/assets/hub-abc.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
  });

  it('answer a missing asset, or a path out of the folder, with the catalogue\'s 4xx', async () => {
    const base = await serve(join(dir, 'built/'));
    const missing = await fetch(`${base}/assets/hub-zzz.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as ErrorAnswer).error.code).toBe('NOT_FOUND');
    for (const path of ['/assets/..%2Fsecret.js', '/assets/%2E%2E%2F%2E%2E%2Fsecret.js', '/assets/.hidden.js']) {
      const res = await fetch(base + path);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      expect(await res.text(), path).not.toContain('not an asset');
    }
  });

  it('say to run `npm run build` when the pages were never built, instead of failing', async () => {
    const base = await serve(join(dir, 'never-built/'));
    const res = await fetch(`${base}/dashboard`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as ErrorAnswer;
    expect(body.error.code).toBe('WEB_NOT_BUILT');
    expect(body.error.message).toContain('npm run build');
  });
});
