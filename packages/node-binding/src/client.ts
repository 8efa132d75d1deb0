import type { Socket } from 'node:net';
import { constants as K, type CoreApi, type Handle } from '@tcpserv/core-wasm';
import { formatHostPort } from './address.js';
import type { Arrival } from './arrival.js';
import { expectStatus } from './core-boundary.js';
import {
  AbortError, ClientClosedError, FrameError, FrameTooLargeError, InvalidArgumentError, SendQueueFullError,
} from './errors.js';
import { type Framing, type ResolvedFraming, encodeFrame, resolveFraming } from './framing.js';
import { PendingQueue } from './pending.js';
import type { ProxyInfo } from './proxy-stage.js';
import { SPILL, adoptHandle, attachStream, onreadUnavailable, type ReadPathKind, type ReadSink } from './read-path.js';
import { SendQueue } from './send-queue.js';
import type { TlsInfo } from './tls-stage.js';
import { WAIT_FOREVER, checkInteger, checkRecvBuffer, checkSignal, checkTimeout, toSendBytes } from './validate.js';

/** The server's settings a client reads (a part of the resolved createServer options). */
export interface ClientSettings {
  readonly rxBufferSize: number;
  readonly noDelay: boolean;
  readonly keepAlive: boolean;
  readonly keepAliveDelay: number;
  readonly closeTimeout: number;
  readonly allowHalfOpen: boolean;
  readonly framing: ResolvedFraming;
  readonly maxSendQueue: number;
  readonly sendQueueFull: 'reject' | 'close';
}

/** What a Client needs from its server. Internal: not exported from the package. */
export interface ClientHost {
  readonly core: CoreApi;
  readonly options: ClientSettings;
  /** Drains the core's events soon (a microtask: after the current I/O callback or user call), never now. */
  requestDrain(): void;
  /**
   * Drains once the current loop turn's socket reads are done (setImmediate): one drain serves
   * every client that had bytes in this turn. For the kernel-to-ring read path.
   */
  requestDrainAfterReads(): void;
  /** Delivers RECV for `client` at the next drain (bytes became readable without a core event). */
  requestRecv(client: Client): void;
  /** Monotonic milliseconds: the only clock the core ever sees. */
  now(): number;
  /** The client's socket has closed and its slot may be given back. */
  forget(client: Client): void;
  /** An error with no caller to reject. */
  report(error: unknown, client: Client): void;
  /** Counts a client closed by the binding itself (slow, frame). */
  count(what: 'slow' | 'frame'): void;
  /** Says which read path the first client took (once, at debug level). */
  readPathChosen(kind: ReadPathKind, why: string | undefined): void;
}

/** Counters of one client, live while it is connected and frozen once it disconnects. */
export interface ClientStats {
  /** Bytes received from the peer. */
  readonly bytesIn: number;
  /** Bytes the kernel took for the peer. */
  readonly bytesOut: number;
  /** Received bytes waiting to be read with recv. */
  readonly rxBuffered: number;
  /** Bytes accepted by send and not yet taken by the kernel (as `bufferedAmount`). */
  readonly txQueued: number;
  /** Reading from the socket is paused because the receive buffer is full. */
  readonly paused: boolean;
  /** When the client connected (ms since the epoch). */
  readonly connectedAt: number;
  /** When bytes last moved in either direction (ms since the epoch). */
  readonly lastActivityAt: number;
}

/**
 * Why a client's connection ended, as far as the server knows: the peer closed ('peer'), the
 * socket failed ('error'), the app called close() or abort(), the idle or lifetime limit, the
 * server was destroyed, the client was too slow to take its sends (`sendQueueFull: 'close'`),
 * or it sent a frame larger than maxFrameSize.
 */
export type CloseReason = 'peer' | 'error' | 'close' | 'abort' | 'idle' | 'lifetime' | 'server' | 'slow' | 'frame';

/**
 * A client's life. One field, so no combination of flags can contradict another:
 *
 *            close()                       queued sends flushed → FIN
 *   OPEN ─────────────────────▶ CLOSING ────────────────────────────┐
 *    │  read to end of stream,                                       │
 *    │  idle/lifetime limit      sends flushed → FIN                 │  closeTimeout → reset
 *    ├────────────────────────▶ ENDING ──────────────────────────────┤
 *    │  abort(), destroy(), too slow, frame too large                │
 *    ├────────────────────────▶ RESETTING ───────────────────────────┤
 *    │  the peer resets / the socket fails                           ▼
 *    └────────────────────────────────────────────────────▶ (socket 'close': core.close)
 *                                                                    │ DISCONNECT dispatched
 *                                                                    ▼
 *                                  DISCONNECTED ── slot given back ──▶ RELEASED
 *
 * ENDING differs from CLOSING only for the app: after close() recv and send reject; while
 * ENDING (the binding half-closed by itself) recv still returns what is left, then null.
 * Bytes received before the disconnect stay readable in DISCONNECTED until released.
 * Apart from the state, one fact about the app: whether it is done with the client
 * (`#appDone`: close(), abort(), the server's destroy, or the binding closing it as too slow
 * or for a frame error) — from then on recv and send reject, in every state.
 */
