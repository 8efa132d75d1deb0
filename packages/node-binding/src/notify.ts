import type { Client } from './client.js';

/** The notify callback's events (the seed's TCP_SERVER_EVENT_*). */
export enum TcpEvent {
  /** A client connected. Delivered once per client, before anything else about it. */
  CONNECT = 'CONNECT',
  /**
   * New bytes (or end of stream) can be read; at most one pending per client. In a framed
   * mode: at least one whole frame, a frame error, or end of stream.
   */
  RECV = 'RECV',
  /** The connection closed. Delivered once per client, last. Unread bytes stay readable. */
  DISCONNECT = 'DISCONNECT',
}

/** `(client, event) => …`; may return a promise. A throw or rejection goes to `onError`. */
export type NotifyCallback = (client: Client, event: TcpEvent) => unknown;

/** Called with errors that have nowhere else to go: a throwing callback, an accept failure. */
export type ErrorHandler = (error: unknown, client?: Client) => void;
