/**
 * Docker image references and registry refusals, as both the hub (image validation) and the
 * agent (pulling before a run) read them. Pure: strings in, verdicts out.
 */

/** The registry Docker uses for a reference with no host ("busybox", "library/x"). */
export const DOCKER_HUB_INDEX = 'https://index.docker.io/v1/';

/** "registry.example:5000/a/b:1" -> "registry.example:5000", as Docker reads a reference; undefined for Docker Hub. */
export function registryOf(image: string): string | undefined {
  const slash = image.indexOf('/');
  if (slash < 0) return undefined;
  const first = image.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined;
}

/**
 * Docker's reference grammar, reduced to what matters to refuse early:
 * [host[:port]/]path[/path...][:tag][@sha256:hex], path components lower-case.
 */
const HOST = /^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*(?::\\w[\\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$`);

export function isValidReference(image: string): boolean {
  if (image.length > 512) return false;
  const registry = registryOf(image);
  if (registry === undefined) return NAME.test(image);
  return HOST.test(registry) && NAME.test(image.slice(registry.length + 1));
}

export type PullFailure = 'bad_reference' | 'not_found' | 'unauthorized' | 'unreachable' | 'other';

/**
 * Sorts a failed pull into the reason a submitter can act on. The daemon gives text (and
 * sometimes an HTTP status); these are the phrasings of the Docker engine and the distribution
 * registry (e.g. "no basic auth credentials", "manifest unknown").
 */
export function classifyPullFailure(message: string, status?: number): PullFailure {
  const m = message.toLowerCase();
  if (m.includes('invalid reference format')) return 'bad_reference';
  if (status === 401 || /unauthori[sz]ed|authentication required|no basic auth credentials|incorrect username or password|denied/.test(m)) {
    return 'unauthorized';
  }
  if (status === 404 || /not found|manifest unknown|name unknown|does not exist|no such image/.test(m)) return 'not_found';
  if (/connection refused|no such host|i\/o timeout|network is unreachable|dial tcp/.test(m)) return 'unreachable';
  return 'other';
}

/** What a submitter (or a volunteer) reads when a pull fails. */
export function pullFailureReason(failure: PullFailure, image: string, withCredentials: boolean, detail: string): string {
  const registry = registryOf(image) ?? 'docker.io';
  switch (failure) {
    case 'bad_reference':
      return `${image} is not a valid image reference`;
    case 'not_found':
      return `image ${image} not found in registry ${registry}`;
    case 'unauthorized':
      return withCredentials
        ? `registry ${registry} refused the credentials for ${image}`
        : `registry ${registry} requires credentials for ${image} and none were given`;
    case 'unreachable':
      return `registry ${registry} cannot be reached to pull ${image}`;
    case 'other':
      return `cannot pull ${image}: ${detail}`;
  }
}
