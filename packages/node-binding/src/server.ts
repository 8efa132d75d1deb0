import { readFileSync } from 'node:fs';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { constants as K, createCore, type WasmCore } from '@tcpserv/core-wasm';
import { Client, type ClientHost } from './client.js';
import { coarseNow, holdClock, preciseNow } from './clock.js';
import { AbortError, ListenError, ServerDestroyedError, formatHostPort } from './errors.js';
import { type ResolvedOptions, type ServerOptions, resolveOptions } from './options.js';
import { PendingQueue } from './pending.js';
import { WAIT_FOREVER, checkFunction, checkInteger, checkSignal, checkTimeout } from './validate.js';

/** The notify callback's events (the seed's TCP_SERVER_EVENT_*). */
export enum TcpEvent {
  /** A client connected. Delivered once per client, before anything else about it. */
  CONNECT = 'CONNECT',
  /** New bytes (or end of stream) can be read; at most one pending per client. */
  RECV = 'RECV',
  /** The connection closed. Delivered once per client, last. Unread bytes stay readable. */
  DISCONNECT = 'DISCONNECT',
}

/** `(client, event) => …`; may return a promise. A throw or rejection goes to `onError`. */
export type NotifyCallback = (client: Client, event: TcpEvent) => unknown;

/** Counters of one server. */
export interface ServerStats {
  readonly name: string;
  /** Clients connected now. */
  readonly live: number;
  /** The admission limit now. */
  readonly maxClients: number;
  /** Connected clients that accept() has not returned yet. */
  readonly pendingAccept: number;
  /** Clients whose reading is paused because their receive buffer is full. */
  readonly paused: number;
  /** Clients admitted since the server started. */
  readonly opened: number;
  /** Connections refused (maxClients, maxClientsPerAddress or a full client table). */
  readonly rejected: number;
  /** Clients disconnected. */
  readonly closed: number;
  /** accept() failures reported by the system (EMFILE, ENFILE, …). */
  readonly acceptErrors: number;
  /** Bytes received from all clients. */
  readonly bytesIn: number;
  /** Bytes handed to the sockets of all clients. */
  readonly bytesOut: number;
  /** Client table slots in use (connected clients plus disconnected ones with unread bytes). */
  readonly usedSlots: number;
}

/** What `server.address()` returns. */
export interface ServerAddress {
  readonly address: string;
  readonly port: number;
  readonly family: string;
}

const RESOLVED_NULL = Promise.resolve(null);
/** Descriptors kept free for everything else a process opens (files, stdio, the listener …). */
const DESCRIPTOR_RESERVE = 32;

/**
 * Hands a socket to a server as if it had just been accepted. For tests that drive the binding
 * with an in-memory socket double; not part of the public API.
 * @internal
 */
export const adoptSocket = Symbol('tcpserv.adoptSocket');
/** Grace given to a refused connection to take its rejectMessage before it is reset. */
const REJECT_LINGER_MS = 1000;
/** At most one accept-failure report per this many ms: EMFILE comes in bursts. */
const ACCEPT_ERROR_REPORT_MS = 1000;

/**
 * Creates a TCP server and resolves once it is listening (the seed's tcpserver_create).
 * Throws InvalidArgumentError at once for a bad option; rejects with ListenError
 * (code EADDRINUSE, EACCES, …) if it cannot listen.
 */
export function createServer(options: ServerOptions): Promise<TcpServer> {
  const resolved = resolveOptions(options);
  const server = new TcpServer(resolved);
  return server.listen().then(() => server);
}

/**
 * A listening TCP server whose clients live in its own WebAssembly core. Use `accept()` and
 * per-client `recv`/`send` (blocking style), `setNotifyCallback` (callback style), or both.
 */
