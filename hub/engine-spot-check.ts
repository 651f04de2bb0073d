import { createHash, randomBytes } from 'node:crypto';
import { digestOf, type TaskSpecBody } from '../protocol/index.ts';
import { newTask, recordAssignments, type Task, transition } from '../src/core/index.ts';

/**
 * Known-answer tasks (the core's spot-check.ts decides when one is due and judges the answer;
 * this module only makes them). Each is fresh: a random token echoed by the operator's image, so
 * it looks like any small task and cannot be recognised from an earlier one, and the hub knows the
 * digest an honest agent reports (exit code 0, the token and a newline on stdout).
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
