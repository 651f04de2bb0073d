import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { DcloudError } from '../../protocol/errors.ts';
import { PROJECT_ROOT } from '../../src/paths.ts';
import { errorResponses, HttpError, HttpErrorCodes } from './errors.ts';
import type { TypeBoxProvider } from './type-provider.ts';

/**
 * The built web pages (web/, docs/WEB.md): one page's index.html at the paths given, and the
 * bundled assets every page shares under /assets/. Used by the hub (the dashboard) and by the
 * agent's control API (the volunteer's page). Nothing here is built at run time: `npm run build`
 * (run by `npm install` through `prepare`) writes web/dist, and a missing build is a clear 503.
 */

// From the project root, not this module: it also runs from the bundle in dist/cli.
export const WEB_DIST = join(PROJECT_ROOT, 'web', 'dist') + '/';

export class WebNotBuiltError extends DcloudError {
  constructor(file: string) {
    super('WEB_NOT_BUILT', `the web pages are not built (${file} is missing): run \`npm run build\` in the dcloud checkout, then reload`, 503);
    this.name = 'WebNotBuiltError';
  }
}

const CONTENT_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
  json: 'application/json',
  map: 'application/json',
};

export interface WebPageOptions {
  /** Folder of web/dist holding the page's index.html. */
  page: 'agent' | 'hub';
  /** Paths answering with the page. */
  paths: readonly string[];
  /** Overrides WEB_DIST (tests). */
  dist?: string;
}

async function readBuilt(dist: string, file: string): Promise<Buffer> {
  try {
    return await readFile(dist + file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new WebNotBuiltError(`web/dist/${file}`);
    throw err;
  }
}

export const webPageRoutes: FastifyPluginAsync<WebPageOptions> = async (base, options) => {
  const app = base.withTypeProvider<TypeBoxProvider>();
  const dist = options.dist ?? WEB_DIST;
  // Bytes sent as they are (fastify serializes no Buffer): the schema only documents them.
  const html = { 200: Type.Unsafe<Buffer>({ type: 'string', description: 'the file' }), ...errorResponses };

  for (const path of options.paths) {
    app.get(path, { schema: { summary: `The ${options.page === 'hub' ? 'hub dashboard' : 'agent\'s control page'} (HTML)`, tags: ['web'], produces: ['text/html'], response: html } }, async (_request, reply) =>
      // Never cached: a rebuilt page names new hashed assets.
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(await readBuilt(dist, `${options.page}/index.html`)),
    );
  }

  app.get(
    '/assets/:file',
    {
      schema: {
        summary: 'A bundled asset of the web pages (content-hashed, cached for good)',
        tags: ['web'],
        // One flat folder of hashed names: no path can climb out of it.
        params: Type.Object({ file: Type.String({ pattern: '^[A-Za-z0-9_-][A-Za-z0-9_.-]*\\.[a-z0-9]+$', maxLength: 200 }) }, { additionalProperties: false }),
        response: html,
      },
    },
    async (request, reply) => {
      const { file } = request.params;
      const type = CONTENT_TYPES[file.slice(file.lastIndexOf('.') + 1)];
      if (type === undefined) throw new HttpError(HttpErrorCodes.NOT_FOUND, `no asset ${file}`, 404);
      let body: Buffer;
      try {
        body = await readFile(`${dist}assets/${file}`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        throw new HttpError(HttpErrorCodes.NOT_FOUND, `no asset ${file}: rebuild the pages (\`npm run build\`) and reload`, 404);
      }
      return reply.type(type).header('cache-control', 'public, max-age=31536000, immutable').send(body);
    },
  );
};
