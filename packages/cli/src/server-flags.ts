import { DEFAULTS, InvalidArgumentError, LIMITS, MAX_TIMEOUT, TcpServError, type ServerOptions } from '@tcpserv/node';
import { UsageError, integerFlag, powerOfTwoFlag, textFlag, type FlagValues } from './flags.js';
import { FRAMING_FLAGS, framingOption } from './framing-flags.js';
import { PROXY_FLAGS, proxyOptions } from './proxy-flags.js';
import { TLS_FLAGS, tlsOption } from './tls-flags.js';

const { maxClients: CLIENTS, maxClientsPerAddress: PER_ADDRESS, rxBufferSize: RX, backlog: BACKLOG } = LIMITS;

/**
 * Flags that map one-to-one onto createServer options; shared by `tcpserver echo` and the
 * shell's `tcpserver <ip> <port>` command. Defaults and ranges are the library's.
 */
export const SERVER_FLAGS = {
  'max-clients': integerFlag('N', 'clients served at once; one more is closed at once', CLIENTS.min, CLIENTS.max, String(DEFAULTS.maxSockets)),
  'max-sockets': integerFlag('N', 'client table slots, which size memory; at least --max-clients', LIMITS.maxSockets.min, LIMITS.maxSockets.max,
    `the larger of ${DEFAULTS.maxSockets} and --max-clients`),
  'max-clients-per-address': integerFlag('N', 'clients at once from one IP address; 0 = no limit', PER_ADDRESS.min, PER_ADDRESS.max,
    String(DEFAULTS.maxClientsPerAddress)),
  // The library's limit counts the newline the CLI appends.
  'reject-message': textFlag('TEXT', 'line sent (with a newline) to a refused connection before it is closed', LIMITS.rejectMessage.maxBytes - 1),
  'rx-buffer': powerOfTwoFlag('BYTES', `receive buffer per client: a power of two, ${RX.min} to ${RX.max / 1024 / 1024}m`, RX.min, RX.max,
    String(DEFAULTS.rxBufferSize)),
  'idle-timeout': integerFlag('MS', 'close a client idle (nothing sent or received) this long; 0 = never', 0, MAX_TIMEOUT, String(DEFAULTS.idleTimeout)),
  'max-lifetime': integerFlag('MS', 'close a client this long after it connected; 0 = never', 0, MAX_TIMEOUT, String(DEFAULTS.maxLifetime)),
  backlog: integerFlag('N', "kernel's queue of connections not yet accepted", BACKLOG.min, BACKLOG.max, String(DEFAULTS.backlog)),
  ...FRAMING_FLAGS,
  ...TLS_FLAGS,
  ...PROXY_FLAGS,
} as const;

/** Option name → flag, to turn the library's argument errors into flag errors. */
const FLAG_OF: Readonly<Record<string, string>> = {
  host: '--host', port: '--port', maxClients: '--max-clients', maxSockets: '--max-sockets',
  maxClientsPerAddress: '--max-clients-per-address', rejectMessage: '--reject-message', rxBufferSize: '--rx-buffer',
  idleTimeout: '--idle-timeout', maxLifetime: '--max-lifetime', backlog: '--backlog', path: '--unix',
  framing: '--framing', 'framing.size': '--framing fixed:N', 'framing.delimiter': '--framing', 'framing.maxFrameSize': '--max-frame',
  tls: '--tls-cert', 'tls.cert': '--tls-cert', 'tls.key': '--tls-key', 'tls.ca': '--tls-ca',
  proxyProtocol: '--proxy-protocol', trustedProxies: '--trusted-proxy',
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
  const framing = framingOption(flags);
  if (framing !== undefined) options.framing = framing;
  const tls = tlsOption(flags);
  if (tls !== undefined) options.tls = tls;
  Object.assign(options, proxyOptions(flags));
  return options;
}

/**
 * The library's InvalidArgumentError as a UsageError naming flags instead of options
 * (e.g. "--max-sockets × --rx-buffer must be small enough …"), and so is its refusal of the
 * TLS material the --tls-* files hold; any other error unchanged.
 */
export function asUsageError(error: unknown): unknown {
  const tlsMaterial = error instanceof TcpServError && /options\.tls\b/.test(error.message);
  if (!(error instanceof InvalidArgumentError) && !tlsMaterial) return error;
  return new UsageError((error as Error).message
    .replace(/options\.([\w.]*\w)/g, (whole, name: string) => FLAG_OF[name] ?? FLAG_OF[name.split('.')[0]!] ?? whole)
    .replace(/\brxBufferSize\b/g, '--rx-buffer'));
}
