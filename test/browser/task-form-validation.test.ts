// The agent page's form checks (web/agent/validate.ts), pure: each field's message, the command
// split into words, and the request built only from a clean form.
import { describe, expect, it } from 'vitest';
import { FORM_DEFAULTS, splitCommand, validateTask } from '../../web/agent/validate.ts';

const valid = { ...FORM_DEFAULTS, image: '127.0.0.1:5000/dcloud/busybox:1', command: 'echo 42' };

describe('the task form\'s checks', () => {
  it('build the request from a valid form, defaults included', () => {
    const { request, errors } = validateTask(valid);
    expect(errors).toEqual({});
    expect(request).toEqual({ image: valid.image, command: ['echo', '42'], cpu: 1, ramGb: 0.5, minTrust: 5, overlap: 1, timeoutS: 300 });
    expect(validateTask({ ...valid, registryUser: 'u', registryPassword: 'p' }).request?.registryAuth).toEqual({ username: 'u', password: 'p' });
  });

  it('name the field and the limit of every wrong value, and build nothing', () => {
    const cases: Array<[Partial<typeof valid>, string, string]> = [
      [{ image: '' }, 'image', 'Image is required, e.g. 127.0.0.1:5000/dcloud/busybox:1'],
      [{ image: 'a b' }, 'image', 'An image name has no spaces'],
      [{ command: '   ' }, 'command', 'Command is required, e.g. echo 42'],
      [{ command: "echo 'x" }, 'command', 'Command: a single quote is not closed'],
      [{ cpu: '0' }, 'cpu', 'CPU must be more than 0 cores'],
      [{ cpu: '2000' }, 'cpu', 'CPU must be at most 1024 cores'],
      [{ cpu: 'two' }, 'cpu', 'CPU must be a number'],
      [{ ramGb: '' }, 'ramGb', 'RAM is required'],
      [{ minTrust: '11' }, 'minTrust', 'Minimum trust must be at most 10'],
      [{ overlap: '1.5' }, 'overlap', 'Overlap must be a whole number'],
      [{ overlap: '0' }, 'overlap', 'Overlap must be at least 1 agents'],
      [{ timeoutS: '0' }, 'timeoutS', 'Timeout must be at least 1 s'],
      [{ registryUser: 'u' }, 'registryPassword', 'A registry user needs its password'],
      [{ registryPassword: 'p' }, 'registryUser', 'A registry password needs its user'],
    ];
    for (const [change, field, message] of cases) {
      const { request, errors } = validateTask({ ...valid, ...change });
      expect(request, JSON.stringify(change)).toBeUndefined();
      expect(errors, JSON.stringify(change)).toEqual({ [field]: message });
    }
  });

  it('split a command line into words the way a shell quotes them, expanding nothing', () => {
    expect(splitCommand('sh -c "echo $HOME && ls"')).toEqual(['sh', '-c', 'echo $HOME && ls']);
    expect(splitCommand("printf '%s\\n' a\\ b \"\"")).toEqual(['printf', '%s\\n', 'a b', '']);
    expect(splitCommand('  echo   42  ')).toEqual(['echo', '42']);
    expect(splitCommand('echo "a \\" b"')).toEqual(['echo', 'a " b']);
    expect(splitCommand('echo "open')).toEqual({ error: 'a double quote is not closed' });
  });
});
