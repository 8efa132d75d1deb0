import type { Socket } from 'node:net';
import { constants as K, type WasmCore } from '@tcpserv/core-wasm';
import { AbortError, ClientClosedError, SendTimeoutError, formatHostPort } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { PendingQueue } from './pending.js';
import { WAIT_FOREVER, checkRecvBuffer, checkSignal, checkTimeout, toSendBytes } from './validate.js';

/** What a Client needs from its server. Internal: not exported from the package. */
export interface ClientHost {
  readonly core: WasmCore;
  readonly options: ResolvedOptions;
  /** Drains the core's event queue and dispatches every event. Re-entrant calls return at once. */
  drain(): void;
  /** Monotonic milliseconds: the only clock the core ever sees. */
  now(): number;
  /** Called once when the client's socket has closed and its slot may be given back. */
  forget(client: Client): void;
}

/** Counters of one client, live while it is connected and frozen once it disconnects. */
export interface ClientStats {
  /** Bytes received from the peer. */
  readonly bytesIn: number;
  /** Bytes handed to the socket for the peer. */
  readonly bytesOut: number;
  /** Received bytes waiting to be read with recv. */
  readonly rxBuffered: number;
  /** Reading from the socket is paused because the receive buffer is full. */
  readonly paused: boolean;
  /** When the client connected (ms since the epoch). */
  readonly connectedAt: number;
  /** When bytes last moved in either direction (ms since the epoch). */
  readonly lastActivityAt: number;
}

/** Why a client's connection ended, as far as the server knows. */
export type CloseReason = 'peer' | 'error' | 'close' | 'abort' | 'idle' | 'lifetime' | 'server';

interface SendOp {
  readonly bytes: Buffer;
  readonly timeout: number;
  readonly resolve: (n: number) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  /** Bytes handed to socket.write so far. */
  offset: number;
  /** The socket's running write total once this op's last byte was written. */
  endMark: number;
  timer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Largest piece handed to socket.write at once, and the most bytes a client keeps queued in
 * the socket beyond what the kernel took: a send timeout can then say exactly how much
 * went out, and outgoing memory per client stays bounded whatever the caller sends.
 */
const SEND_WINDOW = 16384;

const RESOLVED_ZERO = Promise.resolve(0);
const RESOLVED_NULL = Promise.resolve(null);

/**
 * One connected peer. Its state (receive buffer, counters, open/closed) lives in the core;
 * this object holds the socket, the pending calls and, after the disconnect, a frozen copy
 * of its counters.
 */
export class Client {
  /** 1, 2, 3 … in order of connection, unique for the life of its server. */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteFamily: string;
  readonly localAddress: string;
  readonly localPort: number;

  readonly #host: ClientHost;
  readonly #socket: Socket;
  /** Core handle; 0 once the slot was given back. */
  #handle: number;
  /** The app (close/abort) or the server (destroy) ended this client: recv/send now reject. */
  #closeRequested = false;
  #closeReason: CloseReason | undefined;
  #disconnected = false;
  /** The app has been given this client by accept() (it now owns its unread bytes). */
  #accepted = false;
  /** The app has seen end of stream (recv returned null). */
  #endSeen = false;
  #stats: ClientStats | undefined;
  #socketError: Error | undefined;
  /** The tail of a chunk that did not fit the ring; the socket is paused while it exists. */
  #overflow: Buffer | undefined;
  /** The core paused this client (PAUSE seen, RESUME not yet): reads may queue RESUME. */
  #paused = false;
  /** The peer's FIN arrived while #overflow was waiting for room in the ring. */
  #endPending = false;
  readonly #recvWaiters = new PendingQueue<number | null, Uint8Array>();
  #sendOps: SendOp[] = [];
  #written = 0;
  #endRequested = false;
  #closeTimer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;
  readonly #onWritten = (): void => this.#pumpSends();

