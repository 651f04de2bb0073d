import { InvalidOptionError, UnknownOptionError } from './errors.ts';

/**
 * Scenario options: each scenario declares what it accepts, with ranges, and the parser answers a
 * wrong value with the option's name and what is allowed. Lists are comma-separated (`--agents 10,20`).
 */
export type OptionSpec =
  | { kind: 'int'; min: number; max: number; default: number; description: string }
  | { kind: 'number'; min: number; max: number; default: number; description: string }
  | { kind: 'int-list'; min: number; max: number; default: readonly number[]; description: string }
  | { kind: 'number-list'; min: number; max: number; default: readonly number[]; description: string }
  | { kind: 'choice'; choices: readonly string[]; default: string; description: string }
  | { kind: 'choice-list'; choices: readonly string[]; default: readonly string[]; description: string }
  | { kind: 'text'; default: string; description: string }
  | { kind: 'flag'; default: boolean; description: string };

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S extends { kind: 'int' | 'number' }
  ? number
  : S extends { kind: 'int-list' | 'number-list' }
    ? number[]
    : S extends { kind: 'choice' | 'text' }
      ? string
      : S extends { kind: 'choice-list' }
        ? string[]
        : boolean;

export type OptionValues<O extends OptionSpecs> = { -readonly [K in keyof O]: ValueOf<O[K]> };

export function defaults<O extends OptionSpecs>(specs: O): OptionValues<O> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    out[name] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  }
  return out as OptionValues<O>;
}

/** What `--name` accepts, in words, for errors and for help. */
export function allowedText(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'int':
      return `an integer from ${spec.min} to ${spec.max}`;
    case 'number':
      return `a number from ${spec.min} to ${spec.max}`;
    case 'int-list':
      return `comma-separated integers from ${spec.min} to ${spec.max}`;
    case 'number-list':
      return `comma-separated numbers from ${spec.min} to ${spec.max}`;
    case 'choice':
      return `one of ${spec.choices.join(', ')}`;
    case 'choice-list':
      return `comma-separated, from ${spec.choices.join(', ')}`;
    case 'text':
      return 'a non-empty text';
    case 'flag':
      return 'no value (a flag)';
  }
}

function parseNumber(name: string, spec: { min: number; max: number }, raw: string, integer: boolean, allowed: string): number {
  const trimmed = raw.trim();
  const value = trimmed === '' ? NaN : Number(trimmed);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < spec.min || value > spec.max) {
    throw new InvalidOptionError(name, raw, `expected ${allowed}`);
  }
  return value;
}

function parseValue(name: string, spec: OptionSpec, raw: string): unknown {
  const allowed = allowedText(spec);
  switch (spec.kind) {
    case 'int':
      return parseNumber(name, spec, raw, true, allowed);
    case 'number':
      return parseNumber(name, spec, raw, false, allowed);
    case 'int-list':
    case 'number-list': {
      const items = raw.split(',');
      const values = items.map((item) => parseNumber(name, spec, item, spec.kind === 'int-list', allowed));
      if (new Set(values).size !== values.length) throw new InvalidOptionError(name, raw, `expected ${allowed}, without repeats`);
      return values;
    }
    case 'choice':
      if (!spec.choices.includes(raw)) throw new InvalidOptionError(name, raw, `expected ${allowed}`);
      return raw;
    case 'choice-list': {
      const values = raw.split(',');
      for (const v of values) if (!spec.choices.includes(v)) throw new InvalidOptionError(name, raw, `expected ${allowed}`);
      if (new Set(values).size !== values.length) throw new InvalidOptionError(name, raw, `expected ${allowed}, without repeats`);
      return values;
    }
    case 'text':
      if (raw.length === 0) throw new InvalidOptionError(name, raw, `expected ${allowed}`);
      return raw;
    case 'flag':
      throw new InvalidOptionError(name, raw, `expected ${allowed}`);
  }
}

/**
 * Parses `--name value`, `--name=value` and `--flag` against `specs`. Anything else (a stray
 * word, an unknown option, a missing value) is an error naming it.
 */
export function parseOptions<O extends OptionSpecs>(specs: O, argv: readonly string[], scenario: string): OptionValues<O> {
  const values: Record<string, unknown> = defaults(specs);
  const known = Object.keys(specs);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UnknownOptionError(JSON.stringify(arg), scenario, known);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!Object.hasOwn(specs, name)) throw new UnknownOptionError(`--${name}`, scenario, known);
    const spec = specs[name]!;
    if (spec.kind === 'flag') {
      if (eq !== -1) throw new InvalidOptionError(name, arg.slice(eq + 1), `expected ${allowedText(spec)}`);
      values[name] = true;
      continue;
    }
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new InvalidOptionError(name, '', `a value is missing: expected ${allowedText(spec)}`);
      raw = next;
      i++;
    }
    values[name] = parseValue(name, spec, raw);
  }
  return values as OptionValues<O>;
}

/** The option list for `--help`. */
export function describeOptions(specs: OptionSpecs): string {
  const lines: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    const def = Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
    const flag = spec.kind === 'flag' ? `--${name}` : `--${name} <${spec.kind === 'choice' || spec.kind === 'choice-list' ? 'choice' : 'value'}>`;
    const allowed = spec.kind === 'flag' || spec.kind === 'text' ? '' : `${allowedText(spec)}; `;
    lines.push(`  ${flag.padEnd(28)} ${spec.description} (${allowed}default ${def === '' ? 'none' : def})`);
  }
  return lines.join('\n');
}
