import { isIP } from 'node:net';
import { InvalidArgumentError } from './errors.js';

import { MAX_TIMEOUT } from './defaults.js';

export { MAX_TIMEOUT };

/** Wait without limit (RT-Thread's RT_WAITING_FOREVER). */
export const WAIT_FOREVER = -1;

const TIMEOUT_RULE = `WAIT_FOREVER (-1) or an integer from 0 to ${MAX_TIMEOUT} (milliseconds)`;

export function checkTimeout(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < WAIT_FOREVER || value > MAX_TIMEOUT) {
    throw new InvalidArgumentError(name, TIMEOUT_RULE, value);
  }
  return value;
}

export function checkSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw new InvalidArgumentError(name, 'an AbortSignal or undefined', value);
  return value;
}

export function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidArgumentError(name, 'a boolean', value);
  return value;
}

export function checkPowerOfTwo(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max || (value & (value - 1)) !== 0) {
    throw new InvalidArgumentError(name, `a power of two from ${min} to ${max}`, value);
  }
  return value;
}

/** An IPv4/IPv6 address literal (no host names: binding must not depend on DNS). */
export function checkHost(name: string, value: unknown): string {
  if (typeof value !== 'string' || isIP(value) === 0) {
    throw new InvalidArgumentError(name, 'an IPv4 or IPv6 address such as "127.0.0.1", "::1", "0.0.0.0" or "::"', value);
  }
  return value;
}

export const RECV_BUFFER_RULE = 'a non-empty Buffer or Uint8Array (not detached)';

/**
 * A receive buffer: a non-empty Uint8Array (Buffer included). A detached buffer, or a view of
 * a resizable ArrayBuffer shrunk to nothing, has length 0 and is refused the same way.
 */
export function checkRecvBuffer(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length === 0) {
    throw new InvalidArgumentError(name, RECV_BUFFER_RULE, value);
  }
  return value;
}

/** True when `view`'s ArrayBuffer was detached (transferred): V8 refuses to build a view on it. */
export function isDetached(view: ArrayBufferView): boolean {
  if (view.byteLength > 0) return false;
  try {
    new Uint8Array(view.buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

export const SEND_DATA_RULE = 'a Buffer, a Uint8Array or a string (not detached)';

/** Bytes to send: Buffer/Uint8Array as is (never copied), strings as UTF-8. */
export function toSendBytes(name: string, value: unknown): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (!(value instanceof Uint8Array) || isDetached(value)) throw new InvalidArgumentError(name, SEND_DATA_RULE, value);
  if (Buffer.isBuffer(value)) return value;
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

export function checkFunction<T extends (...args: never[]) => unknown>(name: string, value: unknown): T {
  if (typeof value !== 'function') throw new InvalidArgumentError(name, 'a function', value);
  return value as T;
}
