import { DcloudError } from '../../protocol/errors.ts';
import type { TaskStatus } from './model.ts';

/**
 * The core's error catalogue. Every class carries a stable `code` (what callers branch on and what
 * HTTP answers carry) and the HTTP `status` an edge should answer with when the error reaches it.
 */
export const CoreErrorCodes = {
  ILLEGAL_TRANSITION: 'TASK_ILLEGAL_TRANSITION',
  INVALID_PARAMS: 'CORE_INVALID_PARAMS',
  UNKNOWN_AGENT: 'CAPACITY_UNKNOWN_AGENT',
  CAPACITY_EXCEEDED: 'CAPACITY_EXCEEDED',
  INVALID_VOTES: 'CONSENSUS_INVALID_VOTES',
} as const;
export type CoreErrorCode = (typeof CoreErrorCodes)[keyof typeof CoreErrorCodes];

/** A task was asked to move to a status its lifecycle does not allow from where it is. */
export class IllegalTransitionError extends DcloudError {
  readonly taskId: string;
  readonly from: TaskStatus;
  readonly to: TaskStatus;

  constructor(taskId: string, from: TaskStatus, to: TaskStatus) {
    super(CoreErrorCodes.ILLEGAL_TRANSITION, `task ${taskId} cannot go from ${from} to ${to}`, 409);
    this.name = 'IllegalTransitionError';
    this.taskId = taskId;
    this.from = from;
    this.to = to;
  }
}

/** A core parameter is missing, of the wrong type, out of range, or inconsistent with another. */
export class InvalidParamsError extends DcloudError {
  /** Dotted path of the offending field, e.g. `validation.threshold`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(CoreErrorCodes.INVALID_PARAMS, `${field}: ${message}`, 400);
    this.name = 'InvalidParamsError';
    this.field = field;
  }
}

/** The capacity index was asked to reserve on an agent it does not hold. */
export class UnknownAgentError extends DcloudError {
  readonly agentId: string;

  constructor(agentId: string) {
    super(CoreErrorCodes.UNKNOWN_AGENT, `agent ${agentId} is not in the capacity index`, 404);
    this.name = 'UnknownAgentError';
    this.agentId = agentId;
  }
}

/** A reservation would take more than an agent has free: the hub must never overbook an agent. */
export class CapacityExceededError extends DcloudError {
  readonly agentId: string;

  constructor(agentId: string, message: string) {
    super(CoreErrorCodes.CAPACITY_EXCEEDED, `agent ${agentId}: ${message}`, 409);
    this.name = 'CapacityExceededError';
    this.agentId = agentId;
  }
}

/** The votes handed to a validation policy cannot be decided on (one agent twice, a bad trust value). */
export class InvalidVotesError extends DcloudError {
  constructor(message: string) {
    super(CoreErrorCodes.INVALID_VOTES, message, 400);
    this.name = 'InvalidVotesError';
  }
}
