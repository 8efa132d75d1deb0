import { CoreConfigError, constants as K, layoutBytes } from '@tcpserv/core-wasm';
import { DEFAULTS, LIMITS, MAX_TIMEOUT } from './defaults.js';
import { InvalidArgumentError } from './errors.js';
import { type Framing, type ResolvedFraming, resolveFraming } from './framing.js';
import type { ErrorHandler, NotifyCallback } from './notify.js';
import { type ResolvedTlsOptions, type TlsOptions, resolveTlsOptions } from './tls-options.js';
import { trustedProxyList } from './trusted-proxies.js';
import { checkBoolean, checkFunction, checkHost, checkInteger, checkPowerOfTwo } from './validate.js';

/** Options of `createServer`. Every one is optional except `port` (or `path`). */
export interface ServerOptions {
  /**
   * IPv4 or IPv6 address to bind ("127.0.0.1", "::1", "0.0.0.0" for every IPv4 interface,
   * "::" for every interface). Host names are refused. Default: "::" (all interfaces,
   * dual-stack where the system allows it, as node:net).
   */
  host?: string;
  /** TCP port, 0…65535; 0 picks a free port (read it from `server.address()`). Required unless `path`. */
  port?: number;
  /**
   * Listen on this Unix domain socket path instead of host/port (exactly one of the two forms).
   * A stale socket file left by a crashed server is replaced only if nothing answers on it; a
   * path that exists and is not a socket is refused. The file is removed on destroy/shutdown.
   * Per-address limits do not apply to Unix peers.
   */
  path?: string;
  /** Tag in log lines and error messages (the seed's server name). Default "tcpserver". */
  name?: string;
  /**
   * Slots in the client table (the seed's "maximum possible socket usage"); sizes the core's
   * memory: maxSockets × (rxBufferSize + 64) bytes plus a little. 1…65536.
   * Default: max(1024, maxClients).
   */
  maxSockets?: number;
  /**
   * Clients served at once (the seed's "number of clients supported"); one more is closed at
   * once and counted in `stats().rejected`. 1…maxSockets; change it later with
   * `server.setMaxClients()`. Default: maxSockets.
   */
  maxClients?: number;
  /** Clients served at once from one remote IP address; 0 = no per-address limit. Default 0. */
  maxClientsPerAddress?: number;
  /**
   * Sent (best effort, one write) to a connection refused by maxClients or
   * maxClientsPerAddress before it is closed, e.g. "server full\n". Default: nothing.
   */
  rejectMessage?: string | Uint8Array;
  /** Log connects, disconnects and refusals to stderr with the name tag. Default false. */
  debug?: boolean;
  /**
   * Receive buffer per client inside the core (a power of two, 64 B…64 MiB). Reading from the
   * socket pauses when it is full and resumes when it is half empty. Default 16384.
   */
  rxBufferSize?: number;
  /** Length of the kernel's queue of not-yet-accepted connections. Default 511. */
  backlog?: number;
  /** Close a client that neither sent nor received for this many ms; 0 = never. Default 0. */
  idleTimeout?: number;
  /** Close any client this many ms after it connected, busy or not; 0 = never. Default 0. */
  maxLifetime?: number;
  /** How long `close()` waits for queued sends to flush before it resets the connection. Default 5000. */
  closeTimeout?: number;
  /** Disable Nagle's algorithm on every client socket. Default true (low latency). */
  noDelay?: boolean;
  /** Enable TCP keep-alive probes; a number is the initial delay in ms. Default false. */
  keepAlive?: boolean | number;
  /**
   * After the peer ends its side, keep ours open until the app calls `close()`. When false,
   * the server closes its side once the app has read to end of stream and its sends have
   * flushed (as node:net's allowHalfOpen: false). Default false.
   */
  allowHalfOpen?: boolean;
  /**
   * Receives errors with no caller to reject: a notify callback that throws or rejects, accept
   * failures such as EMFILE, an internal error. Default: print to stderr with the name tag.
   */
  onError?: ErrorHandler;
  /**
   * The notify callback (CONNECT / RECV / DISCONNECT), set before the server listens so that no
   * client misses its CONNECT. `setNotifyCallback` changes it later.
   */
  notify?: NotifyCallback;
  /**
   * Bytes per client accepted by `send` and not yet taken by the kernel. A send that would
   * exceed it (while other bytes are queued) is refused at once. Default 1 MiB.
   */
  maxSendQueue?: number;
  /**
   * What a send past maxSendQueue does: 'reject' (SendQueueFullError, the client stays) or
   * 'close' (also aborts the slow client: closeReason 'slow', stats().slowClosed). Default 'reject'.
   */
  sendQueueFull?: 'reject' | 'close';
  /** How every client's bytes are cut into frames (see `Framing`); per client `setFraming`. Default 'raw'. */
  framing?: Framing;
  /**
   * Serve TLS (node:tls): `{ key, cert, ca?, passphrase?, pfx?, requestCert?, rejectUnauthorized?,
   * ALPNProtocols?, SNICallback?, minVersion?, ciphers?, handshakeTimeout? }` (see TlsOptions).
   * A connection becomes a client once its handshake succeeded; failed handshakes are closed and
   * counted in `stats().tlsErrors`. Default: plain TCP.
   */
  tls?: TlsOptions;
  /** Share the port with other processes (SO_REUSEPORT; Node ≥ 22.12 / 23.1). Default false. */
  reusePort?: boolean;
  /**
   * Expect a PROXY protocol header (HAProxy's v1, v2, or either) first on every connection, as
   * sent by a load balancer (HAProxy send-proxy / send-proxy-v2, nginx proxy_protocol on):
   * client.remoteAddress/remotePort/remoteFamily, per-address limits and logs then use the real
   * client's address, and client.proxy tells the balancer's address and v2 TLVs. A connection
   * whose header is missing, malformed, oversized or late is closed and counted in
   * stats().proxyErrors (never a client); a health check (v2 LOCAL) is closed quietly. Default false.
   */
  proxyProtocol?: 'v1' | 'v2' | 'any' | false;
  /** How long a connection may take to send its PROXY header, in ms. Default 5000. */
  proxyProtocolTimeout?: number;
  /**
   * Addresses and CIDRs (IPv4, IPv6) of the balancers allowed to send a PROXY header, e.g.
   * ["10.0.0.0/8", "fd00::/8"]; a connection from any other address is refused (and counted in
   * stats().proxyErrors); an empty list trusts nobody. Only with proxyProtocol. Default
   * (undefined): any peer — fine only when nothing but the balancer can reach the port.
   */
  trustedProxies?: readonly string[];
}

