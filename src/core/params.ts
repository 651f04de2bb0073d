import { InvalidParamsError } from './errors.ts';

/**
 * Every tunable of the core, with the original prototype's defaults (DESIGN 3a). One value of
 * this type is shared by the hub and the simulator, so both decide with the same numbers.
 */

export type SchedulingPolicy = 'heuristic' | 'fifo';
export const SCHEDULING_POLICIES: readonly SchedulingPolicy[] = ['heuristic', 'fifo'];

/** Names of the validation policies src/core implements (consensus.ts). */
export type ValidationPolicyName = 'trust-sum' | 'credibility';
export const VALIDATION_POLICIES: readonly ValidationPolicyName[] = ['trust-sum', 'credibility'];

export interface TrustParams {
  /** Trust of a newly registered agent. */
  readonly initial: number;
  readonly min: number;
  readonly max: number;
  /** Added to the trust of an agent that agreed with an accepted result. */
  readonly reward: number;
  /** Taken from the trust of an agent that disagreed with an accepted result. */
  readonly penalty: number;
}

export interface ValidationParams {
  readonly policy: ValidationPolicyName;
  /** A result is accepted when its share of the deciding weight is at least this, in (0, 1]. */
  readonly threshold: number;
}

/**
 * The credibility policy (credibility.ts), its spot-checks (spot-check.ts) and adaptive
 * replication (replication.ts): DESIGN 5, after Sarmenta, iExec PoCo and BOINC.
 */
export interface CredibilityParams {
  /** A result is accepted once the probability that it is correct reaches 1 - epsilon, in (0, 0.5). */
  readonly epsilon: number;
  /**
   * Log-odds an agent's vote gains per verified result in a row: its odds of being right are
   * exp(growth * record). A newcomer (record 0) has odds 1, no influence; so do many newcomers.
   */
  readonly growth: number;
  /** Verified results counted at most: one agent's odds never exceed exp(growth * maxRecord). */
  readonly maxRecord: number;
  /**
   * An agreeing vote is verified (it earns record and trust) only when the other votes of its
   * group, without it, give the result at least this credibility, in (0.5, 1); or when the
   * answer was known (a spot-check).
   */
  readonly witness: number;
  /** Replicas a round starts with: 1 lets a credible agent's result stand alone. */
  readonly initialReplicas: number;
  /** Replicas a round may grow to while the result stays undecided; then the round fails. */
  readonly maxReplicas: number;
  /**
   * Least probability that a result credible enough alone is cross-checked anyway, at random
   * (BOINC's 1/n for a record of n, never below this).
   */
  readonly audit: number;
  /**
   * Probability that an agent past probation (spot-check.ts) is handed a known-answer task when
   * it asks for work, in [0, 1).
   */
  readonly spotCheckRate: number;
}

export interface SchedulingParams {
  readonly policy: SchedulingPolicy;
  /** How many tasks the scheduler considers per pass (the thesis' active queue). */
  readonly activeQueueSize: number;
  /** Ps in P = (A / R - S * Ps) * W: priority lost per failure. */
  readonly stalePenalty: number;
  /**
   * Staleness: S counts failed rounds (+1 each, see health.afterFailedRound). A task is abandoned
   * once S * stalePenalty >= staleCeiling, i.e. after ceil(staleCeiling / stalePenalty) failures:
   * 5 with the defaults (10 and 50). The penalty must be > 0, so that retries always end.
   */
  readonly staleCeiling: number;
  /** W for a task that already has running replicas (status in_progress) and needs more. */
  readonly inProgressBoost: number;
}

export interface TaskDefaults {
  /** Trust an agent needs to run a task that does not say. */
  readonly minTrust: number;
  /** Replicas per task (agents that must run it and agree) when a task does not say. */
  readonly overlap: number;
}

export interface AgentParams {
  readonly heartbeatIntervalMs: number;
  /** An agent with no heartbeat for this long is inactive; its open assignments expire. */
  readonly inactiveAfterMs: number;
}

export interface AssignmentParams {
  /**
   * Extra time beyond a task's own timeout before an unanswered assignment expires: the agent
   * still has to fetch the work, pull the image and send its result.
   */
  readonly graceMs: number;
}

export interface CoreParams {
  readonly trust: TrustParams;
  readonly validation: ValidationParams;
  readonly credibility: CredibilityParams;
  readonly scheduling: SchedulingParams;
  readonly taskDefaults: TaskDefaults;
  readonly agents: AgentParams;
  readonly assignments: AssignmentParams;
}

/** What `mergeParams` accepts: any subset of the sections and of their fields. */
export type PartialCoreParams = { readonly [S in keyof CoreParams]?: Partial<CoreParams[S]> };

export const DEFAULT_PARAMS: CoreParams = deepFreeze({
  trust: { initial: 5.0, min: 1.0, max: 10.0, reward: 0.1, penalty: 0.2 },
  validation: { policy: 'trust-sum', threshold: 0.6 },
  // growth ln(2): odds double per verified result, so a record of 14 (odds 16,384) lets a result
  // stand alone at epsilon 1e-4, and two agents with 7 each can accept one together.
  credibility: { epsilon: 1e-4, growth: Math.LN2, maxRecord: 20, witness: 0.99, initialReplicas: 1, maxReplicas: 6, audit: 0.1, spotCheckRate: 0.05 },
  scheduling: { policy: 'heuristic', activeQueueSize: 10, stalePenalty: 10, staleCeiling: 50, inProgressBoost: 1.2 },
  taskDefaults: { minTrust: 5.0, overlap: 1 },
  agents: { heartbeatIntervalMs: 30_000, inactiveAfterMs: 120_000 },
  // Two heartbeat intervals: time to notice the work, pull an image and post the result.
  assignments: { graceMs: 60_000 },
});