export enum ClientState {
  OPEN,
  ENDING,
  CLOSING,
  RESETTING,
  DISCONNECTED,
  RELEASED,
}

type FrameResult = Buffer | undefined | null;

/** Handle kept after the slot was given back, so no core call can reach another client. */
const NO_HANDLE = 0 as Handle;

/**
 * One connected peer. Its state (receive buffer, counters, open/closed) lives in the core;
 * this object holds the socket, the pending calls and, after the disconnect, a frozen copy
 * of its counters.
 */
export class Client implements ReadSink {
  /** 1, 2, 3 … in order of connection, unique for the life of its server. */
  readonly id: number;
  /** The peer's address (the real client's behind a PROXY header); '' for a Unix socket peer. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** 'IPv4', 'IPv6' or 'unix'. */
  readonly remoteFamily: string;
  readonly localAddress: string;
  readonly localPort: number;
  /**
   * What the TLS handshake settled (protocol, cipher, alpnProtocol, servername, authorized,
   * authorizationError, peerCertificate); undefined on a plain connection.
   */
  readonly tls: TlsInfo | undefined;
  /**
   * With `proxyProtocol`: the balancer that relayed this client (its address, port, family),
   * the header's version, the address the client connected to, and v2 TLVs (ALPN, authority,
   * SSL flags …). undefined without the PROXY protocol.
   */
  readonly proxy: ProxyInfo | undefined;

  readonly #host: ClientHost;
  readonly #socket: Socket;
  readonly #readPath: ReadPathKind;
  readonly #sends: SendQueue;
  #handle: Handle;
  #state = ClientState.OPEN;
  /** recv/send reject from now on (see the state diagram). */
  #appDone = false;
  /** The first reason the connection ended for. */
  #closeReason: CloseReason | undefined;
  /** The app has been given this client by accept() (it now owns its unread bytes). */
  #accepted = false;
  /** The app has seen end of stream (recv returned null). */
  #endSeen = false;
  #stats: ClientStats | undefined;
  #socketError: Error | undefined;
  /** Bytes read from the socket that did not fit the ring yet; reading is paused while they exist. */
  #overflow: Buffer | undefined;
  /** The peer's FIN arrived while #overflow was waiting for room in the ring. */
  #finPending = false;
  /** The core paused this client (PAUSE seen, RESUME not yet): a read may queue RESUME. */
  #paused = false;
  /** The window the next onread read lands in, computed by the callback of the read before. */
  #nextWindow: Uint8Array | undefined;
  #framing: ResolvedFraming;
  #maxSendQueue: number;
  readonly #recvWaiters = new PendingQueue<number | null, Uint8Array>();
  readonly #frameWaiters = new PendingQueue<FrameResult>();
  /** Forwards (forwardTo) whose bytes the kernel has not taken yet: they still live in the ring. */
  #loans = 0;
  /** releaseSlot came while a forward was in flight: the ring must outlive it. */
  #releaseDeferred = false;
  #closeTimer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;

