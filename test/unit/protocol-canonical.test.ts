import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { describe, expect, it } from 'vitest';
import { canonicalJson, isCanonicalJson } from '../../protocol/canonical.ts';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units, recursively, without white space', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null }, '\u20ac': 1, '\ud83d\ude00': 2, é: 3 })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1,"é":3,"€":1,"😀":2}',
    );
  });

  it('formats numbers as ECMAScript does (RFC 8785 3.2.2.3)', () => {
    expect(canonicalJson([1.0, -0, 1e21, 1e-7, 0.1 + 0.2, 1e20, 123456789012345680000, 5e-324])).toBe(
      '[1,0,1e+21,1e-7,0.30000000000000004,100000000000000000000,123456789012345680000,5e-324]',
    );
  });

  it('escapes only what JSON must: quote, backslash, control characters', () => {
    expect(canonicalJson('"\\/\n\t\u0000\u001f\u007f\u2028é😀')).toBe('"\\"\\\\/\\n\\t\\u0000\\u001f\u007f\u2028é😀"');
  });

  it('throws a TypeError for what it cannot represent', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, '\ud800', { a: '\udc00' }, undefined, () => 1]) {
      expect(() => canonicalJson(bad), String(bad)).toThrow(TypeError);
    }
  });
});

/** Seeded random JSON values that exercise every branch of the fast check. */
function generator(seed: number) {
  const rng = xoroshiro128plus(seed);
  const int = (a: number, b: number) => uniformInt(rng, a, b);
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  const keys = ['a', 'b', 'B', 'aa', '', '1', '2', '10', '01', '-1', '__proto__', 'é', '€', '😀', 'ab\n', 'v', 'type'];
  const strings = ['', 'x', 'Grüße', '"quoted"', 'back\\slash', 'tab\t', '\u0000', '\u2028', '😀', '/', 'a/b'];
  const numbers = [0, -0, 1, -1, 0.5, 1e21, 1e-7, 123.456, 2 ** 53, -(2 ** 31), 5e-324, 1.7976931348623157e308];
  const value = (depth: number): unknown => {
    switch (int(0, depth > 3 ? 3 : 5)) {
      case 0:
        return pick(numbers);
      case 1:
        return pick(strings);
      case 2:
        return pick([true, false, null]);
      case 3:
        return int(-1_000_000, 1_000_000) / pick([1, 10, 1000]);
      case 4:
        return Array.from({ length: int(0, 4) }, () => value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let n = int(0, 5); n > 0; n--) Object.defineProperty(o, pick(keys), { value: value(depth + 1), enumerable: true, configurable: true, writable: true });
        return o;
      }
    }
  };
  /** Writes the value with a random key order and random white space: sometimes canonical by luck. */
  const write = (v: unknown): string => {
    const ws = () => pick(['', '', '', ' ', '\n']);
    if (Array.isArray(v)) return `[${ws()}${v.map(write).join(`,${ws()}`)}]`;
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      if (int(0, 1) === 1) entries.reverse();
      return `{${entries.map(([k, x]) => `${JSON.stringify(k)}${ws()}:${write(x)}`).join(',')}}`;
    }
    return JSON.stringify(v);
  };
  return { value, write };
}

describe('isCanonicalJson agrees with canonicalJson', () => {
  it('accepts the canonical text of 2,000 random values', () => {
    const { value } = generator(1);
    for (let i = 0; i < 2000; i++) {
      const text = canonicalJson(value(0));
      expect(isCanonicalJson(text, JSON.parse(text)), text).toBe(true);
    }
  });

  it('decides exactly like re-serialising on 5,000 randomly written texts', () => {
    const { value, write } = generator(2);
    let canonical = 0;
    for (let i = 0; i < 5000; i++) {
      const text = write(value(0));
      const parsed: unknown = JSON.parse(text);
      const expected = canonicalJson(parsed) === text;
      if (expected) canonical++;
      expect(isCanonicalJson(text, parsed), text).toBe(expected);
    }
    // Both outcomes were exercised.
    expect(canonical).toBeGreaterThan(100);
    expect(canonical).toBeLessThan(4900);
  });

  it('refuses duplicate keys, which JSON.parse silently collapses', () => {
    expect(isCanonicalJson('{"a":1,"a":1}', JSON.parse('{"a":1,"a":1}'))).toBe(false);
    expect(isCanonicalJson('{"a":{"b":1,"b":1}}', JSON.parse('{"a":{"b":1,"b":1}}'))).toBe(false);
  });

  it('refuses lone surrogates in values and in keys', () => {
    expect(isCanonicalJson('"\\ud800"', JSON.parse('"\\ud800"'))).toBe(false);
    expect(isCanonicalJson('{"\\udc00":1}', JSON.parse('{"\\udc00":1}'))).toBe(false);
    expect(isCanonicalJson('[{"a":"\\ud83d"}]', JSON.parse('[{"a":"\\ud83d"}]'))).toBe(false);
  });

  it('accepts integer-like keys in string order though JavaScript enumerates them numerically', () => {
    const text = '{"1":0,"10":1,"9":2,"a":3}';
    expect(Object.keys(JSON.parse(text))).toEqual(['1', '9', '10', 'a']);
    expect(isCanonicalJson(text, JSON.parse(text))).toBe(true);
    const numericOrder = '{"1":0,"9":2,"10":1,"a":3}';
    expect(isCanonicalJson(numericOrder, JSON.parse(numericOrder))).toBe(false);
  });

  it('refuses numbers that overflow to Infinity', () => {
    expect(isCanonicalJson('[1e400]', JSON.parse('[1e400]'))).toBe(false);
  });

  it('refuses text that is not the value given', () => {
    expect(isCanonicalJson('{"a":1}', { a: 2 })).toBe(false);
  });
});
