import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import type { FastifyInstance } from 'fastify';
import { loadOrCreateKeyFile } from '../keys/index.ts';
import packageJson from '../package.json' with { type: 'json' };
import type { HubConfig } from './config.ts';
import { createHubEngine, type HubEngineControl } from './engine.ts';
import { createFederationBridge, type FederationBridge } from './federation-bridge.ts';
import { createHubMetrics } from './http/metrics.ts';
import { buildHubApp } from './http/server.ts';

export interface RunningHub {
  /** The hub's node id (from its key in the data dir). */
  readonly id: string;
  /** Where the HTTP API listens, e.g. http://127.0.0.1:8080 (the real port when 0 was asked). */
  readonly url: string;
  readonly engine: HubEngineControl;
  readonly app: FastifyInstance;
  /** Its federation, when started with a listen address. */
  readonly federation?: FederationBridge;
  /** Stops taking requests (open event streams are ended), then stops the engine. */
  stop(): Promise<void>;
}

export interface StartHubOptions {
  /** Where the hub's log lines go (default stderr). */
  logStream?: NodeJS.WritableStream;
  /** Passphrase of the hub's key file (DCLOUD_KEY_PASSPHRASE): never a flag, flags show in `ps`. */
  keyPassphrase?: string;
}

/**
 * The operator's token for the admin routes (approving agents): `<dataDir>/admin.token`, mode
 * 0600, made on the first start. Whoever can read the hub's data dir is its operator.
 */
async function adminToken(dataDir: string): Promise<string> {
  const file = join(dataDir, 'admin.token');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('hex');
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return token;
}

function urlOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * Starts a hub: its engine on the data dir (Docker from DOCKER_HOST or the default socket, for
 * image validation), its federation when it has a listen address, then the HTTP API in front.
 */
export async function startHub(config: HubConfig, options: StartHubOptions = {}): Promise<RunningHub> {
  const federated = config.federation.listen.length > 0;
  let app: FastifyInstance | undefined;
  // The engine may report before the HTTP server (and its logger) exists: those lines wait for it.
  const early: Array<(ready: FastifyInstance) => void> = [];
  const log = (level: 'error' | 'info', message: string, fields?: Record<string, unknown>): void => {
    const line = (ready: FastifyInstance) => ready.log[level]({ component: 'validation', ...fields }, message);
    if (app === undefined) early.push(line);
    else line(app);
  };
  const engine = createHubEngine(
    { docker: new Dockerode(), log },
    {
      dataDir: config.dataDir,
      params: config.params,
      tickMs: config.tickMs,
      freshness: { maxAgeMs: config.freshnessMs, maxSkewMs: config.clockSkewMs },
      validationConcurrency: config.validationConcurrency,
      imageCacheMs: config.imageCacheMs,
      federated,
      ...(config.spotCheckImage === undefined ? {} : { spotCheck: { image: config.spotCheckImage } }),
      trustedAgents: config.trustedAgents,
      registration: config.registration,
      placementDiversity: config.placementDiversity,
      ...(options.keyPassphrase === undefined ? {} : { keyPassphrase: options.keyPassphrase }),
    },
  );
  const metrics = createHubMetrics(engine);
  await engine.start();

  let federation: FederationBridge | undefined;
  try {
    if (federated) {
      const { pair } = await loadOrCreateKeyFile(join(config.dataDir, 'hub.key'), { passphrase: options.keyPassphrase });
      // Its lines go through the HTTP server's logger, which exists once the app is built.
      const line = (level: 'info' | 'warn' | 'debug') => (message: string, fields?: Record<string, unknown>) => app?.log[level]({ component: 'federation', ...fields }, message);
      federation = createFederationBridge(
        { engine, identity: pair, dataDir: config.dataDir, params: config.params, logger: { info: line('info'), warn: line('warn'), debug: line('debug') } },
        config.federation,
      );
    }
    app = await buildHubApp({
      engine,
      ...(config.registration.approve ? { adminToken: await adminToken(config.dataDir) } : {}),
      metrics,
      version: packageJson.version,
      rateLimit: config.rateLimit,
      bodyLimit: config.bodyLimit,
      resultBodyLimit: config.resultBodyLimit,
      sseKeepAliveMs: config.sseKeepAliveMs,
      log: config.logLevel === 'silent' ? false : { level: config.logLevel, stream: options.logStream ?? process.stderr },
      ...(federation === undefined ? {} : { federation }),
    });
    for (const line of early.splice(0)) line(app);
    await federation?.start();
    await app.listen({ host: config.http.host, port: config.http.port });
  } catch (err) {
    await app?.close();
    await federation?.stop();
    await engine.stop();
    throw err;
  }
  const server = app;
  const url = urlOf(server.server.address() as AddressInfo);
  return {
    id: engine.identity.nodeId,
    url,
    engine,
    app: server,
    ...(federation === undefined ? {} : { federation }),
    async stop() {
      await server.close();
      await federation?.stop();
      await engine.stop();
    },
  };
}
