// Real federation hubs for tests: a libp2p node on 127.0.0.1, a LevelDB log in a temp dir, and a
// stub engine hook that records what it is handed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createFederation,
  type Federation,
  FederationLogStore,
  type FederationOptions,
  type MessageSource,
  type Verdict,
} from '../../hub/federation/index.ts';
import { generateKeyPair, type KeyPair, Verifier } from '../../keys/index.ts';
import type { Opened } from '../../protocol/envelope.ts';

export interface Received {
  opened: Opened;
  from: MessageSource;
}

export interface TestHub {
  readonly name: string;
  readonly dir: string;
  readonly identity: KeyPair;
  fed: Federation;
  store: FederationLogStore;
  /** Everything the federation handed to the engine hook, in order. */
  readonly received: Received[];
  /** Its first listen address, full (…/p2p/<id>): what other hubs bootstrap with. */
  address(): string;
  stop(): Promise<void>;
  /** Starts again from the same data dir and key, listening on the same port. */
  restart(): Promise<void>;
  /** Stops and removes its data dir. */
  destroy(): Promise<void>;
}

export interface TestHubOptions extends Partial<FederationOptions> {
  /** What the stub engine answers (default: accept everything). */
  verdict?: (opened: Opened) => Verdict;
}

const quiet = { info() {}, warn() {}, debug() {} };

export async function startTestHub(name: string, options: TestHubOptions = {}): Promise<TestHub> {
  const dir = await mkdtemp(join(tmpdir(), `dcloud-fed-${name}-`));
  const identity = generateKeyPair();
  const received: Received[] = [];
  const { verdict = () => 'accept', ...fedOptions } = options;
  let listen = fedOptions.listen ?? ['/ip4/127.0.0.1/tcp/0'];

  const open = async (): Promise<{ fed: Federation; store: FederationLogStore }> => {
    const store = await FederationLogStore.open(dir);
    const fed = createFederation(
      {
        store,
        verifier: new Verifier(),
        identity,
        logger: process.env.DCLOUD_TEST_FED_LOG === '1' ? { info: console.log, warn: console.warn, debug: console.debug } : quiet,
        onMessage: (opened, from) => {
          received.push({ opened, from });
          return verdict(opened);
        },
      },
      { bootstrap: [], syncIntervalMs: 60_000, ...fedOptions, listen },
    );
    try {
      await fed.start();
    } catch (err) {
      await store.close();
      throw err;
    }
    return { fed, store };
  };

  let running = true;
  const hub: TestHub = {
    name,
    dir,
    identity,
    received,
    ...(await open()),
    address() {
      const addr = hub.fed.info().multiaddrs[0];
      if (addr === undefined) throw new Error(`hub ${name} is not listening`);
      return addr;
    },
    async stop() {
      if (!running) return;
      running = false;
      // The same port after a restart, so the others' redials find it where it was.
      listen = [hub.address().replace(/\/p2p\/.*$/, '')];
      await hub.fed.stop();
      await hub.store.close();
    },
    async restart() {
      Object.assign(hub, await open());
      running = true;
    },
    async destroy() {
      await hub.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return hub;
}
