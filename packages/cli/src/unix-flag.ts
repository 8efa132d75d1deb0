import { UsageError, type Flag } from './flags.js';

/**
 * `--unix PATH`: listen on a Unix domain socket instead of host/port. The library replaces a
 * stale socket file only if nothing answers on it, refuses a path that is not a socket, and
 * removes the file at the stop.
 */
export function unixFlag(): Flag<string> {
  return {
    value: 'PATH',
    description: 'listen on this Unix domain socket instead of --host/--port (a stale socket file is replaced, '
      + 'any other file refused; removed at the stop)',
    parse(raw, flag) {
      if (raw === '' || raw.includes('\0')) throw new UsageError(`${flag} must be a file system path (got ${JSON.stringify(raw)})`);
      return raw;
    },
  };
}
