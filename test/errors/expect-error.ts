/** Asserting an error's class and that its message names the op and the offending shapes/dtypes/values. */
import { expect } from 'vitest';

type ErrorClass = abstract new (...args: never[]) => Error;

/** Escapes a literal so message fragments like '[2, 3]' can be matched exactly. */
const literal = (s: string) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

/** fn must throw an instance of `cls` whose message starts with `op:` (or `op `) and contains every fragment. */
export function expectError(fn: () => unknown, cls: ErrorClass, op: string, ...fragments: (string | RegExp)[]): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  return check(caught, cls, op, fragments);
}

/** The same for async functions and promises. */
export async function expectRejection(p: Promise<unknown> | (() => Promise<unknown>), cls: ErrorClass, op: string, ...fragments: (string | RegExp)[]): Promise<Error> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    caught = e;
  }
  return check(caught, cls, op, fragments);
}

function check(caught: unknown, cls: ErrorClass, op: string, fragments: (string | RegExp)[]): Error {
  expect(caught, `expected ${cls.name} from ${op}, but nothing was thrown`).toBeDefined();
  expect(caught).toBeInstanceOf(cls);
  const e = caught as Error;
  expect(e.name).toBe(cls.name);
  expect(e.message, 'the message starts with the op name').toMatch(new RegExp(`^${op.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`));
  for (const f of fragments) expect(e.message).toMatch(typeof f === 'string' ? literal(f) : f);
  return e;
}
