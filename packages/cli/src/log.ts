export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Extra fields of a log line: shown as JSON keys, ignored by the text format. */
export type Fields = Record<string, string | number | boolean>;

/**
 * Log lines of a command. Text format prints the message alone, like the seed
 * (`client connect:5 127.0.0.1:53122`); json prints one object a line with time, level,
 * msg and the fields. debug and info go to stdout, warn and error to stderr.
 */
export class Logger {
  readonly level: LogLevel;
  readonly format: LogFormat;
  readonly #min: number;

  constructor(level: LogLevel = 'info', format: LogFormat = 'text') {
    this.level = level;
    this.format = format;
    this.#min = RANK[level];
  }

  /** Whether a line at `level` would be printed (lets callers skip building it). */
  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.#min;
  }

  debug(text: string, msg: string, fields?: Fields): void {
    if (this.#min <= RANK.debug) this.#write('debug', text, msg, fields);
  }

  info(text: string, msg: string, fields?: Fields): void {
    if (this.#min <= RANK.info) this.#write('info', text, msg, fields);
  }

  warn(text: string, msg: string, fields?: Fields): void {
    if (this.#min <= RANK.warn) this.#write('warn', `warning: ${text}`, msg, fields);
  }

  error(text: string, msg: string, fields?: Fields): void {
    this.#write('error', `error: ${text}`, msg, fields);
  }

  /** A line printed whatever the level (`listening on …`, the stats line): a contract. */
  always(text: string, msg: string, fields?: Fields): void {
    this.#write('info', text, msg, fields);
  }

  #write(level: LogLevel, text: string, msg: string, fields: Fields | undefined): void {
    const stream = RANK[level] >= RANK.warn ? process.stderr : process.stdout;
    if (this.format === 'text') {
      stream.write(`${text}\n`);
    } else {
      stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
    }
  }
}