export interface ResolvedOptions {
  host: string;
  port: number;
  path: string | undefined;
  name: string;
  maxSockets: number;
  maxClients: number;
  maxClientsPerAddress: number;
  rejectMessage: Buffer | undefined;
  debug: boolean;
  rxBufferSize: number;
  backlog: number;
  idleTimeout: number;
  maxLifetime: number;
  closeTimeout: number;
  noDelay: boolean;
  keepAlive: boolean;
  keepAliveDelay: number;
  allowHalfOpen: boolean;
  onError: ErrorHandler | undefined;
  notify: NotifyCallback | undefined;
  maxSendQueue: number;
  sendQueueFull: 'reject' | 'close';
  framing: ResolvedFraming;
  tls: ResolvedTlsOptions | undefined;
  reusePort: boolean;
  proxyProtocol: 'v1' | 'v2' | 'any' | false;
  proxyProtocolTimeout: number;
  trustedProxies: readonly string[] | undefined;
}

const KNOWN_OPTIONS = new Set([
  'host', 'port', 'path', 'name', 'maxSockets', 'maxClients', 'maxClientsPerAddress', 'rejectMessage', 'debug',
  'rxBufferSize', 'backlog', 'idleTimeout', 'maxLifetime', 'closeTimeout', 'noDelay', 'keepAlive',
  'allowHalfOpen', 'onError', 'notify', 'maxSendQueue', 'sendQueueFull', 'framing', 'tls', 'reusePort',
  'proxyProtocol', 'proxyProtocolTimeout', 'trustedProxies',
]);

