import { expect } from 'vitest';
import type { DcloudError } from '../../protocol/errors.ts';

type ErrorClass<E extends DcloudError> = abstract new (...args: never[]) => E;

/** Runs `fn`, asserts it throws an instance of `errorClass` with `code`, and returns the error. */
export function expectError<E extends DcloudError>(fn: () => unknown, errorClass: ErrorClass<E>, code: E['code']): E {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected a throw').toBeInstanceOf(errorClass);
  expect((thrown as E).code).toBe(code);
  return thrown as E;
}

/** Awaits `promise`, asserts it rejects with an instance of `errorClass` with `code`, and returns the error. */
export async function expectRejection<E extends DcloudError>(promise: Promise<unknown>, errorClass: ErrorClass<E>, code: E['code']): Promise<E> {
  let thrown: unknown;
  try {
    await promise;
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected a rejection').toBeInstanceOf(errorClass);
  expect((thrown as E).code).toBe(code);
  return thrown as E;
}
