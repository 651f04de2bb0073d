import type { Scenario } from '../harness/scenario.ts';
import { churn } from './churn.ts';
import { federation } from './federation.ts';
import { orchestration } from './orchestration.ts';
import { sybil } from './sybil.ts';
import { trustValidation } from './trust-validation.ts';

/** Every scenario `dcloud sim` knows, in the order it lists them. */
export const SCENARIOS: readonly Scenario[] = [trustValidation, orchestration, churn, sybil, federation] as unknown as Scenario[];
