/**
 * The one place where the core's integer answers become outcomes (as undici's client-h1 does
 * for llhttp): an answer the caller expects passes through, anything else is an
 * InternalError naming the operation and the status. The binding never reads a negative
 * number as "end of stream" by accident.
 */
import { InternalError } from './errors.js';

/**
 * Returns `status` when it is ≥ 0 or one of `allowed`; throws InternalError otherwise.
 * `operation` names the core call in the message (e.g. 'read', 'push').
 */
export function expectStatus(operation: string, status: number, ...allowed: number[]): number {
  if (status >= 0 || allowed.includes(status)) return status;
  throw new InternalError(operation, status);
}