  /**
   * Created by the server for an admitted connection whose slot is `handle` (apps get clients
   * from accept() or the notify callback; the parameters' types are not exported).
   */
  constructor(host: ClientHost, handle: Handle, arrival: Arrival, serial: number) {
    this.#host = host;
    this.#handle = handle;
    this.id = serial;
    const raw = arrival.socket;
    this.remoteAddress = arrival.remote.address;
    this.remotePort = arrival.remote.port;
    this.remoteFamily = arrival.remote.family;
    this.localAddress = raw.localAddress ?? '';
    this.localPort = raw.localPort ?? 0;
    this.tls = arrival.tls as TlsInfo | undefined;
    this.proxy = arrival.proxy as ProxyInfo | undefined;
    const { options } = host;
    this.#framing = options.framing;
    this.#maxSendQueue = options.maxSendQueue;
    if (this.#framing.core.mode !== 'raw') this.#applyFraming();

    // Bytes a stage read before us (after a PROXY header) go first.
    if (arrival.initial && arrival.initial.length > 0) this.receivedChunk(arrival.initial);

    const unavailable = arrival.tls === undefined ? onreadUnavailable(raw) : 'TLS decrypts in JavaScript';
    let socket: Socket;
    if (unavailable === undefined) {
      socket = adoptHandle(raw, this);
      this.#readPath = 'onread';
      if (this.#overflow) socket.pause();
    } else {
      socket = raw;
      this.#readPath = 'stream';
      attachStream(socket, this);
      if (!this.#overflow) socket.resume();
    }
    host.readPathChosen(this.#readPath, unavailable);
    this.#socket = socket;
    if (typeof socket.setNoDelay === 'function' && this.remoteFamily !== 'unix') socket.setNoDelay(options.noDelay);
    if (options.keepAlive && this.remoteFamily !== 'unix') socket.setKeepAlive(true, options.keepAliveDelay);
    this.#sends = new SendQueue(socket, {
      clientId: serial,
      confirmed: (n) => {
        if (this.#handle !== NO_HANDLE) host.core.recordSent(this.#handle, n, host.now());
      },
      drained: () => {
        if (this.#state === ClientState.CLOSING || this.#state === ClientState.ENDING) this.#finish();
      },
      writeFailed: (error) => {
        this.#socketError ??= error;
        this.#failSends();
      },
      tornFrame: () => this.#resetWith('abort'),
    });
    socket.on('error', (error: Error) => {
      this.#socketError ??= error;
      this.#failSends();
    });
    socket.on('close', () => this.#onSocketClose());
  }

  // ── Receiving ─────────────────────────────────────────────────────────────────

  /**
   * Receives into `buf`: resolves with the number of bytes copied (> 0), 0 if `timeout` ms
   * passed with nothing to read, or null at end of stream (the peer closed and every byte it
   * sent has been read; again on every later call). Rejects with ClientClosedError once the
   * client was closed or aborted, AbortError if `signal` fires, InvalidArgumentError if `buf`
   * was detached or emptied before bytes came for it. In a framed mode it reads raw bytes
   * and moves the frame position along.
   */
  recv(buf: Uint8Array, timeout: number = WAIT_FOREVER, signal?: AbortSignal): Promise<number | null> {
    checkRecvBuffer('buf', buf);
    checkTimeout('timeout', timeout);
    checkSignal('signal', signal);
    if (this.#appDone) return Promise.reject(this.#closedError());
    if (signal?.aborted) return Promise.reject(new AbortError('recv', signal.reason));
    if (this.#recvWaiters.length === 0) {
      const n = this.#readInto(buf);
      if (n !== 0) return Promise.resolve(n);
    }
    if (timeout === 0) return Promise.resolve(0); // earlier callers are first in line for the bytes
    return this.#recvWaiters.add(buf, timeout, 0, signal, () => new AbortError('recv', signal?.reason));
  }

  /**
   * Receives without waiting: the number of bytes copied into `buf` (> 0), 0 if nothing is
   * buffered, or null at end of stream. Throws ClientClosedError once closed or aborted.
   * Safe to call in a loop from the notify callback: it never runs a callback itself.
   */
  tryRecv(buf: Uint8Array): number | null {
    checkRecvBuffer('buf', buf);
    if (this.#appDone) throw this.#closedError();
    if (this.#recvWaiters.length > 0) return 0;
    return this.#readInto(buf);
  }

  /**
   * The next frame's payload (no delimiter, no header; for 'line' no \r\n or \n), undefined
   * after `timeout` ms without a whole frame, null at end of stream once every frame was
   * read. At end of stream an unterminated last piece is a final frame in 'line' and
   * 'delimiter' modes; in 'length' and 'fixed' a partial frame rejects with FrameError.
   * A frame larger than maxFrameSize rejects with FrameTooLargeError (the client is closed).
   */
  recvFrame(timeout: number = WAIT_FOREVER, signal?: AbortSignal): Promise<Buffer | undefined | null> {
    checkTimeout('timeout', timeout);
    checkSignal('signal', signal);
    this.#checkFramed('recvFrame');
    if (this.#appDone) return Promise.reject(this.#closedError());
    if (signal?.aborted) return Promise.reject(new AbortError('recvFrame', signal.reason));
    if (this.#frameWaiters.length === 0) {
      try {
        const frame = this.#readFrame();
        if (frame !== undefined) return Promise.resolve(frame);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (timeout === 0) return Promise.resolve(undefined);
    return this.#frameWaiters.add(undefined, timeout, undefined, signal, () => new AbortError('recvFrame', signal?.reason));
  }

  /** recvFrame without waiting: a frame, undefined when none is complete yet, or null at end of stream. */
  tryRecvFrame(): Buffer | undefined | null {
    this.#checkFramed('tryRecvFrame');
    if (this.#appDone) throw this.#closedError();
    if (this.#frameWaiters.length > 0) return undefined;
    return this.#readFrame();
  }

  /**
   * The frames of this client until end of stream. Leaving the loop early (break, return,
   * throw) closes the client, as node:net does for a socket's iterator.
   */
  async *frames(): AsyncGenerator<Buffer, void, undefined> {
    this.#checkFramed('frames');
    let finished = false;
    try {
      for (;;) {
        let frame: Buffer | undefined | null;
        try {
          frame = await this.recvFrame(WAIT_FOREVER);
        } catch (error) {
          if (error instanceof ClientClosedError) {
            finished = true;
            return;
          }
          throw error;
        }
        if (frame === null) {
          finished = true;
          return;
        }
        if (frame !== undefined) yield frame;
      }
    } finally {
      if (!finished) void this.close();
    }
  }

  /**
   * Changes how this client's bytes are cut into frames (see the `framing` option); bytes
   * already buffered are read under the new mode from the current read position.
   */
  setFraming(framing: Framing): void {
    const resolved = resolveFraming('framing', framing, this.#host.options.rxBufferSize);
    if (this.#state === ClientState.RELEASED) throw this.#closedError();
    this.#framing = resolved;
    this.#applyFraming();
    // Frames already buffered must wake the app, though no new byte may ever come.
    this.#host.requestRecv(this);
  }

  /** This client's framing, with every field filled in (`{ type: 'raw' }` by default). */
  get framing(): Exclude<Framing, string> {
    return this.#framing.spec;
  }

  // ── Sending ───────────────────────────────────────────────────────────────────

  /**
   * Sends `data` (a string goes as UTF-8). Resolves with `data`'s byte length once every byte
   * was taken by the kernel. Sends on one client go out in call order. `data` is not copied:
   * leave it unchanged until the promise settles.
   * Rejects with: SendTimeoutError after `timeout` ms (its bytesSent went out, bytesQueued
   * still go out, the rest was never queued; timeout 0 = only what the kernel takes at once;
   * the client stays usable) · SendQueueFullError at once when maxSendQueue bytes are already
   * waiting (nothing queued) · ClientClosedError once closed, or when the connection ends
   * first (bytesSent: what went out) · AbortError when `signal` fires (with bytesSent).
   */
  send(data: string | Uint8Array, timeout: number = WAIT_FOREVER, signal?: AbortSignal): Promise<number> {
    const bytes = toSendBytes('data', data);
    checkTimeout('timeout', timeout);
    checkSignal('signal', signal);
    return this.#enqueue([bytes], bytes.length, timeout, signal, false);
  }

  /**
   * Sends one frame in the client's framing: appends '\n' or the delimiter, or prefixes the
   * length header; 'fixed' needs exactly `size` bytes; 'raw' throws InvalidArgumentError.
   * A frame is never interleaved with another send. If the timeout (or signal) cuts it after
   * part of it went out, the peer would see a torn frame: the client is aborted and the
   * SendTimeoutError says so (`torn`).
   */
  sendFrame(data: string | Uint8Array, timeout: number = WAIT_FOREVER, signal?: AbortSignal): Promise<number> {
    const payload = toSendBytes('data', data);
    checkTimeout('timeout', timeout);
    checkSignal('signal', signal);
    const parts = encodeFrame('data', this.#framing, payload);
    let length = 0;
    for (const part of parts) length += part.length;
    return this.#enqueue(parts, length, timeout, signal, true);
  }

  /**
   * Sends the bytes buffered for this client straight from its receive ring to `target`'s
   * socket (default: back to this client) — no JavaScript copy, for echo- and proxy-style
   * code. Returns the bytes handed over now; 0 when nothing is buffered, or when an earlier
   * forward is still being written (its bytes stay in the ring until the kernel took them,
   * then RECV is delivered again); null at end of stream. Goes out after `target`'s earlier
   * sends, in order. Throws ClientClosedError when `target` cannot send (closed, ended).
   */
  forwardTo(target: Client = this): number | null {
    if (!(target instanceof Client)) throw new InvalidArgumentError('target', 'a Client of a tcpserv server', target);
    if (this.#appDone) throw this.#closedError();
    if (!target.writable) throw target.#closedError();
    if (this.#loans > 0 || this.#recvWaiters.length > 0) return 0;
    if (this.#endSeen) return null;
    const core = this.#host.core;
    let moved = 0;
    while (this.#handle !== NO_HANDLE) {
      const view = core.readView(this.#handle);
      if (typeof view === 'number') {
        if (expectStatus('readView', view, K.END_OF_STREAM) === 0 || moved > 0) return moved;
        return this.#forwardRest(target);
      }
      const n = view.length;
      this.#loans++;
      const handle = this.#handle;
      if (target.#sends.sendBorrowed(view, (ok) => this.#repaid(handle, n, ok))) {
        this.#loans--;
        expectStatus('consume', core.consume(handle, n));
        moved += n;
        continue;
      }
      return moved + n;
    }
    return moved > 0 ? moved : this.#forwardRest(target);
  }

  /** The ring is empty and the stream ended: what a disconnect left in #overflow goes too, then null. */
  #forwardRest(target: Client): number | null {
    const rest = this.#overflow;
    if (rest && this.disconnected) {
      this.#overflow = undefined;
      target.#enqueue([rest], rest.length, WAIT_FOREVER, undefined, false).catch(() => {});
      return rest.length;
    }
    if (rest) return 0; // the FIN waits behind bytes that do not fit the ring yet
    this.#onEndSeen();
    return null;
  }

  /** Changes this client's maxSendQueue (bytes accepted by send and not yet in the kernel). */
  setMaxSendQueue(bytes: number): void {
    this.#maxSendQueue = checkInteger('bytes', bytes, 1, 2 ** 31 - 1);
  }

  /**
   * Bytes accepted by `send` that the kernel has not taken yet, as WebSocket's
   * `bufferedAmount`. When it is 0 right after `send`, every byte is already in the kernel:
   * the buffer passed to `send` may be reused without awaiting.
   */
  get bufferedAmount(): number {
    return this.#sends.queuedBytes;
  }

  /**
   * True while `send` can queue bytes: not closed or aborted, not disconnected, and our side
   * not ended yet. When false, `send` rejects with ClientClosedError.
   */
  get writable(): boolean {
    return this.#state === ClientState.OPEN && !this.#socket.destroyed && !this.#socket.writableEnded;
  }

  // ── Closing ───────────────────────────────────────────────────────────────────

  /**
   * Closes the connection: recv/send reject from now on, sends already under way get up to
   * `closeTimeout` ms to flush, then the server sends FIN (a reset if they did not flush).
   * Resolves once the socket is closed. A second call returns the same promise.
   */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    const closed = this.#whenClosed();
    this.#closeReason ??= 'close';
    this.#appDone = true;
    this.#rejectReceivers();
    if (this.#state === ClientState.OPEN || this.#state === ClientState.ENDING) {
      this.#state = ClientState.CLOSING;
      this.#armCloseTimer();
      if (this.#sends.idle) this.#finish();
    } else if (this.#state >= ClientState.DISCONNECTED) {
      this.#finishClosed();
    }
    return closed;
  }

  /** Resets the connection (RST) at once, dropping unsent bytes. Resolves once it is closed. */
  abort(): Promise<void> {
    const closed = this.#whenClosed();
    this.#resetWith('abort');
    return closed;
  }

  /** True once the connection has ended (DISCONNECT was delivered). */
  get disconnected(): boolean {
    return this.#state >= ClientState.DISCONNECTED;
  }

  /** True once close()/abort() was called, the server was destroyed, or the binding closed it (slow, frame). */
  get closed(): boolean {
    return this.#appDone;
  }

  /** Why the connection ended; undefined while it is open. */
  get closeReason(): CloseReason | undefined {
    return this.disconnected ? this.#closeReason : undefined;
  }

  /** Live counters while connected; a frozen snapshot afterwards. */
  get stats(): ClientStats {
    return this.#stats ?? this.#readStats() ?? EMPTY_STATS;
  }

  /**
   * Receives chunk by chunk (fresh Buffers) until end of stream; stops quietly if the client
   * is closed. Leaving the loop early (break, return, throw) closes the client.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    const buf = Buffer.allocUnsafe(Math.min(this.#host.options.rxBufferSize, 65536));
    let finished = false;
    try {
      for (;;) {
        let n: number | null;
        try {
          n = await this.recv(buf, WAIT_FOREVER);
        } catch (error) {
          if (error instanceof ClientClosedError) {
            finished = true;
            return;
          }
          throw error;
        }
        if (n === null) {
          finished = true;
          return;
        }
        if (n > 0) yield Buffer.from(buf.subarray(0, n));
      }
    } finally {
      if (!finished) void this.close();
    }
  }

  toString(): string {
    return `client ${this.id} (${this.remoteFamily === 'unix' ? 'unix' : formatHostPort(this.remoteAddress, this.remotePort)})`;
  }

  // ── Called by the server ──────────────────────────────────────────────────────

  /** @internal */
  get handle(): Handle {
    return this.#handle;
  }

  /** @internal Which path incoming bytes take. */
  get readPath(): ReadPathKind {
    return this.#readPath;
  }

  /** @internal The app now owns this client (accept() returned it). */
  markAccepted(): void {
    this.#accepted = true;
  }

  /** @internal Whether the app was given this client by accept(). */
  get accepted(): boolean {
    return this.#accepted;
  }

  /**
   * @internal RECV: bytes, a frame, a frame error or end of stream became readable. Returns
   * false when the client was closed for a frame error (the callback then hears nothing).
   */
  onReadable(): boolean {
    if (this.#framing.core.mode !== 'raw' && this.#handle !== NO_HANDLE && !this.#appDone) {
      if (this.#host.core.nextFrameLength(this.#handle) === K.ERR_FRAME_TOO_LARGE) {
        this.#frameTooLarge();
        return false;
      }
      this.#serviceFrameWaiters();
    }
    this.#serviceRecvWaiters();
    return true;
  }

  /** @internal PAUSE: the ring is full. */
  onPause(): void {
    this.#paused = true;
    this.#socket.pause();
  }

  /** @internal RESUME: the ring drained to its low watermark. */
  onResume(): void {
    this.#paused = false;
    const rest = this.#overflow;
    if (rest) {
      this.#overflow = undefined;
      if (!this.receivedChunk(rest)) return; // still full: stays paused (the core queued PAUSE again)
    }
    if (this.#finPending) {
      this.#finPending = false;
      this.ended();
      return;
    }
    if (this.#state < ClientState.RESETTING) this.#socket.resume();
  }

  /** @internal DISCONNECT: the socket has closed. Freezes the counters and settles what waits. */
  onDisconnect(): void {
    if (this.#state < ClientState.DISCONNECTED) this.#state = ClientState.DISCONNECTED;
    this.#closeReason ??= 'peer';
    this.#failSends();
    this.#serviceFrameWaiters();
    this.#serviceRecvWaiters();
    this.#finishClosed();
  }

  /** @internal Whether the client holds unread bytes (ring or overflow). */
  get hasUnread(): boolean {
    if (this.#overflow) return true;
    if (this.#handle === NO_HANDLE) return false;
    const info = this.#host.core.inspect(this.#handle);
    return info !== undefined && info.rxUsed > 0;
  }

  /** @internal The server's idle/lifetime sweep ended this client: FIN once sends flushed. */
  expire(reason: 'idle' | 'lifetime'): void {
    if (this.#state !== ClientState.OPEN) return;
    this.#closeReason ??= reason;
    this.#endGracefully();
  }

  /** @internal The server is being destroyed: fail every pending call and reset the socket. */
  destroyForServer(): Promise<void> {
    const closed = this.#whenClosed();
    this.#resetWith('server', false);
    return closed;
  }

  /** @internal The slot may be given back to the core now (once no forward still reads its ring). */
  releaseSlot(): void {
    if (this.#handle === NO_HANDLE) return;
    if (this.#loans > 0) {
      this.#releaseDeferred = true;
      return;
    }
    this.#stats ??= this.#readStats();
    expectStatus('release', this.#host.core.release(this.#handle));
    this.#handle = NO_HANDLE;
    this.#overflow = undefined;
    this.#state = ClientState.RELEASED;
  }

  /** A forward out of the ring settled: its bytes leave the ring (written or dropped). */
  #repaid(handle: Handle, n: number, ok: boolean): void {
    this.#loans--;
    if (this.#handle === handle && this.#state !== ClientState.RELEASED) {
      expectStatus('consume', this.#host.core.consume(handle, n));
      if (this.#releaseDeferred) {
        this.#releaseDeferred = false;
        this.releaseSlot();
        return;
      }
      if (ok) this.#host.requestRecv(this); // more may be buffered, or the end of stream
      else this.#host.requestDrain();
    }
  }

  // ── ReadSink: bytes from the socket into the core ─────────────────────────────

  /** @internal Where the next onread read lands (see read-path.ts). */
  receiveWindow(): Uint8Array | undefined {
    const next = this.#nextWindow;
    if (next) {
      this.#nextWindow = undefined;
      return next;
    }
    return this.#computeWindow();
  }

  /** @internal `n` bytes landed in `window`. False: the ring is full, stop reading. */
  received(window: Uint8Array, n: number): boolean {
    const host = this.#host;
    if (window.buffer === SPILL.buffer) {
      // The first read after a pause lands in the spill buffer (see read-path.ts): move it in.
      return this.#pushChunk(SPILL.subarray(0, n), true);
    }
    if (this.#handle === NO_HANDLE) return false;
    const taken = host.core.received(this.#handle, window, n, host.now());
    if (taken === K.ERR_CLOSED) return true; // the app closed it: what still arrives is dropped
    expectStatus('received', taken);
    host.requestDrainAfterReads();
    this.#nextWindow = this.#computeWindow();
    return this.#nextWindow !== undefined;
  }

  /** @internal A chunk from the stream path (or bytes read before us). False: pause reading. */
  receivedChunk(chunk: Buffer): boolean {
    return this.#pushChunk(chunk, false);
  }

  /** Copies `chunk` into the ring; what does not fit waits in #overflow (copied when `reused`). */
  #pushChunk(chunk: Buffer, reused: boolean): boolean {
    const host = this.#host;
    if (this.#overflow) {
      // Only possible if a chunk was already on its way when we paused: keep order.
      this.#overflow = Buffer.concat([this.#overflow, chunk]);
      return false;
    }
    if (this.#handle === NO_HANDLE) return false;
    const n = host.core.push(this.#handle, chunk, host.now());
    if (n === K.ERR_CLOSED) return true; // the app closed it: what still arrives is dropped
    expectStatus('push', n);
    host.requestDrain();
    if (n === chunk.length) return true;
    this.#overflow = reused ? Buffer.from(chunk.subarray(n)) : chunk.subarray(n);
    return false;
  }

  /** @internal The peer sent FIN. */
  ended(): void {
    // A paused socket still reports its FIN once its own buffer is empty. If the last bytes did
    // not fit the ring, the end of stream must wait until they are in the ring too.
    if (this.#overflow) {
      this.#finPending = true;
      return;
    }
    if (this.#handle === NO_HANDLE) return;
    const status = this.#host.core.eof(this.#handle);
    expectStatus('eof', status, K.ERR_CLOSED);
    this.#host.requestDrain();
  }

  /** @internal A read-path callback threw (an internal error): report it, reset the client. */
  failed(error: unknown): void {
    this.#host.report(error, this);
    this.#resetWith('error');
  }

  #computeWindow(): Uint8Array | undefined {
    if (this.#overflow || this.#handle === NO_HANDLE) return undefined;
    const window = this.#host.core.receiveWindow(this.#handle);
    if (typeof window !== 'number') return window;
    expectStatus('receiveWindow', window, K.ERR_CLOSED);
    return undefined;
  }

  // ── Internals ─────────────────────────────────────────────────────────────────

  #closedError(bytesSent = 0): ClientClosedError {
    return new ClientClosedError(this.id, { cause: this.#socketError, bytesSent });
  }

  #checkFramed(operation: string): void {
    if (this.#framing.core.mode === 'raw') {
      throw new InvalidArgumentError(`${operation}()`, "used with a framing other than 'raw' (see setFraming)", 'raw');
    }
  }

  #applyFraming(): void {
    if (this.#handle === NO_HANDLE) return;
    expectStatus('setFraming', this.#host.core.setFraming(this.#handle, this.#framing.core));
  }

  /** The one promise close/abort/destroy hand out, settled by #finishClosed. */
  #whenClosed(): Promise<void> {
    this.#closed ??= new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    return this.#closed;
  }

  #rejectReceivers(): void {
    const error = this.#closedError();
    this.#recvWaiters.rejectAll(error);
    this.#frameWaiters.rejectAll(error);
  }

  #failSends(): void {
    this.#sends.failAll((bytesSent) => this.#closedError(bytesSent));
  }

  #enqueue(parts: Buffer[], length: number, timeout: number, signal: AbortSignal | undefined, frame: boolean): Promise<number> {
    if (!this.writable) return Promise.reject(this.#closedError());
    if (signal?.aborted) return Promise.reject(new AbortError('send', signal.reason));
    if (length === 0) return Promise.resolve(0);
    const queued = this.#sends.queuedBytes;
    // A send larger than the limit still goes when nothing else waits: it is the caller's own
    // memory (not copied), handed to the kernel piece by piece.
    if (queued > 0 && queued + length > this.#maxSendQueue) {
      const close = this.#host.options.sendQueueFull === 'close';
      const error = new SendQueueFullError(this.id, queued, length, this.#maxSendQueue, close);
      if (close) {
        this.#host.count('slow');
        this.#resetWith('slow');
      }
      return Promise.reject(error);
    }
    return this.#sends.send(parts, length, timeout, signal, frame);
  }

  #finishClosed(): void {
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    const resolve = this.#resolveClosed;
    this.#resolveClosed = undefined;
    resolve?.();
    if (this.#appDone && this.#state >= ClientState.DISCONNECTED) this.#host.forget(this);
  }

  #readStats(): ClientStats | undefined {
    if (this.#handle === NO_HANDLE) return undefined;
    const info = this.#host.core.inspect(this.#handle);
    if (info === undefined) return undefined;
    const origin = performance.timeOrigin;
    return Object.freeze({
      bytesIn: info.bytesIn,
      bytesOut: info.bytesOut,
      rxBuffered: info.rxUsed + (this.#overflow?.length ?? 0),
      txQueued: this.#sends.queuedBytes,
      paused: (info.flags & K.FLAG_PAUSED) !== 0,
      connectedAt: Math.round(origin + info.connectTime),
      lastActivityAt: Math.round(origin + info.lastActivity),
    });
  }

  /** One non-blocking read: n > 0, 0 (nothing yet) or null (end of stream). */
  #readInto(buf: Uint8Array): number | null {
    if (this.#endSeen) return null;
    const host = this.#host;
    if (this.#handle !== NO_HANDLE) {
      const n = expectStatus('read', host.core.read(this.#handle, buf), K.END_OF_STREAM);
      if (n > 0) {
        if (this.#paused) host.requestDrain(); // the read may have queued RESUME
        return n;
      }
      if (n === 0) return 0;
      // END_OF_STREAM: the ring is empty and the peer ended or the socket closed.
    }
    const rest = this.#overflow;
    if (rest && this.disconnected) {
      const n = Math.min(rest.length, buf.length);
      buf.set(rest.subarray(0, n));
      this.#overflow = n < rest.length ? rest.subarray(n) : undefined;
      return n;
    }
    if (rest) return 0; // the FIN waits behind bytes that do not fit the ring yet
    this.#onEndSeen();
    return null;
  }

  /** One frame without waiting; throws FrameError / FrameTooLargeError. */
  #readFrame(): FrameResult {
    if (this.#endSeen) return null;
    if (this.#handle === NO_HANDLE) {
      this.#onEndSeen();
      return null;
    }
    const core = this.#host.core;
    const length = expectStatus('nextFrameLength', core.nextFrameLength(this.#handle),
      K.FRAME_PENDING, K.END_OF_STREAM, K.ERR_FRAME_TOO_LARGE, K.ERR_FRAME_TRUNCATED);
    if (length >= 0) {
      const frame = Buffer.allocUnsafe(length);
      expectStatus('readFrame', core.readFrame(this.#handle, frame));
      if (this.#paused) this.#host.requestDrain();
      return frame;
    }
    switch (length) {
      case K.FRAME_PENDING:
        return undefined;
      case K.ERR_FRAME_TOO_LARGE:
        throw this.#frameTooLarge();
      case K.ERR_FRAME_TRUNCATED: {
        const info = core.inspect(this.#handle);
        this.#onEndSeen();
        throw new FrameError(this.id, info?.rxUsed ?? 0);
      }
      default: // END_OF_STREAM
        this.#onEndSeen();
        return null;
    }
  }

  #frameTooLarge(): FrameTooLargeError {
    const error = new FrameTooLargeError(this.id, this.#framing.maxFrameSize);
    if (!this.#appDone) {
      this.#host.count('frame');
      this.#frameWaiters.rejectAll(error);
      this.#recvWaiters.rejectAll(error);
      this.#resetWith('frame');
    }
    return error;
  }

  #onEndSeen(): void {
    this.#endSeen = true;
    if (this.disconnected) {
      this.#host.forget(this);
    } else if (!this.#host.options.allowHalfOpen) {
      this.#endGracefully();
    }
  }

  #serviceRecvWaiters(): void {
    const waiters = this.#recvWaiters;
    while (waiters.length > 0) {
      const buf = waiters.firstPayload()!;
      if (buf.length === 0) {
        // Detached or shrunk while waiting: refuse it, and keep the bytes for the next caller.
        waiters.rejectFirst(new InvalidArgumentError('buf', 'a non-empty Buffer or Uint8Array (not detached)', buf));
        continue;
      }
      const n = this.#readInto(buf);
      if (n === 0) return;
      waiters.resolveFirst(n);
    }
  }

  #serviceFrameWaiters(): void {
    const waiters = this.#frameWaiters;
    while (waiters.length > 0) {
      let frame: FrameResult;
      try {
        frame = this.#readFrame();
      } catch (error) {
        waiters.rejectFirst(error);
        continue;
      }
      if (frame === undefined) return;
      waiters.resolveFirst(frame);
    }
  }

  #onSocketClose(): void {
    if (this.#socketError && !this.#closeReason) this.#closeReason = 'error';
    this.#failSends();
    if (this.#handle === NO_HANDLE) return;
    this.#stats = this.#readStats();
    expectStatus('close', this.#host.core.close(this.#handle), K.ERR_CLOSED);
    this.#host.requestDrain();
  }

  /** Our FIN once queued sends flushed (ENDING: the app may still read); a reset after closeTimeout. */
  #endGracefully(): void {
    if (this.#state !== ClientState.OPEN) return;
    this.#state = ClientState.ENDING;
    this.#armCloseTimer();
    if (this.#sends.idle) this.#finish();
  }

  #armCloseTimer(): void {
    if (this.#closeTimer) return;
    this.#closeTimer = setTimeout(() => this.#reset(), this.#host.options.closeTimeout);
    this.#closeTimer.unref();
  }

  /**
   * Ends the client for `reason` at once: pending calls fail, unsent bytes are dropped, and the
   * socket is reset (RST) — or, for the server's destroy, simply closed.
   */
  #resetWith(reason: CloseReason, reset = true): void {
    this.#closeReason ??= reason;
    this.#appDone = true;
    this.#rejectReceivers();
    this.#failSends();
    if (this.#state < ClientState.RESETTING) {
      this.#state = ClientState.RESETTING;
      if (reset) this.#reset();
      else this.#socket.destroy();
    } else if (this.#state >= ClientState.DISCONNECTED) {
      this.#finishClosed();
    }
  }

  #reset(): void {
    const socket = this.#socket;
    if (socket.destroyed) return;
    // libuv refuses a reset while our FIN (a shutdown request) is in flight, and the handle
    // then never closes. Our side is ended anyway: a plain close is all that is left to do.
    if (socket.writableEnded && socket.writableLength === 0 && !socket.writableFinished) socket.destroy();
    else if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  }

  /** FIN now (the sends have flushed); the descriptor closes once it is out. */
  #finish(): void {
    const socket = this.#socket;
    if (socket.writableEnded || socket.destroyed) return;
    // After our FIN is flushed nothing more can be sent: close the descriptor rather than
    // wait, perhaps forever, for the peer's FIN.
    socket.end(() => socket.destroy());
  }
}

const EMPTY_STATS: ClientStats = Object.freeze({
  bytesIn: 0, bytesOut: 0, rxBuffered: 0, txQueued: 0, paused: false, connectedAt: 0, lastActivityAt: 0,
});
