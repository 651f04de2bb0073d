import type { TaskSpecBody } from '../../protocol/messages.ts';
import { DEFAULT_PARAMS } from './params.ts';

/**
 * A task spec from what a person gave (the `submit` command, the agent's page): every field a
 * signed spec needs, the unsaid ones from the defaults. The spec is validated when it is sealed.
 */
export const TASK_SPEC_DEFAULTS = {
  cpu: 1,
  ramGb: 0.5,
  timeoutS: 300,
  minTrust: DEFAULT_PARAMS.taskDefaults.minTrust,
  overlap: DEFAULT_PARAMS.taskDefaults.overlap,
} as const;

export type TaskSpecInput = Pick<TaskSpecBody, 'image' | 'command'> & Partial<Omit<TaskSpecBody, 'image' | 'command'>>;

export function taskSpec(input: TaskSpecInput): TaskSpecBody {
  const spec: TaskSpecBody = {
    image: input.image,
    command: [...input.command],
    cpu: input.cpu ?? TASK_SPEC_DEFAULTS.cpu,
    ramGb: input.ramGb ?? TASK_SPEC_DEFAULTS.ramGb,
    minTrust: input.minTrust ?? TASK_SPEC_DEFAULTS.minTrust,
    overlap: input.overlap ?? TASK_SPEC_DEFAULTS.overlap,
    timeoutS: input.timeoutS ?? TASK_SPEC_DEFAULTS.timeoutS,
  };
  if (input.description !== undefined) spec.description = input.description;
  if (input.privateRegistry !== undefined) spec.privateRegistry = input.privateRegistry;
  return spec;
}
