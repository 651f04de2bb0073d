import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestOf, ResultDigest, resultDigest } from '../../protocol/digest.ts';

const sha256 = (...parts: Array<string | Uint8Array>) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

describe('result digest', () => {
  it('is sha256("dcloud-result-v1\\n" || exit code || "\\n" || sha256(stdout)), hex', () => {
    const stdout = Buffer.from('42\n');
    const expected = sha256('dcloud-result-v1\n0\n', sha256(stdout)).toString('hex');
    expect(digestOf(0, stdout)).toBe(expected);
    expect(digestOf(0, '42\n')).toBe(expected);
    expect(resultDigest(0, sha256(stdout))).toBe(expected);
  });

  it('streams: any split of stdout into chunks gives the same digest', () => {
    const stdout = Buffer.from('x'.repeat(10_000) + 'é😀'.repeat(100));
    const whole = digestOf(3, stdout);
    for (const size of [1, 7, 4096, stdout.length]) {
      const stream = new ResultDigest();
      for (let i = 0; i < stdout.length; i += size) stream.update(stdout.subarray(i, i + size));
      expect(stream.finish(3), `chunks of ${size}`).toBe(whole);
    }
  });

  it('separates exit codes and outputs', () => {
    const digests = new Set([digestOf(0, ''), digestOf(1, ''), digestOf(-1, ''), digestOf(0, '42'), digestOf(0, '42\n'), digestOf(10, ''), digestOf(1, '0')]);
    expect(digests.size).toBe(7);
  });
});
