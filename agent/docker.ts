import { registerHooks } from 'node:module';
import type Dockerode from 'dockerode';

/**
 * dockerode for an agent that lives on a volunteer's machine all day. dockerode requires, as it
 * loads, its SSH transport (ssh2, whose WebAssembly crypto reserves 16 MiB at once) and BuildKit's
 * gRPC client (@grpc/grpc-js, @grpc/proto-loader): about 35 MB of an idle agent's memory. The
 * agent reaches its engine through the local socket and never builds an image, so for dockerode's
 * own requires these three resolve to stubs that throw, naming why, if they are ever used.
 */

const STUBBED = new Set(['ssh2', '@grpc/grpc-js', '@grpc/proto-loader']);
const STUB_SCHEME = 'dcloud-stub:';
const FROM_DOCKERODE = /\/node_modules\/(docker-modem|dockerode)\//;

function stubSource(name: string): string {
  const why = JSON.stringify(`dcloud: ${name} is not loaded in the agent (Docker is reached through its local socket; images are pulled, never built)`);
  if (name === 'ssh2') return `exports.Client = class Client { constructor() { throw new Error(${why}); } };`;
  return `module.exports = new Proxy({}, { get: (_, key) => (typeof key === 'symbol' || key === 'then' || key === '__esModule') ? undefined : () => { throw new Error(${why}); } });`;
}

let hooked = false;

function stubUnusedDependencies(): void {
  if (hooked) return;
  hooked = true;
  registerHooks({
    resolve(specifier, context, next) {
      if (STUBBED.has(specifier) && FROM_DOCKERODE.test(context.parentURL ?? '')) {
        return { url: STUB_SCHEME + specifier, format: 'commonjs', shortCircuit: true };
      }
      return next(specifier, context);
    },
    load(url, context, next) {
      if (url.startsWith(STUB_SCHEME)) return { format: 'commonjs', source: stubSource(url.slice(STUB_SCHEME.length)), shortCircuit: true };
      return next(url, context);
    },
  });
}

/** A client of the Docker engine on this machine's socket. */
export async function connectDocker(socketPath: string): Promise<Dockerode> {
  stubUnusedDependencies();
  const { default: Docker } = await import('dockerode');
  return new Docker({ socketPath });
}
