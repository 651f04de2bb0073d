import { createHash } from 'node:crypto';
import type Dockerode from 'dockerode';
import { classifyPullFailure, DOCKER_HUB_INDEX, isValidReference, pullFailureReason, registryOf } from '../src/core/image-ref.ts';
import type { RegistryAuth } from './engine-types.ts';

/**
 * Fail-fast image validation (thesis 5.2): before a task is scheduled, the hub pulls its image
 * through its own Docker engine, with the submitter's registry credentials when given, so a
 * misspelt name, a missing tag or refused credentials reach the submitter as a reason they can
 * read instead of as failed runs on volunteers' machines.
 *
 * The rule for where an image comes from, as Docker reads a reference: when its first path
 * component names a host (has a `.` or a `:`, or is `localhost`), the image lives in that
 * registry and is ALWAYS pulled, even when the hub has a copy, because agents will pull it
 * from there and the credentials must be checked. Otherwise the reference means Docker Hub: an
 * image present in the hub's engine (built or imported locally, as in a closed network) is valid
 * as it is; one that is not present is pulled like any other.
 *
 * Pulls are concurrency-limited; concurrent validations of the same image with the same
 * credentials share one pull, and a success is remembered for `cacheMs`.
 */

export type ImageVerdict = { ok: true; source: 'registry' | 'local' } | { ok: false; reason: string };

export interface ImageValidator {
  /** Rejects only when `signal` aborts (the hub is stopping); every other failure is a verdict. */
  validate(image: string, auth: RegistryAuth | undefined, signal?: AbortSignal): Promise<ImageVerdict>;
}

export interface ImageValidatorComponents {
  docker: Dockerode;
  clock?: () => number;
}

export interface ImageValidatorOptions {
  /** Pulls running at once. */
  concurrency: number;
  /** A pull that takes longer makes the image invalid. Default 10 minutes. */
  pullTimeoutMs?: number;
  /** How long a successful validation is reused. Default 60 s; 0 disables. */
  cacheMs?: number;
}

/** The engine's own words, without dockerode's "(HTTP code 500) server error - " prefix. */
function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/^\(HTTP code \d+\)[^-]*- /, '').trim();
}

/** Credentials fingerprint, so a cached success never vouches for a different password. */
function cacheKey(image: string, auth: RegistryAuth | undefined): string {
  if (auth === undefined) return image;
  const digest = createHash('sha256').update(`${auth.username}\n${auth.password}\n${auth.serveraddress ?? ''}`).digest('hex');
  return `${image}\n${digest}`;
}

/** Counts permits: at most `limit` holders at once, the rest wait in FIFO order. */
class Semaphore {
  private readonly waiting: Array<() => void> = [];
  private free: number;

  constructor(limit: number) {
    this.free = Math.max(1, limit);
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.free++;
  }
}

export function createImageValidator(components: ImageValidatorComponents, options: ImageValidatorOptions): ImageValidator {
  const { docker } = components;
  const clock = components.clock ?? Date.now;
  const pullTimeoutMs = options.pullTimeoutMs ?? 10 * 60_000;
  const cacheMs = options.cacheMs ?? 60_000;
  const permits = new Semaphore(options.concurrency);
  const inFlight = new Map<string, Promise<ImageVerdict>>();
  const succeeded = new Map<string, { verdict: ImageVerdict; until: number }>();

  async function presentLocally(image: string, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      await docker.getImage(image).inspect();
      return true;
    } catch (err) {
      signal?.throwIfAborted();
      if ((err as { statusCode?: number }).statusCode === 404) return false;
      throw err;
    }
  }

  async function pull(image: string, auth: RegistryAuth | undefined, signal: AbortSignal | undefined): Promise<ImageVerdict> {
    const timeout = AbortSignal.timeout(pullTimeoutMs);
    const abortSignal = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    const authconfig = auth === undefined ? undefined : { serveraddress: registryOf(image) ?? DOCKER_HUB_INDEX, ...auth };
    try {
      const stream = await docker.pull(image, { authconfig, abortSignal });
      // Docker answers 200 and reports a failure inside the progress stream.
      const events = await new Promise<Array<{ error?: string }>>((resolve, reject) => {
        docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => (err ? reject(err) : resolve(output)));
      });
      const failed = events.find((e) => typeof e.error === 'string');
      if (failed?.error !== undefined) return { ok: false, reason: pullFailureReason(classifyPullFailure(failed.error), image, auth !== undefined, failed.error) };
      return { ok: true, source: 'registry' };
    } catch (err) {
      signal?.throwIfAborted();
      if (timeout.aborted) return { ok: false, reason: `pulling ${image} took longer than ${Math.round(pullTimeoutMs / 1000)} s` };
      const detail = messageOf(err);
      return { ok: false, reason: pullFailureReason(classifyPullFailure(detail), image, auth !== undefined, detail) };
    }
  }

  async function check(image: string, auth: RegistryAuth | undefined, signal: AbortSignal | undefined): Promise<ImageVerdict> {
    await permits.acquire(signal);
    try {
      if (registryOf(image) === undefined && (await presentLocally(image, signal))) return { ok: true, source: 'local' };
      return await pull(image, auth, signal);
    } catch (err) {
      signal?.throwIfAborted();
      // The hub's own engine failed (not the image): say so rather than blame the submitter.
      return { ok: false, reason: `the hub could not check ${image}: ${messageOf(err)}` };
    } finally {
      permits.release();
    }
  }

  return {
    async validate(image, auth, signal) {
      if (!isValidReference(image)) return { ok: false, reason: pullFailureReason('bad_reference', image, auth !== undefined, '') };
      const key = cacheKey(image, auth);
      const cached = succeeded.get(key);
      if (cached !== undefined) {
        if (cached.until > clock()) return cached.verdict;
        succeeded.delete(key);
      }
      let pending = inFlight.get(key);
      if (pending === undefined) {
        pending = check(image, auth, signal).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      const verdict = await pending;
      if (verdict.ok && cacheMs > 0) {
        const now = clock();
        if (succeeded.size >= 1024) for (const [k, c] of succeeded) if (c.until <= now) succeeded.delete(k);
        succeeded.set(key, { verdict, until: now + cacheMs });
      }
      return verdict;
    },
  };
}