/**
 * Deep-merges `partial` over `base` (the defaults unless given) and validates the result. Throws
 * InvalidParamsError naming the first bad field: an unknown section or field, a value that is
 * not a finite number of the right kind, or an inconsistent pair (min > max, threshold outside
 * (0, 1], ...). Input may come from a config file, so it is checked at run time, not trusted.
 */
export function mergeParams(partial: PartialCoreParams = {}, base: CoreParams = DEFAULT_PARAMS): CoreParams {
  if (!isRecord(partial)) throw new InvalidParamsError('params', 'must be an object');
  for (const section of Object.keys(partial)) {
    if (!Object.hasOwn(base, section)) throw new InvalidParamsError(section, 'unknown section');
    const given: unknown = partial[section as keyof CoreParams];
    if (given !== undefined && !isRecord(given)) throw new InvalidParamsError(section, 'must be an object');
    for (const field of Object.keys(given ?? {})) {
      if (!Object.hasOwn(base[section as keyof CoreParams], field)) {
        throw new InvalidParamsError(`${section}.${field}`, 'unknown field');
      }
    }
  }
  const merged = {
    trust: { ...base.trust, ...partial.trust },
    validation: { ...base.validation, ...partial.validation },
    credibility: { ...base.credibility, ...partial.credibility },
    scheduling: { ...base.scheduling, ...partial.scheduling },
    taskDefaults: { ...base.taskDefaults, ...partial.taskDefaults },
    agents: { ...base.agents, ...partial.agents },
    assignments: { ...base.assignments, ...partial.assignments },
  };
  validateParams(merged);
  return deepFreeze(merged);
}

/** Throws InvalidParamsError naming the first field of `params` that is out of range. */
export function validateParams(params: CoreParams): void {
  const { trust, validation, credibility, scheduling, taskDefaults, agents, assignments } = params;

  number('trust.min', trust.min, { min: 0 });
  number('trust.max', trust.max, { min: 0 });
  if (trust.min > trust.max) throw new InvalidParamsError('trust.min', `must not exceed trust.max (${trust.min} > ${trust.max})`);
  number('trust.initial', trust.initial, { min: trust.min, max: trust.max });
  number('trust.reward', trust.reward, { min: 0 });
  number('trust.penalty', trust.penalty, { min: 0 });

  oneOf('validation.policy', validation.policy, VALIDATION_POLICIES);
  number('validation.threshold', validation.threshold, { above: 0, max: 1 });

  number('credibility.epsilon', credibility.epsilon, { above: 0, below: 0.5 });
  number('credibility.growth', credibility.growth, { above: 0 });
  number('credibility.maxRecord', credibility.maxRecord, { min: 1, integer: true });
  number('credibility.witness', credibility.witness, { above: 0.5, below: 1 });
  number('credibility.initialReplicas', credibility.initialReplicas, { min: 1, max: 64, integer: true });
  number('credibility.maxReplicas', credibility.maxReplicas, { min: credibility.initialReplicas, max: 64, integer: true });
  number('credibility.audit', credibility.audit, { min: 0, max: 1 });
  number('credibility.spotCheckRate', credibility.spotCheckRate, { min: 0, below: 1 });

  oneOf('scheduling.policy', scheduling.policy, SCHEDULING_POLICIES);
  number('scheduling.activeQueueSize', scheduling.activeQueueSize, { min: 1, integer: true });
  number('scheduling.stalePenalty', scheduling.stalePenalty, { above: 0 });
  number('scheduling.staleCeiling', scheduling.staleCeiling, { above: 0 });
  number('scheduling.inProgressBoost', scheduling.inProgressBoost, { above: 0 });

  number('taskDefaults.minTrust', taskDefaults.minTrust, { min: 0, max: 10 });
  number('taskDefaults.overlap', taskDefaults.overlap, { min: 1, max: 64, integer: true });

  number('agents.heartbeatIntervalMs', agents.heartbeatIntervalMs, { above: 0 });
  number('agents.inactiveAfterMs', agents.inactiveAfterMs, { above: 0 });
  if (agents.inactiveAfterMs < agents.heartbeatIntervalMs) {
    throw new InvalidParamsError('agents.inactiveAfterMs', 'must be at least agents.heartbeatIntervalMs, or every agent looks dead between two heartbeats');
  }

  number('assignments.graceMs', assignments.graceMs, { min: 0 });
}

/** Failed rounds a task survives: the round after which `S * stalePenalty >= staleCeiling`. */
export function maxFailures(params: CoreParams): number {
  return Math.ceil(params.scheduling.staleCeiling / params.scheduling.stalePenalty);
}

interface Range {
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  above?: number;
  /** Exclusive upper bound. */
  below?: number;
  integer?: boolean;
}

function number(field: string, value: unknown, range: Range): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidParamsError(field, `must be a finite number (got ${String(value)})`);
  if (range.integer === true && !Number.isInteger(value)) throw new InvalidParamsError(field, `must be an integer (got ${value})`);
  if (range.min !== undefined && value < range.min) throw new InvalidParamsError(field, `must be >= ${range.min} (got ${value})`);
  if (range.above !== undefined && value <= range.above) throw new InvalidParamsError(field, `must be > ${range.above} (got ${value})`);
  if (range.max !== undefined && value > range.max) throw new InvalidParamsError(field, `must be <= ${range.max} (got ${value})`);
  if (range.below !== undefined && value >= range.below) throw new InvalidParamsError(field, `must be < ${range.below} (got ${value})`);
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): void {
  if (!allowed.includes(value as T)) throw new InvalidParamsError(field, `must be one of ${allowed.join(', ')} (got ${String(value)})`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (typeof inner === 'object' && inner !== null) deepFreeze(inner);
  }
  return Object.freeze(value);
}
