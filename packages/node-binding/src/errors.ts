/**
 * The error family of @tcpserv/node. Every error has a stable `code`; match on it, not on
 * the message. Argument errors are thrown synchronously; I/O outcomes reject.
 */
export class TcpServError extends Error {
  /** Stable machine-readable code. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A function was called with an argument that breaks its rule; the message names both. */
export class InvalidArgumentError extends TcpServError {
  static readonly CODE = 'ERR_TCPSERV_INVALID_ARGUMENT';
  /** The argument's name, e.g. `timeout` or `options.port`. */
  readonly argument: string;

  constructor(argument: string, rule: string, value: unknown) {
    super(InvalidArgumentError.CODE, `${argument} must be ${rule} (got ${describeValue(value)})`);
    this.argument = argument;
  }
}

/** `accept` (or another server call) after `destroy()`, or a pending accept that destroy settled. */
export class ServerDestroyedError extends TcpServError {
  static readonly CODE = 'ERR_TCPSERV_SERVER_DESTROYED';

  constructor(name: string) {
    super(ServerDestroyedError.CODE, `server "${name}" has been destroyed`);
  }
}

/** `recv`/`send` on a client that was closed or aborted by the app, or destroyed with its server. */
export class ClientClosedError extends TcpServError {
  static readonly CODE = 'ERR_TCPSERV_CLIENT_CLOSED';
  /** The client's id. */
  readonly clientId: number;

  constructor(clientId: number, options?: { cause?: unknown }) {
    super(ClientClosedError.CODE, `client ${clientId} is closed`, options);
    this.clientId = clientId;
  }
}

/**
 * `send` ran out of time. `bytesSent` bytes were accepted by the socket and still go out;
 * the rest was never queued. The client stays usable.
 */
export class SendTimeoutError extends TcpServError {
  static readonly CODE = 'ERR_TCPSERV_SEND_TIMEOUT';
  readonly clientId: number;
  readonly bytesSent: number;
  readonly timeout: number;

  constructor(clientId: number, bytesSent: number, total: number, timeout: number) {
    super(SendTimeoutError.CODE,
      `send to client ${clientId} timed out after ${timeout} ms with ${bytesSent} of ${total} bytes sent`);
    this.clientId = clientId;
    this.bytesSent = bytesSent;
    this.timeout = timeout;
  }
}

/** An `AbortSignal` passed to accept/recv/send fired; `cause` is the signal's reason. */
export class AbortError extends TcpServError {
  static readonly CODE = 'ABORT_ERR';

  constructor(operation: string, reason: unknown) {
    super(AbortError.CODE, `${operation} was aborted`, { cause: reason });
  }
}

/**
 * The server could not listen. `code` is the system's (EADDRINUSE, EACCES,
 * EADDRNOTAVAIL, …), so it stays stable across platforms that share it.
 */
export class ListenError extends TcpServError {
  readonly host: string;
  readonly port: number;

  constructor(code: string, host: string, port: number, cause: unknown) {
    super(code, `cannot listen on ${formatHostPort(host, port)}: ${listenReason(code)}`, { cause });
    this.host = host;
    this.port = port;
  }
}

function listenReason(code: string): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'address already in use (EADDRINUSE)';
    case 'EACCES':
      return 'permission denied (EACCES); ports below 1024 need privileges';
    case 'EADDRNOTAVAIL':
      return 'address not available on this machine (EADDRNOTAVAIL)';
    default:
      return code;
  }
}

/** `host:port`, with brackets around IPv6 addresses. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}
