import { describe, expect, it } from 'vitest';
import { DEFAULT_PARAMS } from '../../src/core/params.ts';
import { TASK_SPEC_DEFAULTS, taskSpec } from '../../src/core/task-spec.ts';

describe('taskSpec', () => {
  it('fills what was not said from the defaults, trust and overlap from the core parameters', () => {
    expect(taskSpec({ image: 'img:1', command: ['echo', '42'] })).toEqual({
      image: 'img:1',
      command: ['echo', '42'],
      cpu: TASK_SPEC_DEFAULTS.cpu,
      ramGb: TASK_SPEC_DEFAULTS.ramGb,
      timeoutS: TASK_SPEC_DEFAULTS.timeoutS,
      minTrust: DEFAULT_PARAMS.taskDefaults.minTrust,
      overlap: DEFAULT_PARAMS.taskDefaults.overlap,
    });
  });

  it('keeps what was said, including the optional fields', () => {
    const spec = taskSpec({ image: 'i', command: ['x'], cpu: 2, ramGb: 4, minTrust: 1, overlap: 3, timeoutS: 9, description: 'd', privateRegistry: true });
    expect(spec).toEqual({ image: 'i', command: ['x'], cpu: 2, ramGb: 4, minTrust: 1, overlap: 3, timeoutS: 9, description: 'd', privateRegistry: true });
  });
});
