import type Dockerode from 'dockerode';
import { classifyPullFailure, DOCKER_HUB_INDEX, type PullFailure, pullFailureReason, registryOf } from '../src/core/image-ref.ts';

/** Credentials for a private registry. Held in memory for one pull; never logged, never stored. */
export interface RegistryAuth {
  username: string;
  password: string;
  /** Defaults to the registry host named in the image reference. */
  serveraddress?: string;
}

export type ImageFailure = 'IMAGE_NOT_FOUND' | 'AUTH_FAILED' | 'IMAGE_PULL_FAILED' | 'ABORTED' | 'DOCKER_ERROR';

export type ImageAvailability =
  | { ok: true; volumes: string[] }
  | { ok: false; reason: ImageFailure; message: string };

/** What dockerode's errors carry: the HTTP status and the daemon's JSON answer. */
interface DockerApiError {
  statusCode?: number;
  json?: { message?: string } | null;
  reason?: string;
  message?: string;
}

/** The daemon's own words for a failed API call, without dockerode's "(HTTP code …)" wrapping. */
export function daemonMessage(err: unknown): string {
  const e = err as DockerApiError;
  const fromDaemon = e?.json?.message;
  if (typeof fromDaemon === 'string' && fromDaemon.length > 0) return fromDaemon;
  if (typeof e?.message === 'string' && e.message.length > 0) return e.message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
  return String(err);
}

export function statusOf(err: unknown): number | undefined {
  const code = (err as DockerApiError)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

function imageVolumes(info: Dockerode.ImageInspectInfo): string[] {
  return Object.keys(info.Config?.Volumes ?? {});
}

/** Follows a pull's progress stream to its end; resolves with the first error the daemon reported in it. */
function followPull(docker: Dockerode, stream: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let failure: string | undefined;
    docker.modem.followProgress(
      stream,
      (err) => (err ? reject(err) : resolve(failure)),
      (event: { error?: string; errorDetail?: { message?: string } }) => {
        const text = event.errorDetail?.message ?? event.error;
        if (failure === undefined && typeof text === 'string') failure = text;
      },
    );
  });
}

/**
 * Makes sure `image` is present locally, pulling it (with `auth` if given) when it is not.
 * Failures come back as a reason and the daemon's message, never as a throw.
 */
export async function ensureImage(
  docker: Dockerode,
  image: string,
  options: { auth?: RegistryAuth; signal?: AbortSignal },
): Promise<ImageAvailability> {
  const { auth, signal } = options;
  try {
    return { ok: true, volumes: imageVolumes(await docker.getImage(image).inspect()) };
  } catch (err) {
    if (statusOf(err) !== 404) return { ok: false, reason: 'DOCKER_ERROR', message: `cannot inspect image ${image}: ${daemonMessage(err)}` };
  }
  try {
    const authconfig = auth === undefined ? undefined : { ...auth, serveraddress: auth.serveraddress ?? registryOf(image) ?? DOCKER_HUB_INDEX };
    const stream: NodeJS.ReadableStream = await docker.pull(image, {
      ...(authconfig === undefined ? {} : { authconfig }),
      ...(signal === undefined ? {} : { abortSignal: signal }),
    });
    const failure = await followPull(docker, stream);
    if (failure !== undefined) return pullFailed(image, auth, classifyPullFailure(failure), failure);
    return { ok: true, volumes: imageVolumes(await docker.getImage(image).inspect()) };
  } catch (err) {
    if (signal?.aborted) return { ok: false, reason: 'ABORTED', message: `pulling ${image} was aborted` };
    const detail = daemonMessage(err);
    return pullFailed(image, auth, classifyPullFailure(detail, statusOf(err)), detail);
  }
}

function pullFailed(image: string, auth: RegistryAuth | undefined, failure: PullFailure, detail: string): ImageAvailability {
  const reason = failure === 'unauthorized' ? 'AUTH_FAILED' : failure === 'not_found' ? 'IMAGE_NOT_FOUND' : 'IMAGE_PULL_FAILED';
  const message = pullFailureReason(failure, image, auth !== undefined, detail);
  return { ok: false, reason, message: failure === 'other' ? message : `${message} (${detail})` };
}
