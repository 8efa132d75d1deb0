import { isIP } from 'node:net';
import { parseArgs } from 'node:util';

/** Bad usage: a wrong flag, value or argument. The CLI prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** One flag of a command: how it looks in help, and how its value is checked. */
export interface Flag<T> {
  /** Placeholder of the value in help (e.g. `N`); absent for a switch such as `--help`. */
  readonly value?: string;
  /** One line of help. */
  readonly description: string;
  /** Default shown in help, if any. */
  readonly defaultText?: string;
  /** Checks and converts the raw value; throws UsageError naming `flag` (e.g. `--port`). */
  readonly parse: (raw: string, flag: string) => T;
  /**
   * How a repeated flag combines with what came before (e.g. a list that grows); without
   * it a repeated flag keeps its last value.
   */
  combine?(previous: T | undefined, next: T): T;
}

export type FlagSpec = Readonly<Record<string, Flag<unknown>>>;

/** The parsed values, keyed like the spec (kebab-case); absent flags are undefined. */
export type FlagValues<S extends FlagSpec> = { -readonly [K in keyof S]?: S[K] extends Flag<infer T> ? T : never };

export interface Parsed<S extends FlagSpec> {
  readonly flags: FlagValues<S>;
  readonly positionals: string[];
}

/**
 * Parses `argv` against `spec` with node:util's tokenizer and checks every token itself, so
 * that every mistake gets one line that names the flag. A repeated flag keeps its last value
 * unless it says how to combine (see Flag.combine).
 */
export function parseFlags<S extends FlagSpec>(command: string, argv: readonly string[], spec: S): Parsed<S> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, flag] of Object.entries(spec)) {
    options[name] = { type: flag.value ? 'string' : 'boolean' };
  }
  if (spec.help) options.help!.short = 'h';
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const flags: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === 'option-terminator') continue;
    const flag = spec[token.name];
    const shown = token.rawName;
    if (!flag) {
      throw new UsageError(`unknown flag ${shown} for "${command}" (see ${command} --help)`);
    }
    if (!flag.value) {
      if (token.value !== undefined) throw new UsageError(`${shown} takes no value (got "${token.value}")`);
      flags[token.name] = flag.parse('', shown);
      continue;
    }
    // The tokenizer (not strict) takes the next word as the value even if it is another
    // flag: `--port --host x` means --port was given no value.
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) {
      throw new UsageError(`${shown} needs a value (${shown} ${flag.value})`);
    }
    const value = flag.parse(token.value, shown);
    flags[token.name] = flag.combine ? flag.combine(flags[token.name], value) : value;
  }
  return { flags: flags as FlagValues<S>, positionals };
}

/**
 * Flags of a command that takes no arguments (`tcpserver echo`, `tcpserver shell`), or
 * undefined once `--help` printed `help` (the command then exits 0).
 */
export function parseCommandFlags<S extends FlagSpec>(name: string, argv: readonly string[], spec: S, help: string): FlagValues<S> | undefined {
  const command = `tcpserver ${name}`;
  const { flags, positionals } = parseFlags(command, argv, spec);
  if ((flags as { help?: true }).help) {
    process.stdout.write(help);
    return undefined;
  }
  if (positionals.length > 0) throw new UsageError(`${name} takes no arguments (got "${positionals[0]}"); see ${command} --help`);
  return flags;
}

/** Help lines for a spec: `  --port N   TCP port … (default 5000)`. */
export function describeFlags(spec: FlagSpec): string {
  const rows = Object.entries(spec).map(([name, flag]) => {
    const left = `${name === 'help' ? '-h, ' : ''}--${name}${flag.value ? ` ${flag.value}` : ''}`;
    const right = flag.defaultText ? `${flag.description} (default ${flag.defaultText})` : flag.description;
    return [left, right] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`).join('\n');
}

// ── Value checkers ────────────────────────────────────────────────────────────

function bad(flag: string, rule: string, raw: string): UsageError {
  return new UsageError(`${flag} must be ${rule} (got ${JSON.stringify(raw)})`);
}

/** `--help`-style switch. */
export function switchFlag(description: string): Flag<true> {
  return { description, parse: () => true };
}

/** A decimal integer from min to max. */
export function integerFlag(value: string, description: string, min: number, max: number, defaultText?: string): Flag<number> {
  return {
    value, description, defaultText,
    parse(raw, flag) {
      const n = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) throw bad(flag, `an integer from ${min} to ${max}`, raw);
      return n;
    },
  };
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 * 1024 };

/** A byte count that is a power of two, optionally with a k (KiB) or m (MiB) suffix. */
export function powerOfTwoFlag(value: string, description: string, min: number, max: number, defaultText?: string): Flag<number> {
  return {
    value, description, defaultText,
    parse(raw, flag) {
      const m = /^(\d+)([kKmM]?)$/.exec(raw);
      const n = m ? Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]! : NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max || (n & (n - 1)) !== 0) {
        throw bad(flag, `a power of two from ${min} to ${max} bytes (a k or m suffix is allowed, e.g. 16k)`, raw);
      }
      return n;
    },
  };
}

/** An IPv4 or IPv6 address literal (the library binds addresses, never host names). */
export function addressFlag(value: string, description: string, defaultText?: string): Flag<string> {
  return { value, description, defaultText, parse: (raw, flag) => checkAddress(raw, flag) };
}

export function checkAddress(raw: string, name: string): string {
  if (isIP(raw) === 0) throw bad(name, 'an IPv4 or IPv6 address such as 127.0.0.1, ::1, 0.0.0.0 or ::', raw);
  return raw;
}

/** One of a fixed set of words. */
export function choiceFlag<const T extends string>(value: string, description: string, choices: readonly T[], defaultText?: string): Flag<T> {
  return {
    value, description, defaultText,
    parse(raw, flag) {
      if (!(choices as readonly string[]).includes(raw)) throw bad(flag, `one of ${choices.join(', ')}`, raw);
      return raw as T;
    },
  };
}

/** Free text (UTF-8) of at most maxBytes. */
export function textFlag(value: string, description: string, maxBytes: number): Flag<string> {
  return {
    value, description,
    parse(raw, flag) {
      if (Buffer.byteLength(raw) > maxBytes) throw bad(flag, `at most ${maxBytes} bytes of text`, raw);
      return raw;
    },
  };
}

/** A flag that may be given several times; its values are collected in order. */
export function repeatableFlag<T>(flag: Flag<T>): Flag<readonly T[]> {
  return {
    value: flag.value, description: `${flag.description} (repeatable)`, defaultText: flag.defaultText,
    parse: (raw, name) => [flag.parse(raw, name)],
    combine: (previous, next) => [...(previous ?? []), ...next],
  };
}

/** A path to a file, checked to exist when the command starts (not here). */
export function fileFlag(value: string, description: string): Flag<string> {
  return {
    value, description,
    parse(raw, flag) {
      if (raw === '' || raw.includes('\0')) throw bad(flag, 'a file path', raw);
      return raw;
    },
  };
}