export class TcpServer implements AsyncIterable<Client> {
  readonly name: string;
  readonly #options: ResolvedOptions;
  readonly #core: WasmCore;
  readonly #net: NetServer;
  readonly #host: ClientHost;
  /** Core handle → client, for every client whose slot is still held. */
  readonly #clients = new Map<number, Client>();
  readonly #perAddress = new Map<string, number>();
  readonly #acceptWaiters = new PendingQueue<Client | null>();
  #notify: NotifyCallback | undefined;
  #draining = false;
  #destroyed = false;
  #destroyPromise: Promise<void> | undefined;
  #shutdownPromise: Promise<void> | undefined;
  /** Shutting down: no new clients; #onIdle runs when the last one disconnects. */
  #stopping = false;
  #onIdle: (() => void) | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #rejectedByAddress = 0;
  #acceptErrors = 0;
  #lastAcceptErrorReport = -Infinity;
  #address: ServerAddress | undefined;
  #releaseClock: (() => void) | undefined;

  /** @internal Use createServer(). */
  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.name = options.name;
    this.#core = createCore({
      maxSockets: options.maxSockets,
      maxClients: clampToDescriptorLimit(options.maxClients, options.name),
      rxBufferSize: options.rxBufferSize,
    });
    this.#host = {
      core: this.#core,
      options,
      drain: () => this.#drain(),
      now: coarseNow,
      forget: (client) => this.#forget(client),
    };
    // allowHalfOpen on the socket always: the half-close policy is ours (see Client).
    this.#net = createNetServer({ allowHalfOpen: true, pauseOnConnect: false });
    this.#net.on('connection', (socket) => this.#onConnection(socket));
  }

  /** @internal */
  listen(): Promise<void> {
    const { host, port, backlog } = this.#options;
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        this.#net.off('listening', onListening);
        this.#destroyed = true;
        reject(new ListenError(error.code ?? 'ERR_LISTEN', host, port, error));
      };
      const onListening = (): void => {
        this.#net.off('error', onError);
        this.#net.on('error', (error) => this.#onAcceptError(error));
        const a = this.#net.address();
        if (a && typeof a === 'object') this.#address = Object.freeze({ address: a.address, port: a.port, family: a.family });
        this.#releaseClock = holdClock();
        this.#startSweep();
        this.#log(`listening on ${formatHostPort(this.#address?.address ?? host, this.#address?.port ?? port)}`);
        resolve();
      };
      this.#net.once('error', onError);
      this.#net.once('listening', onListening);
      this.#net.listen({ host, port, backlog });
    });
  }

  /** The bound address; `port` is the real one when 0 was asked for. */
  address(): ServerAddress {
    if (!this.#address || this.#destroyed) throw new ServerDestroyedError(this.name);
    return this.#address;
  }

  /**
   * The next connected client not yet returned by accept (the seed's tcpserver_accept), or
   * null after `timeout` ms (0 = don't wait, WAIT_FOREVER = no limit). Rejects with
   * ServerDestroyedError once the server is destroyed, AbortError if `signal` fires.
   */
  accept(timeout: number = WAIT_FOREVER, signal?: AbortSignal): Promise<Client | null> {
    checkTimeout('timeout', timeout);
    checkSignal('signal', signal);
    if (this.#destroyed) return Promise.reject(new ServerDestroyedError(this.name));
    if (signal?.aborted) return Promise.reject(new AbortError('accept', signal.reason));
    if (this.#acceptWaiters.length === 0) {
      const client = this.#takeAccepted();
      if (client) return Promise.resolve(client);
    }
    if (this.#stopping) return Promise.reject(new ServerDestroyedError(this.name));
    if (timeout === 0) return RESOLVED_NULL;
    return this.#acceptWaiters.add(undefined, timeout, null, signal, () => new AbortError('accept', signal?.reason));
  }

  /**
   * Sets (or with null, removes) the callback for CONNECT / RECV / DISCONNECT (the seed's
   * tcpserver_set_notify_callback). Works alongside accept(): a client may be both.
   */
  setNotifyCallback(callback: NotifyCallback | null): void {
    const notify = callback === null ? undefined : checkFunction<NotifyCallback>('callback', callback);
    if (this.#destroyed) throw new ServerDestroyedError(this.name);
    this.#notify = notify;
  }

  /** Changes the admission limit (1…maxSockets). Connected clients stay; new ones wait for room. */
  setMaxClients(maxClients: number): void {
    checkInteger('maxClients', maxClients, 1, this.#options.maxSockets);
    if (this.#destroyed) throw new ServerDestroyedError(this.name);
    this.#core.setMaxClients(clampToDescriptorLimit(maxClients, this.name));
  }

  /** Connected clients (not yet disconnected). */
  *clients(): IterableIterator<Client> {
    for (const client of [...this.#clients.values()]) {
      if (!client.disconnected) yield client;
    }
  }

  stats(): ServerStats {
    const s = this.#core.stats();
    return Object.freeze({
      name: this.name,
      live: s.live,
      maxClients: s.maxClients,
      pendingAccept: s.pendingAccept,
      paused: s.paused,
      opened: s.opened,
      rejected: s.rejected + this.#rejectedByAddress,
      closed: s.closed,
      acceptErrors: this.#acceptErrors,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      usedSlots: s.usedSlots,
    });
  }

  /** True once destroy() was called (or listening failed). */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * Stops listening and closes every client (each gets its DISCONNECT); pending accepts reject
   * with ServerDestroyedError, pending recv/send with ClientClosedError. Resolves once the port
   * is free and every socket closed (the seed's tcpserver_destroy). Idempotent.
   */
  destroy(): Promise<void> {
    if (this.#destroyPromise) return this.#destroyPromise;
    this.#destroyed = true;
    this.#stopping = true;
    clearInterval(this.#sweepTimer);
    this.#acceptWaiters.rejectAll(new ServerDestroyedError(this.name));
    const listenerClosed = new Promise<void>((resolve) => {
      if (!this.#net.listening) resolve();
      else this.#net.close(() => resolve());
    });
    const clientsClosed = [...this.#clients.values()].map((client) => client.destroyForServer());
    this.#destroyPromise = Promise.all([listenerClosed, ...clientsClosed]).then(() => {
      for (const client of [...this.#clients.values()]) this.#forget(client);
      this.#releaseClock?.();
      this.#log('destroyed');
    });
    return this.#destroyPromise;
  }

  /**
   * Graceful stop: stops listening at once (pending and later accepts reject with
   * ServerDestroyedError; clients already queued stay acceptable), lets connected clients
   * finish — until each one disconnects — and destroys the server when the last one is gone
   * or after `timeout` ms (WAIT_FOREVER = no deadline), whichever comes first.
   * Resolves when the server is destroyed. Idempotent; destroy() cuts it short.
   */
  shutdown(timeout: number = 5000): Promise<void> {
    checkTimeout('timeout', timeout);
    if (this.#shutdownPromise) return this.#shutdownPromise;
    if (this.#destroyPromise) return this.#destroyPromise;
    this.#stopping = true;
    this.#acceptWaiters.rejectAll(new ServerDestroyedError(this.name));
    if (this.#net.listening) this.#net.close();
    this.#log('shutting down');
    this.#shutdownPromise = new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(deadline);
        this.#onIdle = undefined;
        resolve(this.destroy());
      };
      const deadline = timeout === WAIT_FOREVER ? undefined : setTimeout(finish, timeout);
      this.#onIdle = finish;
      if (this.#core.stats().live === 0) finish();
    });
    return this.#shutdownPromise;
  }

  /** Accepts clients until the server is destroyed. */
  async *[Symbol.asyncIterator](): AsyncIterator<Client> {
    for (;;) {
      let client: Client | null;
      try {
        client = await this.accept(WAIT_FOREVER);
      } catch (error) {
        if (error instanceof ServerDestroyedError) return;
        throw error;
      }
      if (client) yield client;
    }
  }

  /** @internal See `adoptSocket`. */
  [adoptSocket](socket: Socket): void {
    this.#onConnection(socket);
  }

  // ── Connections ───────────────────────────────────────────────────────────────

  #onConnection(socket: Socket): void {
    socket.on('error', noop); // a refused or half-set-up socket must never crash the process
    if (this.#destroyed || this.#stopping) {
      socket.destroy();
      return;
    }
    const options = this.#options;
    const ip = socket.remoteAddress ?? '';
    if (options.maxClientsPerAddress > 0 && (this.#perAddress.get(ip) ?? 0) >= options.maxClientsPerAddress) {
      this.#rejectedByAddress++;
      this.#refuse(socket, 'per-address limit');
      return;
    }
    const handle = this.#core.open(preciseNow());
    if (handle < 0) {
      this.#refuse(socket, handle === K.ERR_LIMIT ? 'maxClients reached' : 'client table full');
      return;
    }
    const info = this.#core.inspect(handle);
    const serial = typeof info === 'number' ? 0 : info.serial;
    const client = new Client(this.#host, handle, socket, serial);
    this.#clients.set(handle, client);
    this.#perAddress.set(ip, (this.#perAddress.get(ip) ?? 0) + 1);
    this.#drain();
  }

  #refuse(socket: Socket, why: string): void {
    this.#log(`client refused (${why}): ${socket.remoteAddress}:${socket.remotePort}`);
    const message = this.#options.rejectMessage;
    if (!message) {
      socket.destroy();
      return;
    }
    const timer = setTimeout(() => socket.destroy(), REJECT_LINGER_MS);
    timer.unref();
    socket.on('close', () => clearTimeout(timer));
    socket.end(message, () => socket.destroy());
  }

  #onAcceptError(error: NodeJS.ErrnoException): void {
    // Reported by libuv when accept() fails (EMFILE, ENFILE, ENOBUFS …); libuv itself keeps
    // the listener from spinning. Count it, report it at a bounded rate, keep serving.
    this.#acceptErrors++;
    const now = performance.now();
    if (now - this.#lastAcceptErrorReport >= ACCEPT_ERROR_REPORT_MS) {
      this.#lastAcceptErrorReport = now;
      this.#report(error);
    }
  }

  // ── Events ────────────────────────────────────────────────────────────────────

  /** Drains the core's event queue. Events queued by callbacks are handled by the same loop. */
  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      const core = this.#core;
      for (let kind = core.nextEvent(); kind !== K.EV_NONE; kind = core.nextEvent()) {
        const client = this.#clients.get(core.eventHandle());
        if (client) this.#dispatch(kind, client);
      }
    } finally {
      this.#draining = false;
    }
  }

  #dispatch(kind: number, client: Client): void {
    switch (kind) {
      case K.EV_CONNECT:
        this.#log(`client connect:${client.id} ${formatHostPort(client.remoteAddress, client.remotePort)}`);
        this.#wakeAcceptWaiters();
        this.#callNotify(client, TcpEvent.CONNECT);
        return;
      case K.EV_RECV:
        client.onReadable();
        this.#callNotify(client, TcpEvent.RECV);
        return;
      case K.EV_PAUSE:
        client.onPause();
        return;
      case K.EV_RESUME:
        client.onResume();
        return;
      case K.EV_DISCONNECT:
        this.#onDisconnect(client);
        return;
    }
  }

  #onDisconnect(client: Client): void {
    const ip = client.remoteAddress;
    const count = (this.#perAddress.get(ip) ?? 1) - 1;
    if (count > 0) this.#perAddress.set(ip, count);
    else this.#perAddress.delete(ip);
    this.#log(`client disconnect:${client.id}`);
    client.onDisconnect();
    const result = this.#callNotify(client, TcpEvent.DISCONNECT);
    if (this.#onIdle && this.#core.stats().live === 0) queueMicrotask(() => this.#onIdle?.());
    // Who may still read the bytes a disconnected client left behind? A client returned by
    // accept() belongs to the app until it reads to end of stream or closes it. Any other
    // client was only ever seen by the notify callback: its bytes stay readable until the
    // DISCONNECT callback (and the promise it returned) is done.
    if (client.closed || !client.hasUnread) {
      this.#forget(client);
    } else if (!client.accepted) {
      if (isThenable(result)) result.then(() => this.#forget(client), () => this.#forget(client));
      else this.#forget(client);
    }
  }

  #callNotify(client: Client, event: TcpEvent): unknown {
    const notify = this.#notify;
    if (!notify) return undefined;
    try {
      const result = notify(client, event);
      if (isThenable(result)) {
        return result.then(undefined, (error: unknown) => this.#report(error, client));
      }
      return result;
    } catch (error) {
      this.#report(error, client);
      return undefined;
    }
  }

  #forget(client: Client): void {
    const handle = client.handle;
    if (handle === 0) return;
    this.#clients.delete(handle);
    client.releaseSlot();
  }

  // ── Accept queue ──────────────────────────────────────────────────────────────

  #takeAccepted(): Client | undefined {
    for (;;) {
      const handle = this.#core.accept();
      if (handle <= 0) return undefined;
      const client = this.#clients.get(handle);
      if (client) {
        client.markAccepted();
        return client;
      }
    }
  }

  #wakeAcceptWaiters(): void {
    while (this.#acceptWaiters.length > 0) {
      const client = this.#takeAccepted();
      if (!client) return;
      this.#acceptWaiters.resolveFirst(client);
    }
  }

  // ── Idle and lifetime limits ──────────────────────────────────────────────────

  #startSweep(): void {
    const { idleTimeout, maxLifetime } = this.#options;
    const limits = [idleTimeout, maxLifetime].filter((ms) => ms > 0);
    if (limits.length === 0) return;
    // A quarter of the shortest limit keeps the overshoot under 25 %, within 10 ms…1 s.
    const period = Math.min(1000, Math.max(10, Math.floor(Math.min(...limits) / 4)));
    this.#sweepTimer = setInterval(() => this.#sweep(), period);
    this.#sweepTimer.unref();
  }

  #sweep(): void {
    const { idleTimeout, maxLifetime } = this.#options;
    const now = preciseNow();
    for (const handle of this.#core.expired(now, idleTimeout, maxLifetime)) {
      const client = this.#clients.get(handle);
      if (!client) continue;
      const info = this.#core.inspect(handle);
      const lifetimeOver = maxLifetime > 0 && typeof info !== 'number' && now - info.connectTime >= maxLifetime;
      const reason = lifetimeOver ? 'lifetime' : 'idle';
      this.#log(`client ${reason} timeout:${client.id}`);
      client.expire(reason);
    }
  }

  // ── Reporting ─────────────────────────────────────────────────────────────────

  #report(error: unknown, client?: Client): void {
    const onError = this.#options.onError;
    if (onError) {
      try {
        onError(error, client);
        return;
      } catch (secondary) {
        error = secondary;
      }
    }
    const where = client ? ` (client ${client.id})` : '';
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`[${this.name}] error${where}: ${text}\n`);
  }

  #log(message: string): void {
    if (this.#options.debug) process.stderr.write(`[${this.name}] ${message}\n`);
  }
}

function noop(): void {}

/**
 * A maxClients the process cannot hold open (RLIMIT_NOFILE, soft) would turn into accept
 * failures at run time; clamp it when the server starts, with a warning, instead.
 * Only Linux exposes the limit without a native addon (/proc/self/limits); elsewhere the
 * value is kept and EMFILE is handled at accept time.
 */
export function clampToDescriptorLimit(maxClients: number, name: string): number {
  const limit = openFilesLimit();
  if (limit === undefined) return maxClients;
  const supportable = Math.max(1, limit - DESCRIPTOR_RESERVE);
  if (maxClients <= supportable) return maxClients;
  process.emitWarning(
    `[${name}] maxClients ${maxClients} exceeds what this process can hold open (open files limit ${limit}, ` +
      `${DESCRIPTOR_RESERVE} kept in reserve); using maxClients ${supportable}. Raise the limit with ulimit -n.`,
    { code: 'TCPSERV_MAX_CLIENTS_CLAMPED' },
  );
  return supportable;
}

function openFilesLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    const value = soft === undefined || soft === 'unlimited' ? NaN : Number(soft);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
