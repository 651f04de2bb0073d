import type { AddressInfo } from 'node:net';
import Dockerode from 'dockerode';
import type { FastifyInstance } from 'fastify';
import packageJson from '../package.json' with { type: 'json' };
import type { HubConfig } from './config.ts';
import { createHubEngine } from './engine.ts';
import type { HubEngine } from './engine-types.ts';
import { createHubMetrics } from './http/metrics.ts';
import { buildHubApp } from './http/server.ts';

export interface RunningHub {
  /** The hub's node id (from its key in the data dir). */
  readonly id: string;
  /** Where the HTTP API listens, e.g. http://127.0.0.1:8080 (the real port when 0 was asked). */
  readonly url: string;
  readonly engine: HubEngine;
  readonly app: FastifyInstance;
  /** Stops taking requests (open event streams are ended), then stops the engine. */
  stop(): Promise<void>;
}

export interface StartHubOptions {
  /** Where the hub's log lines go (default stderr). */
  logStream?: NodeJS.WritableStream;
  /** Passphrase of the hub's key file (DCLOUD_KEY_PASSPHRASE): never a flag, flags show in `ps`. */
  keyPassphrase?: string;
}

function urlOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * Starts a hub: its engine on the data dir (Docker from DOCKER_HOST or the default socket, for
 * image validation), then the HTTP API in front of it.
 */
export async function startHub(config: HubConfig, options: StartHubOptions = {}): Promise<RunningHub> {
  const engine = createHubEngine(
    { docker: new Dockerode() },
    {
      dataDir: config.dataDir,
      params: config.params,
      tickMs: config.tickMs,
      freshness: { maxAgeMs: config.freshnessMs, maxSkewMs: config.clockSkewMs },
      validationConcurrency: config.validationConcurrency,
      imageCacheMs: config.imageCacheMs,
      ...(options.keyPassphrase === undefined ? {} : { keyPassphrase: options.keyPassphrase }),
    },
  );
  const metrics = createHubMetrics(engine);
  await engine.start();

  let app: FastifyInstance;
  try {
    app = await buildHubApp({
      engine,
      metrics,
      version: packageJson.version,
      rateLimit: config.rateLimit,
      bodyLimit: config.bodyLimit,
      resultBodyLimit: config.resultBodyLimit,
      sseKeepAliveMs: config.sseKeepAliveMs,
      log: config.logLevel === 'silent' ? false : { level: config.logLevel, stream: options.logStream ?? process.stderr },
    });
    await app.listen({ host: config.http.host, port: config.http.port });
  } catch (err) {
    await engine.stop();
    throw err;
  }
  const url = urlOf(app.server.address() as AddressInfo);
  return {
    id: engine.identity.nodeId,
    url,
    engine,
    app,
    async stop() {
      await app.close();
      await engine.stop();
    },
  };
}
