/**
 * The error family of @tcpserv/node. Every error has a stable `code`; match on it, not on
 * the message. Argument errors are thrown synchronously; I/O outcomes reject.
 * The base class and the core's own errors (CoreConfigError, CoreOutOfMemoryError) come
 * from @tcpserv/core-wasm, so one `instanceof TcpServError` covers both layers.
 */
import { TcpServError, statusName } from '@tcpserv/core-wasm';

export { TcpServError, CoreConfigError, CoreOutOfMemoryError } from '@tcpserv/core-wasm';

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

/**
 * `recv`/`send` on a client that was closed, aborted or destroyed with its server, or a send
 * that the connection's end (reset, write error, close) left unfinished. For a send,
 * `bytesSent` counts the bytes the kernel took before that (they went out); `cause` is the
 * socket's error when there was one.
 */
export class ClientClosedError extends TcpServError {
  static readonly CODE = 'ERR_TCPSERV_CLIENT_CLOSED';
  /** The client's id. */
  readonly clientId: number;
  /** For a send: bytes of it the kernel took before the connection ended; 0 otherwise. */
  readonly bytesSent: number;

  constructor(clientId: number, options?: { cause?: unknown; bytesSent?: number }) {
    const sent = options?.bytesSent ?? 0;
    super(ClientClosedError.CODE, `client ${clientId} is closed${sent > 0 ? ` (${sent} bytes of the send went out)` : ''}`,
      options?.cause === undefined ? undefined : { cause: options.cause });
    this.clientId = clientId;
    this.bytesSent = sent;
  }
}

/**
 * `send` ran out of time. `bytesSent` bytes were taken by the kernel; `bytesQueued` more (at
 * most one write window) are in the socket and still go out; the rest was never queued.
 * `bytesSent` is always less than the send's length. The client stays usable — except for a
 * torn frame (`torn`: part of a `sendFrame` went out), where the client was aborted because
 * the peer could no longer find the next frame boundary.
 */
export class SendTimeoutError extends TcpServError {
  static readonly CODE = 'ERR_TCPSERV_SEND_TIMEOUT';
  readonly clientId: number;
  readonly bytesSent: number;
  readonly bytesQueued: number;
  readonly timeout: number;
  readonly torn: boolean;

  constructor(clientId: number, sent: { bytesSent: number; bytesQueued: number; total: number; timeout: number; torn?: boolean }) {
    const torn = sent.torn ?? false;
    super(SendTimeoutError.CODE,
      `send to client ${clientId} timed out after ${sent.timeout} ms with ${sent.bytesSent} of ${sent.total} bytes sent` +
        (sent.bytesQueued > 0 ? ` and ${sent.bytesQueued} still queued in the socket` : '') +
        (torn ? '; the frame was torn, so the client was aborted' : ''));
    this.clientId = clientId;
    this.bytesSent = sent.bytesSent;
    this.bytesQueued = sent.bytesQueued;
    this.timeout = sent.timeout;
    this.torn = torn;
  }
}

/**
 * `send` would put more than `maxSendQueue` bytes in the client's queue (bytes accepted by send
 * and not yet taken by the kernel). Nothing of it was queued. With `sendQueueFull: 'close'` the
 * client was also aborted (closeReason 'slow').
 */
export class SendQueueFullError extends TcpServError {
  static readonly CODE = 'ERR_TCPSERV_SEND_QUEUE_FULL';
  readonly clientId: number;
  /** Bytes already queued when the send came. */
  readonly queued: number;
  readonly limit: number;

  constructor(clientId: number, queued: number, size: number, limit: number, closed: boolean) {
    super(SendQueueFullError.CODE,
      `send of ${size} bytes to client ${clientId} refused: ${queued} bytes already queued and maxSendQueue is ${limit}` +
        (closed ? '; the client was closed as too slow' : ''));
    this.clientId = clientId;
    this.queued = queued;
    this.limit = limit;
  }
}

/** An `AbortSignal` passed to accept/recv/send fired; `cause` is the signal's reason. */
export class AbortError extends TcpServError {
  static readonly CODE = 'ABORT_ERR';
  /** For a send: bytes of it the kernel took before the abort (they went out). */
  readonly bytesSent: number;

  constructor(operation: string, reason: unknown, bytesSent = 0) {
    super(AbortError.CODE, `${operation} was aborted`, { cause: reason });
    this.bytesSent = bytesSent;
  }
}

/**
 * The server could not listen. `code` is the system's (EADDRINUSE, EACCES,
 * EADDRNOTAVAIL, …), so it stays stable across platforms that share it.
 */
export class ListenError extends TcpServError {
  /** `host:port` or the Unix socket path. */
  readonly address: string;

  constructor(code: string, address: string, cause: unknown, reason?: string) {
    super(code, `cannot listen on ${address}: ${reason ?? listenReason(code)}`, { cause });
    this.address = address;
  }
}

/**
 * The peer ended the stream inside a frame (length or fixed framing): `bytesLeft` bytes of an
 * incomplete frame were never delivered.
 */
export class FrameError extends TcpServError {
  static readonly CODE = 'ERR_TCPSERV_FRAME_TRUNCATED';
  readonly clientId: number;
  readonly bytesLeft: number;

  constructor(clientId: number, bytesLeft: number) {
    super(FrameError.CODE, `client ${clientId} ended the stream inside a frame (${bytesLeft} bytes of it left)`);
    this.clientId = clientId;
    this.bytesLeft = bytesLeft;
  }
}

/** A peer sent (or announced) a frame larger than `maxFrameSize`; the client was closed. */
export class FrameTooLargeError extends TcpServError {
  static readonly CODE = 'ERR_TCPSERV_FRAME_TOO_LARGE';
  readonly clientId: number;
  readonly maxFrameSize: number;

  constructor(clientId: number, maxFrameSize: number) {
    super(FrameTooLargeError.CODE, `client ${clientId} sent a frame larger than maxFrameSize (${maxFrameSize} bytes); it was closed`);
    this.clientId = clientId;
    this.maxFrameSize = maxFrameSize;
  }
}

/**
 * The core answered a status the binding did not expect: a bug in tcpserv, never the caller's
 * fault. Reported to `onError`; the client concerned is closed.
 */
export class InternalError extends TcpServError {
  static readonly CODE = 'ERR_TCPSERV_INTERNAL';
  readonly operation: string;
  readonly status: number;

  constructor(operation: string, status: number) {
    super(InternalError.CODE, `internal error: the core answered ${statusName(status)} (${status}) to ${operation}`);
    this.operation = operation;
    this.status = status;
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
