// What scripts/bootstrap.sh (and scripts/build-test-images.sh, which mirrors these values) sets
// up for the integration tests: a Docker engine, a locally built busybox image, and two loopback
// registries holding it. Change a value here and in those scripts together.
import Docker from 'dockerode';

/** Built locally from busybox-static; never pulled. Applets include sh echo cat sha256sum sleep
 * head tail dd yes wget nc ls id env true false printf wc tr seq grep mkdir rm uname;
 * /etc/passwd knows root and nobody (65534), /tmp exists. */
export const TEST_IMAGE = 'dcloud-test/busybox:1';

/** Registry that anyone on this machine may pull from and push to. */
export const OPEN_REGISTRY = '127.0.0.1:5000';
/** Registry where every request needs HTTP basic auth with the credentials below. */
export const AUTH_REGISTRY = '127.0.0.1:5001';

/** Test-only credentials of AUTH_REGISTRY: scripts/registry/credentials.sh, whose bcrypt hash is
 * scripts/registry/htpasswd. */
export const REGISTRY_USER = 'dcloud';
export const REGISTRY_PASSWORD = 'dcloud-test-secret';

/** TEST_IMAGE as served by the open registry. */
export const OPEN_IMAGE = `${OPEN_REGISTRY}/dcloud/busybox:1`;
/** TEST_IMAGE as served by the registry behind basic auth. */
export const PRIVATE_IMAGE = `${AUTH_REGISTRY}/private/busybox:1`;

/** Credentials for AUTH_REGISTRY in the shape the Docker API's X-Registry-Auth expects. */
export const privateRegistryAuth = {
  username: REGISTRY_USER,
  password: REGISTRY_PASSWORD,
  serveraddress: AUTH_REGISTRY,
} as const satisfies Docker.AuthConfig;

/** The engine on this machine (DOCKER_SOCKET overrides /var/run/docker.sock). */
export function docker(): Docker {
  return new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' });
}
