import { InvalidArgumentError } from 'commander';

/**
 * Parsers for command-line option values: a bad value is a usage error naming the option's
 * expectation (commander prints it and main exits with EXIT_USAGE), never a NaN passed on.
 */

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number greater than 0.');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number, 0 or more.');
  return n;
}

export function positiveInteger(value: string): number {
  const n = positiveNumber(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number greater than 0.');
  return n;
}

/** For repeatable options (`--hub A --hub B`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
