import type { Random } from './random.ts';

/**
 * What a simulated agent answers for a replica: the task's correct digest, a wrong one, or a
 * failure (null). Digests are opaque to the consensus, so any distinct strings will do.
 */
export type Behaviour =
  /** Always the correct result. */
  | { kind: 'honest' }
  /** Always the same wrong result (the thesis' "evil"). */
  | { kind: 'malicious'; wrong: string }
  /** Correct, but a failure report with probability `failureRate` (a broken image pull, a crash). */
  | { kind: 'flaky'; failureRate: number }
  /**
   * One of an attacker's identities: on each task the attacker decides once, with probability
   * `collude`, that all its identities report the same wrong result; otherwise they answer
   * correctly, to earn trust for later.
   */
  | { kind: 'sybil'; wrong: string; collude: number; attacker: Attacker };

/** The attacker's shared memory: which tasks it decided to lie on. */
export class Attacker {
  readonly #decisions = new Map<string, boolean>();
  readonly #rng: Random;

  constructor(rng: Random) {
    this.#rng = rng;
  }

  liesOn(taskId: string, collude: number): boolean {
    let lie = this.#decisions.get(taskId);
    if (lie === undefined) {
      lie = this.#rng.chance(collude);
      this.#decisions.set(taskId, lie);
    }
    return lie;
  }

  /** Forget a decided task (long runs). */
  forget(taskId: string): void {
    this.#decisions.delete(taskId);
  }
}

/** The digest an agent reports, or null for a failure report. */
export function answer(behaviour: Behaviour, taskId: string, correct: string, rng: Random): string | null {
  switch (behaviour.kind) {
    case 'honest':
      return correct;
    case 'malicious':
      return behaviour.wrong;
    case 'flaky':
      return rng.chance(behaviour.failureRate) ? null : correct;
    case 'sybil':
      return behaviour.attacker.liesOn(taskId, behaviour.collude) ? behaviour.wrong : correct;
  }
}

/** True when the answer is a wrong result (not a failure, not the correct one). */
export function isWrong(digest: string | null, correct: string): boolean {
  return digest !== null && digest !== correct;
}
