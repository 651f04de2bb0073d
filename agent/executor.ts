import { Readable } from 'node:stream';
import { Value } from '@sinclair/typebox/value';
import type Dockerode from 'dockerode';
import { ResultDigest } from '../protocol/digest.ts';
import { DcloudError } from '../protocol/errors.ts';
import { ExecutionSpec } from '../protocol/messages.ts';
import { DCLOUD_LABEL, hardenedContainer, parseTaskUser, type SandboxLimits } from './container-config.ts';
import { daemonMessage, ensureImage, type RegistryAuth, statusOf } from './image.ts';
import { CappedOutput } from './output-capture.ts';

/**
 * Runs one replica of a task in a hardened, throw-away container (DESIGN.md section 7) and reports
 * what happened. Every way a run can go wrong that is not the caller's mistake comes back as an
 * `outcome: 'error'` with a reason the hub can record; only bad arguments throw.
 */

export const ExecutionFailures = {
  IMAGE_PULL_FAILED: 'IMAGE_PULL_FAILED',
  IMAGE_NOT_FOUND: 'IMAGE_NOT_FOUND',
  AUTH_FAILED: 'AUTH_FAILED',
  START_FAILED: 'START_FAILED',
  TIMEOUT: 'TIMEOUT',
  OOM_KILLED: 'OOM_KILLED',
  ABORTED: 'ABORTED',
  DOCKER_ERROR: 'DOCKER_ERROR',
} as const;
export type ExecutionFailure = (typeof ExecutionFailures)[keyof typeof ExecutionFailures];

export interface ExecutionSuccess {
  outcome: 'ok';
  exitCode: number;
  /** protocol/digest.ts over the exit code and the WHOLE stdout, not only the kept part. */
  digest: string;
  /** At most stdoutCapBytes. */
  stdout: Buffer;
  /** At most stderrCapBytes. */
  stderr: Buffer;
  /** True when stdout or stderr printed more than its cap. */
  truncated: boolean;
  /** From the container's start to its exit (the pull is not counted). */
  durationMs: number;
}

export interface ExecutionError {
  outcome: 'error';
  reason: ExecutionFailure;
  message: string;
  exitCode?: number;
  /** What the task printed before it failed, when it got to run. */
  stdout?: Buffer;
  stderr?: Buffer;
  /** From the start of the container to its end, or until the failure when it never started. */
  durationMs: number;
}

export type ExecutionOutcome = ExecutionSuccess | ExecutionError;

export interface RunOptions {
  signal?: AbortSignal;
  registryAuth?: RegistryAuth;
  /** Docker container name; must be unique on the engine. */
  name?: string;
  /** Added to the container's labels; the dcloud label is always set. */
  labels?: Record<string, string>;
}

export interface Executor {
  run(spec: ExecutionSpec, options?: RunOptions): Promise<ExecutionOutcome>;
}

export interface ExecutorComponents {
  docker: Dockerode;
}

export interface ExecutorOptions {
  stdoutCapBytes?: number;
  stderrCapBytes?: number;
  tmpfsBytes?: number;
  /** Numeric "uid:gid", never root. */
  user?: string;
  pidsLimit?: number;
}

export class ExecutorError extends DcloudError {
  constructor(code: ExecutorErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, 400, options);
    this.name = 'ExecutorError';
  }
}

export const ExecutorErrorCodes = {
  INVALID_SPEC: 'EXECUTOR_INVALID_SPEC',
  INVALID_OPTIONS: 'EXECUTOR_INVALID_OPTIONS',
} as const;
export type ExecutorErrorCode = (typeof ExecutorErrorCodes)[keyof typeof ExecutorErrorCodes];

/**
 * How long to wait for the output stream to drain after the container has exited. The engine
 * closes it right away; this only bounds the wait if it ever does not.
 */
