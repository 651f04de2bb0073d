import { DcloudError } from '../protocol/errors.ts';

/**
 * The hub engine's error catalogue: one class per condition, each with a stable `code` and the
 * HTTP `status` an API answers with. Edges map `status`/`code` generically; nobody parses messages.
 */

export const HubErrorCodes = {
  AGENT_NOT_REGISTERED: 'AGENT_NOT_REGISTERED',
  AGENT_INACTIVE: 'AGENT_INACTIVE',
  TASK_NOT_FOUND: 'TASK_NOT_FOUND',
  ASSIGNMENT_NOT_FOUND: 'ASSIGNMENT_NOT_FOUND',
  NOT_YOUR_ASSIGNMENT: 'NOT_YOUR_ASSIGNMENT',
  ASSIGNMENT_CLOSED: 'ASSIGNMENT_CLOSED',
  RESULT_CONFLICT: 'RESULT_CONFLICT',
  RESULT_MISMATCH: 'RESULT_MISMATCH',
  RESULT_INVALID: 'RESULT_INVALID',
  BAD_ADDRESS: 'BAD_ADDRESS',
  ENGINE_STOPPED: 'ENGINE_STOPPED',
  STORE_SCHEMA: 'STORE_SCHEMA_MISMATCH',
  POW_REQUIRED: 'POW_REQUIRED',
  POW_INVALID: 'POW_INVALID',
} as const;

/** The hub asks new agents for a proof of work (`--registration-pow-bits`) and the registration carries none. */
export class PowRequiredError extends DcloudError {
  constructor(bits: number) {
    super(HubErrorCodes.POW_REQUIRED, `this hub asks new agents for a proof of work of ${bits} bits: GET /v1/agents/challenge, solve it, register with body.pow`, 401);
    this.name = 'PowRequiredError';
  }
}

/** The registration's proof of work does not hold: unknown or expired challenge, or too few zero bits. */
export class PowInvalidError extends DcloudError {
  constructor(why: string) {
    super(HubErrorCodes.POW_INVALID, `proof of work refused: ${why}`, 403);
    this.name = 'PowInvalidError';
  }
}

export class AgentNotRegisteredError extends DcloudError {
  constructor(agentId: string) {
    super(HubErrorCodes.AGENT_NOT_REGISTERED, `agent ${agentId} is not registered with this hub (register first: agent.register)`, 404);
    this.name = 'AgentNotRegisteredError';
  }
}

/** An inactive agent must send a heartbeat before it may ask for work again. */
export class AgentInactiveError extends DcloudError {
  constructor(agentId: string) {
    super(HubErrorCodes.AGENT_INACTIVE, `agent ${agentId} is inactive: send a heartbeat to become active again`, 409);
    this.name = 'AgentInactiveError';
  }
}

export class TaskNotFoundError extends DcloudError {
  constructor(taskId: string) {
    super(HubErrorCodes.TASK_NOT_FOUND, `no task ${taskId} on this hub`, 404);
    this.name = 'TaskNotFoundError';
  }
}

export class AssignmentNotFoundError extends DcloudError {
  constructor(assignmentId: string) {
    super(HubErrorCodes.ASSIGNMENT_NOT_FOUND, `no assignment ${assignmentId} on this hub`, 404);
    this.name = 'AssignmentNotFoundError';
  }
}

export class NotYourAssignmentError extends DcloudError {
  constructor(assignmentId: string, agentId: string) {
    super(HubErrorCodes.NOT_YOUR_ASSIGNMENT, `assignment ${assignmentId} was not given to agent ${agentId}`, 403);
    this.name = 'NotYourAssignmentError';
  }
}

/** The assignment expired or was cancelled: its answer no longer counts. */
export class AssignmentClosedError extends DcloudError {
  constructor(assignmentId: string, status: string) {
    super(HubErrorCodes.ASSIGNMENT_CLOSED, `assignment ${assignmentId} is ${status}: its result is no longer accepted`, 409);
    this.name = 'AssignmentClosedError';
  }
}

/** A second, different result for an assignment that already has one. */
export class ResultConflictError extends DcloudError {
  constructor(assignmentId: string) {
    super(HubErrorCodes.RESULT_CONFLICT, `assignment ${assignmentId} already has a different result; the first one stands`, 409);
    this.name = 'ResultConflictError';
  }
}

/** A result whose taskId is not the task of the assignment it names. */
export class ResultMismatchError extends DcloudError {
  constructor(assignmentId: string, taskId: string) {
    super(HubErrorCodes.RESULT_MISMATCH, `assignment ${assignmentId} is not for task ${taskId}`, 400);
    this.name = 'ResultMismatchError';
  }
}

/** A result that contradicts itself: an `ok` without a digest, or a digest its stdout does not have. */
export class ResultInvalidError extends DcloudError {
  constructor(assignmentId: string, why: string) {
    super(HubErrorCodes.RESULT_INVALID, `result for assignment ${assignmentId} is refused: ${why}`, 400);
    this.name = 'ResultInvalidError';
  }
}

export class BadAddressError extends DcloudError {
  constructor(address: string) {
    super(HubErrorCodes.BAD_ADDRESS, `${JSON.stringify(address)} is not an IPv4 or IPv6 address`, 400);
    this.name = 'BadAddressError';
  }
}

export class EngineStoppedError extends DcloudError {
  constructor() {
    super(HubErrorCodes.ENGINE_STOPPED, 'the hub engine is not running', 503);
    this.name = 'EngineStoppedError';
  }
}

/** The data dir was written by a hub with another store layout: refuse rather than misread it. */
export class StoreSchemaError extends DcloudError {
  constructor(found: unknown, expected: number) {
    super(HubErrorCodes.STORE_SCHEMA, `hub store has schema ${JSON.stringify(found)}; this hub reads schema ${expected}`, 500);
    this.name = 'StoreSchemaError';
  }
}
