import { createHash, randomBytes } from 'node:crypto';
import { digestOf, type TaskSpecBody } from '../protocol/index.ts';
import { newTask, recordAssignments, type Task, transition } from '../src/core/index.ts';
import type { ImageValidator, ImageVerdict } from './image-validator.ts';

/**
 * Known-answer tasks (the core's spot-check.ts decides when one is due and judges the answer;
 * this module only makes them). Each is fresh: a random token echoed by the operator's image, so
 * it looks like any small task and cannot be recognised from an earlier one, and the hub knows the
 * digest an honest agent reports (exit code 0, the token and a newline on stdout). The image is
 * validated like any task's before the first one is made (watchSpotCheckImage).
 */

export interface SpotCheckOptions {
  /** The image the checks run on (`--spot-check-image`); it must have `sh` and `echo`. */
  image: string;
  cpu?: number;
  ramGb?: number;
  timeoutS?: number;
}

/** A new known-answer task of hub `hubId`, already in its first round on `assignmentId`. */
export function makeSpotCheck(options: SpotCheckOptions, hubId: string, now: number): { task: Task; token: string } {
  const token = randomBytes(16).toString('hex');
  const spec: TaskSpecBody = {
    image: options.image,
    command: ['sh', '-c', `echo ${token}`],
    cpu: options.cpu ?? 0.1,
    ramGb: options.ramGb ?? 0.1,
    minTrust: 0,
    overlap: 1,
    timeoutS: options.timeoutS ?? 60,
  };
  // Random like a content id: nothing in the id tells it from a submitted task's.
  const id = createHash('sha256').update(`dcloud-spot-check\n${token}`).digest('hex');
  const created = newTask({ id, submitter: hubId, spec, home: hubId, at: now });
  const task: Task = { ...transition(created, 'pending', now), replicas: 1, spotCheck: { known: digestOf(0, `${token}\n`) } };
  return { task, token };
}

/** The known-answer task once its one assignment is made. */
export function startSpotCheck(task: Task, assignmentId: string, now: number): Task {
  return recordAssignments(task, [assignmentId], now);
}

/**
 * What the hub knows of its spot-check image: `checking` until the first validation answers,
 * `ready` once the hub's Docker engine has it, `unusable` (with the reason) when it could not be
 * pulled. The hub hands out no known-answer task until `ready`, and says why wherever people look
 * (an error in the log, GET /v1/network's `validation`, the reason of every waiting task).
 */
export interface SpotCheckImageStatus {
  image: string;
  status: 'checking' | 'ready' | 'unusable';
  reason?: string;
  /** When the last validation answered. */
  checkedAt?: number;
}

export interface SpotCheckImageWatch {
  current(): SpotCheckImageStatus;
  /** Validates now, then again every `retryMs` while unusable (the network may come back). */
  start(signal: AbortSignal): void;
  /** Resolves once the validation in flight, if any, has ended (after the start signal aborted). */
  settled(): Promise<void>;
}

export interface SpotCheckImageWatchComponents {
  validator: ImageValidator;
  clock: () => number;
  /** Told of every change of status. */
  onChange?: (status: SpotCheckImageStatus) => void;
}

export function watchSpotCheckImage(components: SpotCheckImageWatchComponents, options: { image: string; retryMs: number }): SpotCheckImageWatch {
  let status: SpotCheckImageStatus = { image: options.image, status: 'checking' };
  let inFlight: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const check = async (signal: AbortSignal): Promise<void> => {
    let verdict: ImageVerdict;
    try {
      verdict = await components.validator.validate(options.image, undefined, signal);
    } catch {
      return; // the hub is stopping
    }
    const next: SpotCheckImageStatus = verdict.ok
      ? { image: options.image, status: 'ready', checkedAt: components.clock() }
      : { image: options.image, status: 'unusable', reason: verdict.reason, checkedAt: components.clock() };
    const changed = next.status !== status.status || next.reason !== status.reason;
    status = next;
    if (changed) components.onChange?.(status);
    if (next.status === 'unusable' && !signal.aborted) {
      timer = setTimeout(() => {
        inFlight = check(signal);
      }, options.retryMs);
      timer.unref();
    }
  };

  return {
    current: () => status,
    start(signal) {
      clearTimeout(timer);
      status = { image: options.image, status: 'checking' };
      signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
      inFlight = check(signal);
    },
    settled: () => inFlight,
  };
}