const OUTPUT_DRAIN_MS = 5_000;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ExecutorError(ExecutorErrorCodes.INVALID_OPTIONS, `${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function sandboxLimits(options: ExecutorOptions): SandboxLimits {
  const user = options.user ?? '65534:65534';
  const ids = parseTaskUser(user);
  if (ids === undefined) {
    throw new ExecutorError(ExecutorErrorCodes.INVALID_OPTIONS, `user must be a numeric non-root "uid:gid", got ${JSON.stringify(user)}`);
  }
  return {
    user,
    ...ids,
    pidsLimit: positiveInteger('pidsLimit', options.pidsLimit ?? 128),
    tmpfsBytes: positiveInteger('tmpfsBytes', options.tmpfsBytes ?? 64 * 1024 * 1024),
  };
}

/** Resolves when the stream has ended or closed, or after `ms`, whichever is first. */
function drained(stream: Readable, ms: number): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      stream.off('end', done).off('close', done).off('error', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stream.once('end', done).once('close', done).once('error', done);
  });
}

export function createExecutor(components: ExecutorComponents, options: ExecutorOptions = {}): Executor {
  const { docker } = components;
  const limits = sandboxLimits(options);
  const stdoutCap = positiveInteger('stdoutCapBytes', options.stdoutCapBytes ?? 1024 * 1024);
  const stderrCap = positiveInteger('stderrCapBytes', options.stderrCapBytes ?? 64 * 1024);

  async function run(spec: ExecutionSpec, runOptions: RunOptions = {}): Promise<ExecutionOutcome> {
    if (!Value.Check(ExecutionSpec, spec)) {
      const first = Value.Errors(ExecutionSpec, spec).First();
      throw new ExecutorError(ExecutorErrorCodes.INVALID_SPEC, `invalid execution spec: ${first ? `${first.path || '/'} ${first.message}` : 'unknown'}`);
    }
    const { signal } = runOptions;
    const began = performance.now();
    const failed = (reason: ExecutionFailure, message: string, extra: Partial<ExecutionError> = {}): ExecutionError => ({
      outcome: 'error',
      reason,
      message,
      durationMs: Math.round(performance.now() - began),
      ...extra,
    });
    const abortedBeforeStart = (): ExecutionError => failed('ABORTED', 'the task was aborted before its container started');

    if (signal?.aborted) return abortedBeforeStart();
    const image = await ensureImage(docker, spec.image, {
      ...(runOptions.registryAuth === undefined ? {} : { auth: runOptions.registryAuth }),
      ...(signal === undefined ? {} : { signal }),
    });
    if (!image.ok) return failed(image.reason, image.message);
    if (signal?.aborted) return abortedBeforeStart();

    const labels = { ...runOptions.labels, [DCLOUD_LABEL]: runOptions.labels?.[DCLOUD_LABEL] ?? 'true' };
    let container: Dockerode.Container;
    try {
      container = await docker.createContainer(
        hardenedContainer(spec, limits, {
          ...(runOptions.name === undefined ? {} : { name: runOptions.name }),
          labels,
          imageVolumes: image.volumes,
        }),
      );
    } catch (err) {
      return failed('START_FAILED', `cannot create the container: ${daemonMessage(err)}`);
    }

    const digest = new ResultDigest();
    const stdout = new CappedOutput(stdoutCap, digest);
    const stderr = new CappedOutput(stderrCap);
    let output: Readable | undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped: 'TIMEOUT' | 'ABORTED' | undefined;
    const kill = (why: 'TIMEOUT' | 'ABORTED'): void => {
      stopped ??= why;
      // Fails harmlessly when the container has already exited.
      container.kill().catch(() => {});
    };
    const onAbort = (): void => kill('ABORTED');
    try {
      try {
        // Attached before start, so not a byte of output is missed.
        const attached = await container.attach({ stream: true, stdout: true, stderr: true });
        if (!(attached instanceof Readable)) return failed('DOCKER_ERROR', 'attaching to the container gave no output stream');
        output = attached;
      } catch (err) {
        return failed('DOCKER_ERROR', `cannot attach to the container: ${daemonMessage(err)}`);
      }
      docker.modem.demuxStream(output, stdout, stderr);
      if (signal?.aborted) return abortedBeforeStart();

      let startedAt: number;
      try {
        await container.start();
        startedAt = performance.now();
      } catch (err) {
        return failed('START_FAILED', `cannot start the container: ${daemonMessage(err)}`);
      }
      timer = setTimeout(() => kill('TIMEOUT'), spec.timeoutS * 1000);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort();

      try {
        await container.wait();
        const durationMs = Math.round(performance.now() - startedAt);
        await drained(output, OUTPUT_DRAIN_MS);
        const { State: state } = await container.inspect();
        const printed = { exitCode: state.ExitCode, stdout: stdout.contents(), stderr: stderr.contents(), durationMs };
        if (stopped === 'ABORTED') return failed('ABORTED', 'the task was aborted while running', printed);
        if (stopped === 'TIMEOUT') return failed('TIMEOUT', `the task ran past its timeout of ${spec.timeoutS} s and was killed`, printed);
        if (state.OOMKilled) return failed('OOM_KILLED', `the task used more than its ${spec.ramGb} GB of memory and was killed`, printed);
        return {
          outcome: 'ok',
          exitCode: state.ExitCode,
          digest: digest.finish(state.ExitCode),
          stdout: printed.stdout,
          stderr: printed.stderr,
          truncated: stdout.truncated || stderr.truncated,
          durationMs,
        };
      } catch (err) {
        return failed('DOCKER_ERROR', `lost track of the container: ${daemonMessage(err)}`);
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      output?.destroy();
      await container.remove({ force: true, v: true }).catch(() => {});
    }
  }

  return { run };
}

/**
 * Removes every container carrying the dcloud label (and `labels`, to narrow it to one agent),
 * running or not: what a crashed agent left behind. Returns how many were removed.
 */
export async function cleanupOrphans(
  docker: Dockerode,
  options: { labels?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<number> {
  const label = [DCLOUD_LABEL, ...Object.entries(options.labels ?? {}).map(([k, v]) => `${k}=${v}`)];
  const found = await docker.listContainers({
    all: true,
    filters: { label },
    ...(options.signal === undefined ? {} : { abortSignal: options.signal }),
  });
  const removed = await Promise.all(
    found.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .then(
          () => 1,
          // Someone else removed it first (the executor's own finally): gone either way.
          (err: unknown) => (statusOf(err) === 404 ? 0 : Promise.reject(err)),
        ),
    ),
  );
  return removed.reduce((a: number, b) => a + b, 0);
}
