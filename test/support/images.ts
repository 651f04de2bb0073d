// Image chores for integration tests, done through the Docker API (as the product does) and the
// registries' own HTTP API.
import type Docker from 'dockerode';

type ProgressEvent = { status?: string; error?: string };

/** Pulls REF and settles when the daemon has finished, with the manifest digest the daemon
 * resolved at the registry. Rejects with the daemon's own words, both when it refuses the
 * request outright and when it reports an error inside the progress stream. */
export async function pullImage(
  docker: Docker,
  ref: string,
  authconfig?: Docker.AuthConfig,
): Promise<{ digest: string }> {
  const stream = await docker.pull(ref, authconfig === undefined ? {} : { authconfig });
  const events = await new Promise<ProgressEvent[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: ProgressEvent[]) =>
      err === null ? resolve(output) : reject(err),
    );
  });
  const failure = events.find((event) => event.error !== undefined);
  if (failure !== undefined) throw new Error(`pull of ${ref} failed: ${failure.error}`);
  const digest = events.map((event) => /^Digest: (sha256:[0-9a-f]{64})$/.exec(event.status ?? '')?.[1]).find(Boolean);
  if (digest === undefined) throw new Error(`pull of ${ref} reported no digest`);
  return { digest };
}

/** The digest under which REGISTRY serves REPOSITORY:TAG, asked over the registry's HTTP API. */
export async function registryDigest(
  registry: string,
  repository: string,
  tag: string,
  credentials?: { username: string; password: string },
): Promise<string | null> {
  const headers: Record<string, string> = { accept: 'application/vnd.docker.distribution.manifest.v2+json' };
  if (credentials !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  }
  const response = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, { method: 'HEAD', headers });
  return response.ok ? response.headers.get('docker-content-digest') : null;
}

/** Removes the local tag REF (not the image other tags still name), so the next pull is real. */
export async function removeImageIfPresent(docker: Docker, ref: string): Promise<void> {
  try {
    await docker.getImage(ref).remove();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}
