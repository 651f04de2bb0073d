import type { Scenario } from '../harness/scenario.ts';
import { trustValidation } from './trust-validation.ts';

/** Every scenario `dcloud sim` knows, in the order it lists them. */
export const SCENARIOS: readonly Scenario[] = [trustValidation as unknown as Scenario];
