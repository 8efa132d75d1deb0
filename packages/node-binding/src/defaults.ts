import { constants as K } from '@tcpserv/core-wasm';

/** Largest timeout in milliseconds (what setTimeout can hold). */
export const MAX_TIMEOUT = 2 ** 31 - 1;

/**
 * Every createServer option's default, in one place: options.ts fills them in, the CLI
 * prints them in its help, the READMEs quote them.
 */
export const DEFAULTS = Object.freeze({
  /** All interfaces, dual-stack where the system allows it (as node:net). */
  host: '::',
  name: 'tcpserver',
  maxSockets: 1024,
  maxClientsPerAddress: 0,
  rxBufferSize: 16384,
  backlog: 511,
  idleTimeout: 0,
  maxLifetime: 0,
  closeTimeout: 5000,
  noDelay: true,
  keepAlive: false,
  allowHalfOpen: false,
  debug: false,
  /** Bytes per client accepted by send() and not yet handed to the kernel. */
  maxSendQueue: 1024 * 1024,
  sendQueueFull: 'reject' as 'reject' | 'close',
  framing: 'raw' as const,
  /** TLS handshake deadline (tls.handshakeTimeout). */
  handshakeTimeout: 10_000,
  proxyProtocol: false as const,
  proxyProtocolTimeout: 5000,
  reusePort: false,
  /** shutdown(timeout) when no timeout is given. */
  shutdownTimeout: 5000,
});

/** The range of every bounded option (inclusive). */
export const LIMITS = Object.freeze({
  port: { min: 0, max: 65535 },
  maxSockets: { min: 1, max: K.MAX_SOCKETS },
  maxClients: { min: 1, max: K.MAX_SOCKETS },
  maxClientsPerAddress: { min: 0, max: K.MAX_SOCKETS },
  /** A power of two. */
  rxBufferSize: { min: K.MIN_RX_BUFFER, max: K.MAX_RX_BUFFER },
  backlog: { min: 1, max: 65535 },
  timeout: { min: 0, max: MAX_TIMEOUT },
  name: { minLength: 1, maxLength: 64 },
  rejectMessage: { maxBytes: 4096 },
  maxSendQueue: { min: 1, max: 2 ** 31 - 1 },
  delimiter: { minBytes: 1, maxBytes: 16 },
  lengthHeaderBytes: [1, 2, 4] as readonly number[],
});