/** Validates every option (naming the first bad one) and fills in defaults. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError('options', 'an object such as { host: "127.0.0.1", port: 5000 }', options);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new InvalidArgumentError(`options.${key}`, `one of the known options (${[...KNOWN_OPTIONS].join(', ')})`, o[key]);
    }
  }
  const given = (key: string): boolean => o[key] !== undefined;
  const timeout = (key: string, fallback: number): number =>
    given(key) ? checkInteger(`options.${key}`, o[key], 0, MAX_TIMEOUT) : fallback;

  let path: string | undefined;
  if (given('path')) {
    if (given('host') || given('port')) {
      throw new InvalidArgumentError('options.path', 'given without options.host and options.port (a Unix socket or a TCP address, not both)', o.path);
    }
    if (typeof o.path !== 'string' || o.path.length === 0 || o.path.includes('\0')) {
      throw new InvalidArgumentError('options.path', 'a non-empty file system path (string)', o.path);
    }
    path = o.path;
  } else if (!given('port')) {
    throw new InvalidArgumentError('options.port', `an integer from ${LIMITS.port.min} to ${LIMITS.port.max} (or give options.path for a Unix socket)`, o.port);
  }
  const host = given('host') ? checkHost('options.host', o.host) : DEFAULTS.host;
  const port = path === undefined ? checkInteger('options.port', o.port, LIMITS.port.min, LIMITS.port.max) : 0;
  let name: string = DEFAULTS.name;
  if (given('name')) {
    const { minLength, maxLength } = LIMITS.name;
    if (typeof o.name !== 'string' || o.name.length < minLength || o.name.length > maxLength) {
      throw new InvalidArgumentError('options.name', `a non-empty string of at most ${maxLength} characters`, o.name);
    }
    name = o.name;
  }
  const maxClientsGiven = given('maxClients')
    ? checkInteger('options.maxClients', o.maxClients, LIMITS.maxClients.min, LIMITS.maxClients.max) : undefined;
  const maxSockets = given('maxSockets')
    ? checkInteger('options.maxSockets', o.maxSockets, LIMITS.maxSockets.min, LIMITS.maxSockets.max)
    : Math.max(DEFAULTS.maxSockets, maxClientsGiven ?? 0);
  const maxClients = maxClientsGiven ?? maxSockets;
  if (maxClients > maxSockets) {
    throw new InvalidArgumentError('options.maxClients', `at most options.maxSockets (${maxSockets})`, maxClients);
  }
  const maxClientsPerAddress = given('maxClientsPerAddress')
    ? checkInteger('options.maxClientsPerAddress', o.maxClientsPerAddress, LIMITS.maxClientsPerAddress.min, LIMITS.maxClientsPerAddress.max)
    : DEFAULTS.maxClientsPerAddress;
  let rejectMessage: Buffer | undefined;
  if (given('rejectMessage')) {
    const m = o.rejectMessage;
    if (typeof m === 'string') rejectMessage = Buffer.from(m, 'utf8');
    else if (m instanceof Uint8Array) rejectMessage = Buffer.from(m);
    else throw new InvalidArgumentError('options.rejectMessage', 'a string or a Uint8Array', m);
    if (rejectMessage.length > LIMITS.rejectMessage.maxBytes) {
      throw new InvalidArgumentError('options.rejectMessage', `at most ${LIMITS.rejectMessage.maxBytes} bytes`, `${rejectMessage.length} bytes`);
    }
  }
  const debug = given('debug') ? checkBoolean('options.debug', o.debug) : DEFAULTS.debug;
  const rxBufferSize = given('rxBufferSize')
    ? checkPowerOfTwo('options.rxBufferSize', o.rxBufferSize, LIMITS.rxBufferSize.min, LIMITS.rxBufferSize.max)
    : DEFAULTS.rxBufferSize;
  checkMemory(maxSockets, rxBufferSize);
  const backlog = given('backlog') ? checkInteger('options.backlog', o.backlog, LIMITS.backlog.min, LIMITS.backlog.max) : DEFAULTS.backlog;
  const idleTimeout = timeout('idleTimeout', DEFAULTS.idleTimeout);
  const maxLifetime = timeout('maxLifetime', DEFAULTS.maxLifetime);
  const closeTimeout = timeout('closeTimeout', DEFAULTS.closeTimeout);
  const noDelay = given('noDelay') ? checkBoolean('options.noDelay', o.noDelay) : DEFAULTS.noDelay;
  let keepAlive: boolean = DEFAULTS.keepAlive;
  let keepAliveDelay = 0;
  if (given('keepAlive')) {
    if (typeof o.keepAlive === 'number') {
      keepAliveDelay = checkInteger('options.keepAlive', o.keepAlive, 0, MAX_TIMEOUT);
      keepAlive = true;
    } else if (typeof o.keepAlive === 'boolean') {
      keepAlive = o.keepAlive;
    } else {
      throw new InvalidArgumentError('options.keepAlive', 'a boolean or an initial delay in milliseconds', o.keepAlive);
    }
  }
  const allowHalfOpen = given('allowHalfOpen') ? checkBoolean('options.allowHalfOpen', o.allowHalfOpen) : DEFAULTS.allowHalfOpen;
  const onError = given('onError') ? checkFunction<ErrorHandler>('options.onError', o.onError) : undefined;
  const notify = given('notify') ? checkFunction<NotifyCallback>('options.notify', o.notify) : undefined;
  const maxSendQueue = given('maxSendQueue')
    ? checkInteger('options.maxSendQueue', o.maxSendQueue, LIMITS.maxSendQueue.min, LIMITS.maxSendQueue.max) : DEFAULTS.maxSendQueue;
  let sendQueueFull = DEFAULTS.sendQueueFull;
  if (given('sendQueueFull')) {
    if (o.sendQueueFull !== 'reject' && o.sendQueueFull !== 'close') {
      throw new InvalidArgumentError('options.sendQueueFull', "'reject' or 'close'", o.sendQueueFull);
    }
    sendQueueFull = o.sendQueueFull;
  }
  const framing = resolveFraming('options.framing', given('framing') ? o.framing : DEFAULTS.framing, rxBufferSize);
  const tls = given('tls') ? resolveTlsOptions('options.tls', o.tls) : undefined;
  const reusePort = given('reusePort') ? checkBoolean('options.reusePort', o.reusePort) : DEFAULTS.reusePort;
  if (reusePort && path !== undefined) {
    throw new InvalidArgumentError('options.reusePort', 'used with a TCP host/port (not options.path)', o.reusePort);
  }
  if (reusePort && !supportsReusePort(process.versions.node)) {
    throw new InvalidArgumentError('options.reusePort',
      `used on Node 22.12+ or 23.1+ (server.listen's reusePort; this is Node ${process.versions.node})`, o.reusePort);
  }
  let proxyProtocol: ResolvedOptions['proxyProtocol'] = DEFAULTS.proxyProtocol;
  if (given('proxyProtocol')) {
    const p = o.proxyProtocol;
    if (p !== 'v1' && p !== 'v2' && p !== 'any' && p !== false) {
      throw new InvalidArgumentError('options.proxyProtocol', "'v1', 'v2', 'any' or false", p);
    }
    proxyProtocol = p;
  }
  const proxyProtocolTimeout = given('proxyProtocolTimeout')
    ? checkInteger('options.proxyProtocolTimeout', o.proxyProtocolTimeout, 1, MAX_TIMEOUT) : DEFAULTS.proxyProtocolTimeout;
  let trustedProxies: readonly string[] | undefined;
  if (given('trustedProxies')) {
    const list = o.trustedProxies;
    if (!Array.isArray(list) || list.some((entry) => typeof entry !== 'string')) {
      throw new InvalidArgumentError('options.trustedProxies', 'an array of addresses or CIDRs such as ["10.0.0.0/8", "::1"]', list);
    }
    trustedProxies = Object.freeze([...list]);
    trustedProxyList(trustedProxies); // names the first bad entry: options.trustedProxies[i]
    // An empty list with the protocol off is harmless (a CLI passing its flags through).
    if (proxyProtocol === false && trustedProxies.length > 0) {
      throw new InvalidArgumentError('options.trustedProxies', 'given together with options.proxyProtocol (it lists who may send a PROXY header)', list);
    }
  }

  return {
    host, port, path, name, maxSockets, maxClients, maxClientsPerAddress, rejectMessage, debug, rxBufferSize,
    backlog, idleTimeout, maxLifetime, closeTimeout, noDelay, keepAlive, keepAliveDelay, allowHalfOpen, onError,
    notify, maxSendQueue, sendQueueFull, framing, tls, reusePort, proxyProtocol, proxyProtocolTimeout, trustedProxies,
  };
}

/** server.listen({ reusePort }) exists from Node 22.12 and 23.1 on (SO_REUSEPORT). */
export function supportsReusePort(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** The core refuses layouts past its limit: say so in the options' terms. */
function checkMemory(maxSockets: number, rxBufferSize: number): void {
  try {
    layoutBytes({ maxSockets, rxBufferSize });
  } catch (error) {
    if (!(error instanceof CoreConfigError)) throw error;
    if (error.status !== K.ERR_CONFIG_TOO_LARGE) throw error;
    throw new InvalidArgumentError('options.maxSockets × options.rxBufferSize',
      `small enough that the core's memory stays within ${K.MAX_LAYOUT_BYTES} bytes`, `${maxSockets} × ${rxBufferSize}`);
  }
}
