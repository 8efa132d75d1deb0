/**
 * A table of API calls and the outcome each must have (throw, reject, resolve, return), run
 * in one go so a failure lists every mismatch; and the rules InvalidArgumentError's messages
 * state for timeouts, buffers and data.
 */
import { ClientClosedError, InvalidArgumentError, ServerDestroyedError, type TcpServError } from '../../src/index.js';

export const TIMEOUT_RULE = 'WAIT_FOREVER (-1) or an integer from 0 to 2147483647 (milliseconds)';
export const BUF_RULE = 'a non-empty Buffer or Uint8Array (not detached)';
export const DATA_RULE = 'a Buffer, a Uint8Array or a string (not detached)';

type ErrorClass = new (...args: never[]) => TcpServError;
type Expectation =
  | { throws: ErrorClass; code: string; message: string }
  | { rejects: ErrorClass; code: string; message: string }
  | { resolves: unknown }
  | { returns: unknown };
export type Row = [label: string, call: () => unknown, expectation: Expectation];

export const invalid = (message: string): Expectation => ({ throws: InvalidArgumentError, code: 'ERR_TCPSERV_INVALID_ARGUMENT', message });
export const closedReject = (id: number): Expectation => ({ rejects: ClientClosedError, code: 'ERR_TCPSERV_CLIENT_CLOSED', message: `client ${id} is closed` });
export const closedThrow = (id: number): Expectation => ({ throws: ClientClosedError, code: 'ERR_TCPSERV_CLIENT_CLOSED', message: `client ${id} is closed` });
export const destroyedReject = (name: string): Expectation => ({ rejects: ServerDestroyedError, code: 'ERR_TCPSERV_SERVER_DESTROYED', message: `server "${name}" has been destroyed` });
export const destroyedThrow = (name: string): Expectation => ({ throws: ServerDestroyedError, code: 'ERR_TCPSERV_SERVER_DESTROYED', message: `server "${name}" has been destroyed` });

/** Runs each row; collects every mismatch so one run reports them all. */
export async function runTable(rows: Row[]): Promise<string[]> {
  const problems: string[] = [];
  for (const [label, call, expectation] of rows) {
    let returned: unknown;
    let thrown: unknown;
    try {
      returned = call();
    } catch (error) {
      thrown = error;
    }
    if ('throws' in expectation) {
      problems.push(...compareError(label, thrown, expectation, 'throw synchronously'));
      continue;
    }
    if (thrown !== undefined) {
      problems.push(`${label}: threw synchronously ${String(thrown)}`);
      continue;
    }
    if ('returns' in expectation) {
      if (!Object.is(returned, expectation.returns)) problems.push(`${label}: returned ${String(returned)} instead of ${String(expectation.returns)}`);
      continue;
    }
    if (!(returned instanceof Promise)) {
      problems.push(`${label}: returned ${String(returned)} instead of a promise`);
      continue;
    }
    const settled = await Promise.race([
      returned.then((value) => ({ value }), (error: unknown) => ({ error })),
      new Promise<{ pending: true }>((resolve) => setTimeout(() => resolve({ pending: true }), 2000)),
    ]);
    if ('pending' in settled) {
      problems.push(`${label}: still pending after 2 s`);
    } else if ('rejects' in expectation) {
      if (!('error' in settled)) problems.push(`${label}: resolved ${String(settled.value)} instead of rejecting`);
      else problems.push(...compareError(label, settled.error, { ...expectation, throws: expectation.rejects }, 'reject'));
    } else if ('error' in settled) {
      problems.push(`${label}: rejected with ${String(settled.error)} instead of resolving`);
    } else if ('resolves' in expectation && !Object.is(settled.value, expectation.resolves)) {
      problems.push(`${label}: resolved ${String(settled.value)} instead of ${String(expectation.resolves)}`);
    }
  }
  return problems;
}

function compareError(label: string, error: unknown, expected: { throws: ErrorClass; code: string; message: string }, how: string): string[] {
  if (error === undefined) return [`${label}: did not ${how} (expected ${expected.throws.name})`];
  const problems: string[] = [];
  if (!(error instanceof expected.throws)) problems.push(`${label}: ${how} ${String(error)}, expected a ${expected.throws.name}`);
  const e = error as TcpServError;
  if (e.code !== expected.code) problems.push(`${label}: code ${e.code}, expected ${expected.code}`);
  if (e.message !== expected.message) problems.push(`${label}: message "${e.message}", expected "${expected.message}"`);
  return problems;
}
