import { constants as K } from '@tcpserv/core-wasm';
import { InvalidArgumentError } from './errors.js';
import {
  MAX_TIMEOUT, checkBoolean, checkFunction, checkHost, checkInteger, checkPowerOfTwo,
} from './validate.js';
import type { Client } from './client.js';

/** Called with errors that have nowhere else to go: a throwing callback, an accept failure. */
export type ErrorHandler = (error: unknown, client?: Client) => void;

/** Options of `createServer`. Every one is optional except `port`. */
export interface ServerOptions {
  /**
   * IPv4 or IPv6 address to bind ("127.0.0.1", "::1", "0.0.0.0" for every IPv4 interface,
   * "::" for every interface). Host names are refused. Default: "::" (all interfaces,
   * dual-stack where the system allows it, as node:net).
   */
  host?: string;
  /** TCP port, 0…65535; 0 picks a free port (read it from `server.address()`). Required. */
  port: number;
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
   * socket pauses when it is 3/4 full and resumes at 1/4. Default 16384.
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
   * failures such as EMFILE. Default: print to stderr with the name tag.
   */
  onError?: ErrorHandler;
}

export interface ResolvedOptions {
  host: string;
  port: number;
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
}

export const DEFAULT_MAX_SOCKETS = 1024;
export const DEFAULT_RX_BUFFER_SIZE = 16384;

const KNOWN_OPTIONS = new Set([
  'host', 'port', 'name', 'maxSockets', 'maxClients', 'maxClientsPerAddress', 'rejectMessage', 'debug',
  'rxBufferSize', 'backlog', 'idleTimeout', 'maxLifetime', 'closeTimeout', 'noDelay', 'keepAlive',
  'allowHalfOpen', 'onError',
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

  const host = given('host') ? checkHost('options.host', o.host) : '::';
  if (!given('port')) throw new InvalidArgumentError('options.port', 'an integer from 0 to 65535', o.port);
  const port = checkInteger('options.port', o.port, 0, 65535);
  let name = 'tcpserver';
  if (given('name')) {
    if (typeof o.name !== 'string' || o.name.length === 0 || o.name.length > 64) {
      throw new InvalidArgumentError('options.name', 'a non-empty string of at most 64 characters', o.name);
    }
    name = o.name;
  }
  const maxClientsGiven = given('maxClients') ? checkInteger('options.maxClients', o.maxClients, 1, K.MAX_SOCKETS) : undefined;
  const maxSockets = given('maxSockets')
    ? checkInteger('options.maxSockets', o.maxSockets, 1, K.MAX_SOCKETS)
    : Math.max(DEFAULT_MAX_SOCKETS, maxClientsGiven ?? 0);
  const maxClients = maxClientsGiven ?? maxSockets;
  if (maxClients > maxSockets) {
    throw new InvalidArgumentError('options.maxClients', `at most options.maxSockets (${maxSockets})`, maxClients);
  }
  const maxClientsPerAddress = given('maxClientsPerAddress')
    ? checkInteger('options.maxClientsPerAddress', o.maxClientsPerAddress, 0, K.MAX_SOCKETS) : 0;
  let rejectMessage: Buffer | undefined;
  if (given('rejectMessage')) {
    const m = o.rejectMessage;
    if (typeof m === 'string') rejectMessage = Buffer.from(m, 'utf8');
    else if (m instanceof Uint8Array) rejectMessage = Buffer.from(m);
    else throw new InvalidArgumentError('options.rejectMessage', 'a string or a Uint8Array', m);
    if (rejectMessage.length > 4096) {
      throw new InvalidArgumentError('options.rejectMessage', 'at most 4096 bytes', `${rejectMessage.length} bytes`);
    }
  }
  const debug = given('debug') ? checkBoolean('options.debug', o.debug) : false;
  const rxBufferSize = given('rxBufferSize')
    ? checkPowerOfTwo('options.rxBufferSize', o.rxBufferSize, K.MIN_RX_BUFFER, K.MAX_RX_BUFFER) : DEFAULT_RX_BUFFER_SIZE;
  const ringBytes = maxSockets * (rxBufferSize + 64);
  if (ringBytes > K.MAX_LAYOUT_BYTES - 16 * 1024 * 1024) {
    throw new InvalidArgumentError('options.maxSockets × options.rxBufferSize',
      `small enough for the core's memory (at most about ${Math.floor(K.MAX_LAYOUT_BYTES / 2 ** 20) - 16} MiB)`,
      `${maxSockets} × ${rxBufferSize}`);
  }
  const backlog = given('backlog') ? checkInteger('options.backlog', o.backlog, 1, 65535) : 511;
  const idleTimeout = given('idleTimeout') ? checkInteger('options.idleTimeout', o.idleTimeout, 0, MAX_TIMEOUT) : 0;
  const maxLifetime = given('maxLifetime') ? checkInteger('options.maxLifetime', o.maxLifetime, 0, MAX_TIMEOUT) : 0;
  const closeTimeout = given('closeTimeout') ? checkInteger('options.closeTimeout', o.closeTimeout, 0, MAX_TIMEOUT) : 5000;
  const noDelay = given('noDelay') ? checkBoolean('options.noDelay', o.noDelay) : true;
  let keepAlive = false;
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
  const allowHalfOpen = given('allowHalfOpen') ? checkBoolean('options.allowHalfOpen', o.allowHalfOpen) : false;
  const onError = given('onError') ? checkFunction<ErrorHandler>('options.onError', o.onError) : undefined;

  return {
    host, port, name, maxSockets, maxClients, maxClientsPerAddress, rejectMessage, debug, rxBufferSize,
    backlog, idleTimeout, maxLifetime, closeTimeout, noDelay, keepAlive, keepAliveDelay, allowHalfOpen, onError,
  };
}
