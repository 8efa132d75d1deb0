import { InvalidArgumentError, MAX_TIMEOUT, type ServerOptions } from '@tcpserv/node';
import { UsageError, integerFlag, powerOfTwoFlag, textFlag, type FlagValues } from './flags.js';

const MAX_SOCKETS = 65536;

/**
 * Flags that map one-to-one onto createServer options; shared by `tcpserver echo` and the
 * shell's `tcpserver <ip> <port>` command.
 */
export const SERVER_FLAGS = {
  'max-clients': integerFlag('N', 'clients served at once; one more is closed at once', 1, MAX_SOCKETS, '1024'),
  'max-sockets': integerFlag('N', 'client table slots, which size memory; at least --max-clients', 1, MAX_SOCKETS,
    'the larger of 1024 and --max-clients'),
  'max-clients-per-address': integerFlag('N', 'clients at once from one IP address; 0 = no limit', 0, MAX_SOCKETS, '0'),
  'reject-message': textFlag('TEXT', 'line sent (with a newline) to a refused connection before it is closed', 4095),
  'rx-buffer': powerOfTwoFlag('BYTES', 'receive buffer per client: a power of two, 64 to 64m', 64, 64 * 1024 * 1024, '16384'),
  'idle-timeout': integerFlag('MS', 'close a client idle (nothing sent or received) this long; 0 = never', 0, MAX_TIMEOUT, '0'),
  'max-lifetime': integerFlag('MS', 'close a client this long after it connected; 0 = never', 0, MAX_TIMEOUT, '0'),
  backlog: integerFlag('N', "kernel's queue of connections not yet accepted", 1, 65535, '511'),
} as const;

/** Option name → flag, to turn the library's argument errors into flag errors. */
const FLAG_OF: Readonly<Record<string, string>> = {
  host: '--host', port: '--port', maxClients: '--max-clients', maxSockets: '--max-sockets',
  maxClientsPerAddress: '--max-clients-per-address', rejectMessage: '--reject-message', rxBufferSize: '--rx-buffer',
  idleTimeout: '--idle-timeout', maxLifetime: '--max-lifetime', backlog: '--backlog',
};

/** createServer options from the server flags (defaults are the library's). */
export function serverOptions(
  flags: FlagValues<typeof SERVER_FLAGS>,
  base: ServerOptions,
): ServerOptions {
  const maxClients = flags['max-clients'];
  const maxSockets = flags['max-sockets'];
  if (maxClients !== undefined && maxSockets !== undefined && maxClients > maxSockets) {
    throw new UsageError(`--max-clients must be at most --max-sockets (${maxSockets}) (got "${maxClients}")`);
  }
  const options: ServerOptions = { ...base };
  if (maxClients !== undefined) options.maxClients = maxClients;
  if (maxSockets !== undefined) options.maxSockets = maxSockets;
  if (flags['max-clients-per-address'] !== undefined) options.maxClientsPerAddress = flags['max-clients-per-address'];
  if (flags['reject-message'] !== undefined) options.rejectMessage = `${flags['reject-message']}\n`;
  if (flags['rx-buffer'] !== undefined) options.rxBufferSize = flags['rx-buffer'];
  if (flags['idle-timeout'] !== undefined) options.idleTimeout = flags['idle-timeout'];
  if (flags['max-lifetime'] !== undefined) options.maxLifetime = flags['max-lifetime'];
  if (flags.backlog !== undefined) options.backlog = flags.backlog;
  return options;
}

/**
 * The library's InvalidArgumentError as a UsageError naming flags instead of options
 * (e.g. "--max-sockets × --rx-buffer must be small enough …"); any other error unchanged.
 */
export function asUsageError(error: unknown): unknown {
  if (!(error instanceof InvalidArgumentError)) return error;
  return new UsageError(error.message.replace(/options\.(\w+)/g, (whole, name: string) => FLAG_OF[name] ?? whole));
}