  /** @internal Created by the server for an admitted socket. */
  constructor(host: ClientHost, handle: number, socket: Socket, serial: number) {
    this.#host = host;
    this.#handle = handle;
    this.#socket = socket;
    this.id = serial;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.remoteFamily = socket.remoteFamily ?? '';
    this.localAddress = socket.localAddress ?? '';
    this.localPort = socket.localPort ?? 0;

    const { noDelay, keepAlive, keepAliveDelay } = host.options;
    socket.setNoDelay(noDelay);
    if (keepAlive) socket.setKeepAlive(true, keepAliveDelay);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('drain', this.#onWritten);
    socket.on('error', (error: Error) => {
      this.#socketError ??= error;
    });
    socket.on('close', () => this.#onSocketClose());
  }

  // ── Public API ────────────────────────────────────────────────────────────────

  /**
   * Receives into `buf`: resolves with the number of bytes copied (> 0), 0 if `timeout` ms
   * passed with nothing to read, or null at end of stream (the peer closed and every byte it
   * sent has been read; again on every later call). Rejects with ClientClosedError once the
   * client was closed or aborted, AbortError if `signal` fires.
   */
  recv(buf: Uint8Array, timeout: number = WAIT_FOREVER, signal?: AbortSignal): Promise<number | null> {
    checkRecvBuffer('buf', buf);
    checkTimeout('timeout', timeout);
    checkSignal('signal', signal);
    if (this.#closeRequested) return Promise.reject(this.#closedError());
    if (signal?.aborted) return Promise.reject(new AbortError('recv', signal.reason));
    if (this.#recvWaiters.length === 0) {
      const n = this.#readInto(buf);
      if (n !== 0) return n === null ? RESOLVED_NULL : Promise.resolve(n);
      if (timeout === 0) return RESOLVED_ZERO;
    } else if (timeout === 0) {
      return RESOLVED_ZERO; // earlier callers are first in line for the bytes
    }
    return this.#recvWaiters.add(buf, timeout, 0, signal, () => new AbortError('recv', signal?.reason));
  }

  /**
   * Receives without waiting: the number of bytes copied into `buf` (> 0), 0 if nothing is
   * buffered, or null at end of stream. Throws ClientClosedError once closed or aborted.
   */
  tryRecv(buf: Uint8Array): number | null {
    checkRecvBuffer('buf', buf);
    if (this.#closeRequested) throw this.#closedError();
    if (this.#recvWaiters.length > 0) return 0;
    return this.#readInto(buf);
  }

  /**
   * Sends `data` (a string goes as UTF-8). Resolves with `data`'s byte length once every byte
   * was handed to the kernel. Sends on one client go out in call order. On timeout rejects with
   * SendTimeoutError: its `bytesSent` were accepted by the socket and still go out, the rest
   * was never queued, and the client stays usable. Rejects with ClientClosedError once closed.
   */
  send(data: string | Uint8Array, timeout: number = WAIT_FOREVER, signal?: AbortSignal): Promise<number> {
    const bytes = toSendBytes('data', data);
    checkTimeout('timeout', timeout);
    checkSignal('signal', signal);
    const socket = this.#socket;
    if (!this.writable) return Promise.reject(this.#closedError());
    if (signal?.aborted) return Promise.reject(new AbortError('send', signal.reason));
    if (bytes.length === 0) return RESOLVED_ZERO;
    // Fast path: nothing queued ahead and the kernel takes the whole buffer at once.
    if (this.#sendOps.length === 0 && socket.writableLength === 0 && bytes.length <= SEND_WINDOW) {
      this.#write(bytes);
      if (socket.writableLength === 0) return Promise.resolve(bytes.length);
      return this.#queueSend(bytes, bytes.length, timeout, signal);
    }
    return this.#queueSend(bytes, 0, timeout, signal);
  }

  /**
   * Closes the connection: recv/send reject from now on, sends already under way get up to
   * `closeTimeout` ms to flush, then the server sends FIN (a reset if they did not flush).
   * Resolves once the socket is closed. A second call returns the same promise.
   */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    const closed = this.#whenClosed();
    this.#requestClose('close');
    if (this.#disconnected) this.#finishClosed();
    else this.#endGracefully();
    return closed;
  }

  /** Resets the connection (RST) at once, dropping unsent bytes. Resolves once it is closed. */
  abort(): Promise<void> {
    const closed = this.#whenClosed();
    this.#requestClose('abort');
    if (this.#disconnected) this.#finishClosed();
    else this.#reset();
    return closed;
  }

  /**
   * Bytes accepted by `send` that the kernel has not taken yet (queued in this client or its
   * socket), as WebSocket's `bufferedAmount`. When it is 0 right after `send`, every byte is
   * already in the kernel: the buffer passed to `send` may be reused without awaiting.
   */
  get bufferedAmount(): number {
    let queued = this.#socket.writableLength;
    for (const op of this.#sendOps) queued += op.bytes.length - op.offset;
    return queued;
  }

  /**
   * True while `send` can queue bytes: not closed or aborted, not disconnected, and our side
   * not ended yet. When false, `send` rejects with ClientClosedError.
   */
  get writable(): boolean {
    const socket = this.#socket;
    return !(this.#closeRequested || this.#disconnected || this.#endRequested || socket.destroyed || socket.writableEnded);
  }

  /** True once the connection has ended (DISCONNECT was delivered). */
  get disconnected(): boolean {
    return this.#disconnected;
  }

  /** True once close()/abort() was called or the server was destroyed. */
  get closed(): boolean {
    return this.#closeRequested;
  }

  /** Why the connection ended; undefined while it is open. */
  get closeReason(): CloseReason | undefined {
    return this.#disconnected ? this.#closeReason ?? 'peer' : undefined;
  }

  /** Live counters while connected; a frozen snapshot afterwards. */
  get stats(): ClientStats {
    return this.#stats ?? this.#readStats() ?? EMPTY_STATS;
  }

  /** Receives chunk by chunk (fresh Buffers) until end of stream; stops quietly if the client is closed. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    const buf = Buffer.allocUnsafe(this.#host.options.rxBufferSize);
    for (;;) {
      let n: number | null;
      try {
        n = await this.recv(buf, WAIT_FOREVER);
      } catch (error) {
        if (error instanceof ClientClosedError) return;
        throw error;
      }
      if (n === null) return;
      if (n > 0) yield Buffer.from(buf.subarray(0, n));
    }
  }

  toString(): string {
    return `client ${this.id} (${formatHostPort(this.remoteAddress, this.remotePort)})`;
  }

  // ── Called by the server ──────────────────────────────────────────────────────

  /** @internal */
  get handle(): number {
    return this.#handle;
  }

  /** @internal The app now owns this client (accept() returned it). */
  markAccepted(): void {
    this.#accepted = true;
  }

  /** @internal Whether the app was given this client by accept(). */
  get accepted(): boolean {
    return this.#accepted;
  }

  /** @internal RECV: bytes or end of stream became readable. */
  onReadable(): void {
    this.#serviceRecvWaiters();
  }

  /** @internal PAUSE: the ring reached its high watermark. */
  onPause(): void {
    this.#paused = true;
    this.#socket.pause();
  }

  /** @internal RESUME: the ring drained to its low watermark. */
  onResume(): void {
    this.#paused = false;
    const rest = this.#overflow;
    if (rest) {
      const n = this.#host.core.push(this.#handle, rest, this.#host.now());
      if (n < rest.length) {
        this.#overflow = n > 0 ? rest.subarray(n) : rest;
        return; // still full: stays paused (the core queued PAUSE again)
      }
      this.#overflow = undefined;
    }
    if (this.#endPending) {
      this.#endPending = false;
      this.#onEnd();
      return;
    }
    this.#socket.resume();
  }

  /** @internal DISCONNECT: the socket has closed. Freezes the counters and settles what waits. */
  onDisconnect(): void {
    this.#disconnected = true;
    for (const op of this.#sendOps.splice(0)) this.#failSend(op, this.#closedError());
    this.#serviceRecvWaiters();
    this.#finishClosed();
  }

  /** @internal Whether the client holds unread bytes (ring or overflow). */
  get hasUnread(): boolean {
    if (this.#overflow) return true;
    const info = this.#host.core.inspect(this.#handle);
    return typeof info !== 'number' && info.rxUsed > 0;
  }

  /** @internal The server's idle/lifetime sweep ended this client. */
  expire(reason: 'idle' | 'lifetime'): void {
    if (this.#disconnected || this.#endRequested) return;
    this.#closeReason ??= reason;
    this.#endGracefully();
  }

  /** @internal The server is being destroyed: fail every pending call and reset the socket. */
  destroyForServer(): Promise<void> {
    const closed = this.#whenClosed();
    this.#requestClose('server');
    if (this.#disconnected) this.#finishClosed();
    else this.#socket.destroy();
    return closed;
  }

  /** @internal The slot may be given back to the core now. */
  releaseSlot(): void {
    if (this.#handle === 0) return;
    this.#stats ??= this.#readStats();
    this.#host.core.release(this.#handle);
    this.#handle = 0;
    this.#overflow = undefined;
  }

  // ── Internals ─────────────────────────────────────────────────────────────────

  #closedError(): ClientClosedError {
    return new ClientClosedError(this.id, this.#socketError ? { cause: this.#socketError } : undefined);
  }

  /** The one promise close/abort/destroy hand out, settled by #finishClosed. */
  #whenClosed(): Promise<void> {
    this.#closed ??= new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    return this.#closed;
  }

  #requestClose(reason: CloseReason): void {
    if (this.#closeRequested) return;
    this.#closeRequested = true;
    this.#closeReason ??= reason;
    const error = this.#closedError();
    this.#recvWaiters.rejectAll(error);
    if (reason !== 'close') {
      for (const op of this.#sendOps.splice(0)) this.#failSend(op, error);
    }
  }

  #finishClosed(): void {
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    const resolve = this.#resolveClosed;
    this.#resolveClosed = undefined;
    resolve?.();
    if (this.#closeRequested) this.#host.forget(this);
  }

  #readStats(): ClientStats | undefined {
    if (this.#handle === 0) return undefined;
    const info = this.#host.core.inspect(this.#handle);
    if (typeof info === 'number') return undefined;
    const origin = performance.timeOrigin;
    return Object.freeze({
      bytesIn: info.bytesIn,
      bytesOut: info.bytesOut,
      rxBuffered: info.rxUsed + (this.#overflow?.length ?? 0),
      paused: (info.flags & K.FLAG_PAUSED) !== 0,
      connectedAt: Math.round(origin + info.connectTime),
      lastActivityAt: Math.round(origin + info.lastActivity),
    });
  }

  /** One non-blocking read: n > 0, 0 (nothing yet) or null (end of stream). */
  #readInto(buf: Uint8Array): number | null {
    if (this.#endSeen) return null;
    const host = this.#host;
    if (this.#handle !== 0) {
      const n = host.core.read(this.#handle, buf);
      if (n > 0) {
        if (this.#paused) host.drain(); // the read may have queued RESUME
        return n;
      }
      if (n === 0) return 0;
      // END_OF_STREAM: the ring is empty and the peer ended or the socket closed.
    }
    const rest = this.#overflow;
    if (rest && this.#disconnected) {
      const n = Math.min(rest.length, buf.length);
      buf.set(rest.subarray(0, n));
      this.#overflow = n < rest.length ? rest.subarray(n) : undefined;
      return n;
    }
    this.#onEndSeen();
    return null;
  }

  #onEndSeen(): void {
    this.#endSeen = true;
    if (this.#disconnected) {
      this.#host.forget(this);
    } else if (!this.#host.options.allowHalfOpen) {
      this.#endGracefully();
    }
  }

  #serviceRecvWaiters(): void {
    const waiters = this.#recvWaiters;
    while (waiters.length > 0) {
      const n = this.#readInto(waiters.firstPayload()!);
      if (n === 0) return;
      waiters.resolveFirst(n);
    }
  }

  #onData(chunk: Buffer): void {
    const host = this.#host;
    if (this.#overflow) {
      // Only possible if 'data' was already on its way when we paused: keep order.
      this.#overflow = Buffer.concat([this.#overflow, chunk]);
      return;
    }
    const n = host.core.push(this.#handle, chunk, host.now());
    if (n >= 0 && n < chunk.length) {
      this.#overflow = n > 0 ? chunk.subarray(n) : chunk;
      this.#socket.pause();
    }
    host.drain();
  }

  #onEnd(): void {
    // A paused stream still emits 'end' once its own buffer is empty. If the last chunk did
    // not fit the ring, the end of stream must wait until that tail is in the ring too.
    if (this.#overflow) {
      this.#endPending = true;
      return;
    }
    this.#host.core.eof(this.#handle);
    this.#host.drain();
  }

  #onSocketClose(): void {
    if (this.#socketError && !this.#closeReason) this.#closeReason = 'error';
    this.#stats = this.#readStats();
    this.#host.core.close(this.#handle);
    this.#host.drain();
  }

  #write(bytes: Buffer): void {
    this.#socket.write(bytes, this.#onWritten);
    this.#written += bytes.length;
    this.#host.core.recordSent(this.#handle, bytes.length, this.#host.now());
  }

  #queueSend(bytes: Buffer, offset: number, timeout: number, signal: AbortSignal | undefined): Promise<number> {
    return new Promise((resolve, reject) => {
      const op: SendOp = {
        bytes, timeout, resolve, reject, signal, offset, endMark: this.#written, timer: undefined, onAbort: undefined,
      };
      this.#sendOps.push(op);
      this.#pumpSends();
      if (!this.#sendOps.includes(op)) return; // done already
      if (timeout === 0) {
        this.#timeoutSend(op);
        return;
      }
      if (timeout !== WAIT_FOREVER) op.timer = setTimeout(() => this.#timeoutSend(op), timeout);
      if (signal) {
        op.onAbort = () => this.#dropSend(op, new AbortError('send', signal.reason));
        signal.addEventListener('abort', op.onAbort, { once: true });
      }
    });
  }

  /** Moves queued sends into the socket while it has room; settles those fully flushed. */
  #pumpSends(): void {
    const socket = this.#socket;
    const ops = this.#sendOps;
    while (ops.length > 0) {
      const op = ops[0]!;
      while (op.offset < op.bytes.length && socket.writableLength < SEND_WINDOW && !socket.destroyed) {
        const piece = Math.min(op.bytes.length - op.offset, SEND_WINDOW);
        this.#write(op.bytes.subarray(op.offset, op.offset + piece));
        op.offset += piece;
        op.endMark = this.#written;
      }
      const flushed = this.#written - socket.writableLength;
      if (op.offset < op.bytes.length || flushed < op.endMark) return;
      ops.shift();
      this.#clearSend(op);
      op.resolve(op.bytes.length);
    }
    if (this.#endRequested) this.#endNow();
  }

  #timeoutSend(op: SendOp): void {
    this.#dropSend(op, new SendTimeoutError(this.id, op.offset, op.bytes.length, op.timeout));
  }

  #dropSend(op: SendOp, error: unknown): void {
    const i = this.#sendOps.indexOf(op);
    if (i < 0) return;
    this.#sendOps.splice(i, 1);
    this.#failSend(op, error);
    this.#pumpSends();
  }

  #failSend(op: SendOp, error: unknown): void {
    this.#clearSend(op);
    op.reject(error);
  }

  #clearSend(op: SendOp): void {
    clearTimeout(op.timer);
    if (op.onAbort) op.signal?.removeEventListener('abort', op.onAbort);
  }

  /** FIN once queued sends flushed; a reset if that takes longer than closeTimeout. */
  #endGracefully(): void {
    if (this.#endRequested || this.#disconnected) return;
    this.#endRequested = true;
    const { closeTimeout } = this.#host.options;
    this.#closeTimer = setTimeout(() => this.#reset(), closeTimeout);
    this.#closeTimer.unref();
    if (this.#sendOps.length === 0) this.#endNow();
  }

  #reset(): void {
    const socket = this.#socket;
    if (socket.destroyed) return;
    // libuv refuses a reset while our FIN (a shutdown request) is in flight, and the handle
    // then never closes. Our side is ended anyway: a plain close is all that is left to do.
    if (socket.writableEnded && socket.writableLength === 0 && !socket.writableFinished) socket.destroy();
    else socket.resetAndDestroy();
  }

  #endNow(): void {
    const socket = this.#socket;
    if (socket.writableEnded || socket.destroyed) return;
    // After our FIN is flushed nothing more can be sent: close the descriptor rather than
    // wait, perhaps forever, for the peer's FIN.
    socket.end(() => socket.destroy());
  }
}

const EMPTY_STATS: ClientStats = Object.freeze({
  bytesIn: 0, bytesOut: 0, rxBuffered: 0, paused: false, connectedAt: 0, lastActivityAt: 0,
});
