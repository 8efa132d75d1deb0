/**
 * The `framing` option: how a client's byte stream is cut into messages. The core finds the
 * boundaries (see @tcpserv/core-wasm); this file checks what the user asked for, turns it into
 * the core's form, and encodes outgoing frames for `sendFrame`.
 */
import type { CoreFraming } from '@tcpserv/core-wasm';
import { LIMITS } from './defaults.js';
import { InvalidArgumentError } from './errors.js';

/** A framing as users write it. `maxFrameSize` (payload bytes) defaults to rxBufferSize. */
export type Framing =
  | 'raw'
  | 'line'
  | { type: 'raw' }
  | { type: 'line'; maxFrameSize?: number }
  | { type: 'delimiter'; delimiter: string | Uint8Array; maxFrameSize?: number }
  | { type: 'length'; headerBytes: 1 | 2 | 4; endian?: 'be' | 'le'; maxFrameSize?: number }
  | { type: 'fixed'; size: number };

/** A checked framing: the core's form plus what sendFrame needs. */
export interface ResolvedFraming {
  /** The framing as an object with every field filled in (what `client.framing` shows). */
  readonly spec: Exclude<Framing, string>;
  readonly core: CoreFraming;
  /** Largest payload a peer may send (0 for raw). */
  readonly maxFrameSize: number;
}

export const RAW_FRAMING: ResolvedFraming = Object.freeze({
  spec: Object.freeze({ type: 'raw' as const }),
  core: Object.freeze({ mode: 'raw' }) as CoreFraming,
  maxFrameSize: 0,
});

const FRAMING_RULE = "'raw', 'line', or an object with type 'line', 'delimiter', 'length' or 'fixed'";
const KNOWN_FIELDS: Record<string, readonly string[]> = {
  raw: ['type'],
  line: ['type', 'maxFrameSize'],
  delimiter: ['type', 'delimiter', 'maxFrameSize'],
  length: ['type', 'headerBytes', 'endian', 'maxFrameSize'],
  fixed: ['type', 'size'],
};

/** Checks `value` (named `name` in errors, e.g. `options.framing`) against rxBufferSize. */
export function resolveFraming(name: string, value: unknown, rxBufferSize: number): ResolvedFraming {
  if (value === 'raw') return RAW_FRAMING;
  if (value === 'line') value = { type: 'line' };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(name, FRAMING_RULE, value);
  }
  const f = value as Record<string, unknown>;
  const type = f.type;
  if (typeof type !== 'string' || !(type in KNOWN_FIELDS)) throw new InvalidArgumentError(`${name}.type`, "'raw', 'line', 'delimiter', 'length' or 'fixed'", type);
  for (const key of Object.keys(f)) {
    if (!KNOWN_FIELDS[type]!.includes(key)) {
      throw new InvalidArgumentError(`${name}.${key}`, `one of the fields of a '${type}' framing (${KNOWN_FIELDS[type]!.join(', ')})`, f[key]);
    }
  }
  if (type === 'raw') return RAW_FRAMING;
  const maxFrameSize = (): number => {
    if (f.maxFrameSize === undefined) return rxBufferSize;
    return checkSize(`${name}.maxFrameSize`, f.maxFrameSize, rxBufferSize, 'at most rxBufferSize');
  };
  switch (type) {
    case 'line': {
      const max = maxFrameSize();
      return resolved({ type: 'line', maxFrameSize: max }, { mode: 'line', maxFrameSize: max }, max);
    }
    case 'delimiter': {
      const delimiter = toDelimiter(`${name}.delimiter`, f.delimiter);
      const max = maxFrameSize();
      return resolved({ type: 'delimiter', delimiter: Uint8Array.from(delimiter), maxFrameSize: max },
        { mode: 'delimiter', delimiter, maxFrameSize: max }, max);
    }
    case 'length': {
      const headerBytes = f.headerBytes;
      if (headerBytes !== 1 && headerBytes !== 2 && headerBytes !== 4) {
        throw new InvalidArgumentError(`${name}.headerBytes`, '1, 2 or 4', headerBytes);
      }
      const endian = f.endian ?? 'be';
      if (endian !== 'be' && endian !== 'le') throw new InvalidArgumentError(`${name}.endian`, "'be' or 'le'", endian);
      const max = maxFrameSize();
      return resolved({ type: 'length', headerBytes, endian, maxFrameSize: max },
        { mode: 'length', headerBytes, littleEndian: endian === 'le', maxFrameSize: max }, max);
    }
    default: { // fixed
      const size = checkSize(`${name}.size`, f.size, rxBufferSize, 'at most rxBufferSize');
      return resolved({ type: 'fixed', size }, { mode: 'fixed', size }, size);
    }
  }
}

function resolved(spec: Exclude<Framing, string>, core: CoreFraming, maxFrameSize: number): ResolvedFraming {
  return Object.freeze({ spec: Object.freeze(spec), core: Object.freeze(core), maxFrameSize });
}

function checkSize(name: string, value: unknown, rxBufferSize: number, why: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > rxBufferSize) {
    throw new InvalidArgumentError(name, `an integer from 1 to ${rxBufferSize} (${why})`, value);
  }
  return value;
}

function toDelimiter(name: string, value: unknown): Uint8Array {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value instanceof Uint8Array ? Uint8Array.from(value) : undefined;
  const { minBytes, maxBytes } = LIMITS.delimiter;
  if (!bytes || bytes.length < minBytes || bytes.length > maxBytes) {
    throw new InvalidArgumentError(name, `a string or Uint8Array of ${minBytes} to ${maxBytes} bytes`, value);
  }
  return bytes;
}

const NEWLINE = Buffer.from('\n');

/**
 * The bytes of one frame carrying `payload` in `framing`, as the parts to write back to back
 * (the send queue puts small parts into one write; nothing is copied here).
 * Throws InvalidArgumentError (naming `name`) when the payload cannot be framed so.
 */
export function encodeFrame(name: string, framing: ResolvedFraming, payload: Buffer): Buffer[] {
  const f = framing.core;
  switch (f.mode) {
    case 'raw':
      throw new InvalidArgumentError('sendFrame()', "used with a framing other than 'raw' (see setFraming)", 'raw');
    case 'line':
      if (payload.includes(10)) throw new InvalidArgumentError(name, 'a line without "\\n" (line framing)', payload);
      return [payload, NEWLINE];
    case 'delimiter': {
      const delimiter = Buffer.from(f.delimiter.buffer, f.delimiter.byteOffset, f.delimiter.byteLength);
      if (payload.includes(delimiter)) throw new InvalidArgumentError(name, 'free of the delimiter (delimiter framing)', payload);
      return [payload, delimiter];
    }
    case 'length': {
      const limit = f.headerBytes === 4 ? 0xffffffff : 2 ** (8 * f.headerBytes) - 1;
      if (payload.length > limit) {
        throw new InvalidArgumentError(name, `at most ${limit} bytes (a ${f.headerBytes}-byte length header)`, `${payload.length} bytes`);
      }
      const header = Buffer.allocUnsafe(f.headerBytes);
      if (f.littleEndian) header.writeUIntLE(payload.length, 0, f.headerBytes);
      else header.writeUIntBE(payload.length, 0, f.headerBytes);
      return [header, payload];
    }
    default: // fixed
      if (payload.length !== f.size) throw new InvalidArgumentError(name, `exactly ${f.size} bytes (fixed framing)`, `${payload.length} bytes`);
      return [payload];
  }
}
