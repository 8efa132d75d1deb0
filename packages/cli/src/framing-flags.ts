import { LIMITS, type Framing } from '@tcpserv/node';
import { UsageError, integerFlag, type Flag, type FlagValues } from './flags.js';

/** What `--framing` accepts, as its error message says it. */
const FRAMING_FORMS = 'raw|line|length:1|2|4[:le]|fixed:N|delimiter:TEXT';

/** A parsed `--framing` value: a library framing without maxFrameSize (that is `--max-frame`). */
export type FramingChoice =
  | { type: 'raw' }
  | { type: 'line' }
  | { type: 'delimiter'; delimiter: Buffer }
  | { type: 'length'; headerBytes: 1 | 2 | 4; endian: 'be' | 'le' }
  | { type: 'fixed'; size: number };

function badFraming(raw: string): UsageError {
  return new UsageError(`--framing: expected ${FRAMING_FORMS}, got ${JSON.stringify(raw)}`);
}

/**
 * The TEXT of `delimiter:TEXT` as bytes: UTF-8, with the escapes \n \r \t \\ and \xHH so
 * that a shell user can ask for `delimiter:\r\n` or a NUL byte (`delimiter:\x00`).
 */
export function unescapeDelimiter(text: string, raw: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '\\') {
      const code = text.codePointAt(i)!;
      const encoded = Buffer.from(String.fromCodePoint(code), 'utf8');
      bytes.push(...encoded);
      if (code > 0xffff) i++;
      continue;
    }
    const next = text[++i];
    if (next === 'n') bytes.push(10);
    else if (next === 'r') bytes.push(13);
    else if (next === 't') bytes.push(9);
    else if (next === '\\') bytes.push(92);
    else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      throw new UsageError(`--framing: delimiter escapes are \\n \\r \\t \\\\ and \\xHH, got ${JSON.stringify(raw)}`);
    }
  }
  return Buffer.from(bytes);
}

/** `--framing line|length:4:le|…`: the form only; sizes against --rx-buffer are checked with the other flags. */
export function framingFlag(description: string): Flag<FramingChoice> {
  return {
    value: 'MODE', description, defaultText: 'raw',
    parse(raw) {
      if (raw === 'raw') return { type: 'raw' };
      if (raw === 'line') return { type: 'line' };
      if (raw.startsWith('delimiter:')) {
        const delimiter = unescapeDelimiter(raw.slice('delimiter:'.length), raw);
        const { minBytes, maxBytes } = LIMITS.delimiter;
        if (delimiter.length < minBytes || delimiter.length > maxBytes) {
          throw new UsageError(`--framing: a delimiter is ${minBytes} to ${maxBytes} bytes, got ${JSON.stringify(raw)} (${delimiter.length} bytes)`);
        }
        return { type: 'delimiter', delimiter };
      }
      const length = /^length:(\d+)(?::(be|le))?$/.exec(raw);
      if (length) {
        const headerBytes = Number(length[1]);
        if (!LIMITS.lengthHeaderBytes.includes(headerBytes)) throw badFraming(raw);
        return { type: 'length', headerBytes: headerBytes as 1 | 2 | 4, endian: (length[2] ?? 'be') as 'be' | 'le' };
      }
      const fixed = /^fixed:(\d+)$/.exec(raw);
      if (fixed) {
        const size = Number(fixed[1]);
        if (!Number.isSafeInteger(size) || size < 1) throw badFraming(raw);
        return { type: 'fixed', size };
      }
      throw badFraming(raw);
    },
  };
}

export const FRAMING_FLAGS = {
  framing: framingFlag('how bytes are cut into frames; each frame is echoed back with sendFrame '
    + `(${FRAMING_FORMS}; length = big-endian payload length header, :le little-endian)`),
  'max-frame': integerFlag('BYTES', 'largest frame a client may send with --framing line, delimiter or length, '
    + 'at most --rx-buffer; a larger one closes that client', 1, LIMITS.rxBufferSize.max, 'the --rx-buffer size'),
} as const;

/** The `framing` option from --framing and --max-frame, or undefined for the library's default (raw). */
export function framingOption(flags: FlagValues<typeof FRAMING_FLAGS>): Framing | undefined {
  const choice = flags.framing;
  const maxFrame = flags['max-frame'];
  if (maxFrame !== undefined && (choice === undefined || choice.type === 'raw' || choice.type === 'fixed')) {
    throw new UsageError(`--max-frame needs --framing line, delimiter:TEXT or length:N (a ${choice?.type ?? 'raw'} frame has no maximum to set)`);
  }
  if (choice === undefined) return undefined;
  const max = maxFrame === undefined ? {} : { maxFrameSize: maxFrame };
  switch (choice.type) {
    case 'raw': return 'raw';
    case 'line': return { type: 'line', ...max };
    case 'delimiter': return { type: 'delimiter', delimiter: choice.delimiter, ...max };
    case 'length': return { type: 'length', headerBytes: choice.headerBytes, endian: choice.endian, ...max };
    default: return { type: 'fixed', size: choice.size };
  }
}
