import type { Socket } from 'node:net';

/** Where a connection comes from, as far as the server knows (the real client behind a PROXY header). */
export interface RemoteEndpoint {
  readonly address: string;
  readonly port: number;
  /** 'IPv4', 'IPv6' or 'unix'. */
  readonly family: string;
}

/**
 * A connection on its way from TCP accept to becoming a Client: each stage (PROXY header,
 * TLS handshake) takes one and hands on a (possibly changed) one.
 */
export interface Arrival {
  /** The raw TCP/Unix socket (paused), or after the TLS stage a tls.TLSSocket. */
  socket: Socket;
  /** The real client: the PROXY stage rewrites it. Unix peers: '' / 0 / 'unix'. */
  remote: RemoteEndpoint;
  /** Bytes already read from `socket` that belong to the client's stream. */
  initial?: Buffer;
  /** Set by the PROXY stage. */
  proxy?: unknown;
  /** Set by the TLS stage. */
  tls?: unknown;
}

/**
 * Resolves with the arrival to pass on, or rejects with StageError: the server counts it and
 * closes the socket (never a CONNECT). `signal` aborts when the server is destroyed.
 */
export type Stage = (arrival: Arrival, signal: AbortSignal) => Promise<Arrival>;

/** Why a connection did not become a client. */
export type StageErrorKind = 'proxy' | 'tls' | 'local';

/**
 * A stage refused a connection. `kind` 'local' is closed quietly and not counted as an error:
 * a balancer's health check (PROXY v2 LOCAL, a v1 line naming its own connection), a peer that
 * reset before it was accepted, or a server destroyed while the connection was in a stage.
 */
export class StageError extends Error {
  readonly kind: StageErrorKind;
  readonly reason: string;

  constructor(kind: StageErrorKind, reason: string, options?: { cause?: unknown }) {
    super(`${kind}: ${reason}`, options);
    this.name = 'StageError';
    this.kind = kind;
    this.reason = reason;
  }
}
