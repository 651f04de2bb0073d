import { DcloudError } from '../../protocol/errors.ts';

/**
 * What can go wrong before or around a simulation run. Usage errors (a scenario or an option the
 * user got wrong) exit with 2, like any command-line usage error; an output that cannot be written
 * exits with 1.
 */
export const SimErrorCodes = {
  UNKNOWN_SCENARIO: 'SIM_UNKNOWN_SCENARIO',
  UNKNOWN_OPTION: 'SIM_UNKNOWN_OPTION',
  INVALID_OPTION: 'SIM_INVALID_OPTION',
  OUTPUT_UNWRITABLE: 'SIM_OUTPUT_UNWRITABLE',
} as const;

export class UnknownScenarioError extends DcloudError {
  readonly exitCode = 2;
  constructor(name: string, known: readonly string[]) {
    super(SimErrorCodes.UNKNOWN_SCENARIO, `unknown scenario ${JSON.stringify(name)}; known scenarios: ${known.join(', ')}`);
    this.name = 'UnknownScenarioError';
  }
}

export class UnknownOptionError extends DcloudError {
  readonly exitCode = 2;
  constructor(option: string, scenario: string, known: readonly string[]) {
    super(SimErrorCodes.UNKNOWN_OPTION, `unknown option ${option} for scenario ${scenario}; its options: ${known.map((o) => `--${o}`).join(', ')}`);
    this.name = 'UnknownOptionError';
  }
}

export class InvalidOptionError extends DcloudError {
  readonly exitCode = 2;
  constructor(option: string, value: string, allowed: string) {
    super(SimErrorCodes.INVALID_OPTION, `invalid value ${JSON.stringify(value)} for --${option}: ${allowed}`);
    this.name = 'InvalidOptionError';
  }
}

export class OutputUnwritableError extends DcloudError {
  readonly exitCode = 1;
  constructor(dir: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(SimErrorCodes.OUTPUT_UNWRITABLE, `cannot write the output folder ${dir}: ${why}`, 500, { cause });
    this.name = 'OutputUnwritableError';
  }
}

export type SimError = UnknownScenarioError | UnknownOptionError | InvalidOptionError | OutputUnwritableError;

export function isSimError(err: unknown): err is SimError {
  return err instanceof UnknownScenarioError || err instanceof UnknownOptionError || err instanceof InvalidOptionError || err instanceof OutputUnwritableError;
}
