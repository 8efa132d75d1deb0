import { setMaxListeners } from 'node:events';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { constants as K, type CoreApi, type Handle } from '@tcpserv/core-wasm';
import type { Registry } from 'prom-client';
import { formatHostPort } from './address.js';
import { type Arrival, type RemoteEndpoint, type Stage, StageError } from './arrival.js';
import { Client, type ClientHost, type CloseReason } from './client.js';
import { coarseNow, holdClock, preciseNow } from './clock.js';
import { expectStatus } from './core-boundary.js';
import { createServerCore } from './core-factory.js';
import { DEFAULTS } from './defaults.js';
import { clampToDescriptorLimit } from './descriptor-limit.js';
import {
  AbortError, ClientClosedError, InternalError, InvalidArgumentError, ListenError, SendQueueFullError, SendTimeoutError,
  ServerDestroyedError,
} from './errors.js';
import { ServerMetrics } from './metrics.js';
import { type NotifyCallback, TcpEvent } from './notify.js';
import { type ResolvedOptions, type ServerOptions, resolveOptions } from './options.js';
import { PendingQueue } from './pending.js';
import { createProxyStage } from './proxy-stage.js';
import type { ReadPathKind } from './read-path.js';
import { type SecureContextFields, buildSecureContext, resolveSecureContextFields } from './tls-options.js';
import { TlsStage } from './tls-stage.js';
import { claimUnixPath, releaseUnixPath, socketInode } from './unix-path.js';
import { trustedProxyList } from './trusted-proxies.js';
import { WAIT_FOREVER, checkFunction, checkInteger, checkSignal, checkTimeout, toSendBytes } from './validate.js';

/** Counters of one server. */
export interface ServerStats {
  readonly name: string;
  /** Clients connected now. */
  readonly live: number;
  /** The admission limit now. */
  readonly maxClients: number;
  /** Connected clients that accept() could still return. */
  readonly pendingAccept: number;
  /** Clients whose reading is paused because their receive buffer is full. */
  readonly paused: number;
  /** Clients admitted since the server started. */
  readonly opened: number;
  /** Connections refused (maxClients, maxClientsPerAddress or a full client table). */
  readonly rejected: number;
  /** Clients disconnected. */
  readonly closed: number;
  /** Clients disconnected, by reason (see CloseReason). */
  readonly closedByReason: Readonly<Record<CloseReason, number>>;
  /** Clients closed because they did not take their sends (`sendQueueFull: 'close'`). */
  readonly slowClosed: number;
  /** Clients closed for a frame larger than maxFrameSize. */
  readonly frameErrors: number;
  /** Connections whose TLS handshake failed (never clients). */
  readonly tlsErrors: number;
  /** Connections whose PROXY header was missing, malformed, too slow or from an untrusted address. */
  readonly proxyErrors: number;
  /** accept() failures reported by the system (EMFILE, ENFILE, …). */
  readonly acceptErrors: number;
  /** Bytes received from all clients. */
  readonly bytesIn: number;
  /** Bytes the kernel took for all clients. */
  readonly bytesOut: number;
  /** Bytes accepted by send and not yet taken by the kernel, over all clients. */
  readonly sendQueueBytes: number;
  /** Client table slots in use (connected clients plus disconnected ones with unread bytes). */
  readonly usedSlots: number;
}

/** What `server.address()` returns for a TCP server (a Unix socket server returns its path). */
export interface ServerAddress {
  readonly address: string;
  readonly port: number;
  readonly family: string;
}

/** What `server.broadcast()` resolves with: how many clients got the data, how many were skipped or gone. */
export interface BroadcastResult {
  /** Clients whose kernel took every byte. */
  readonly sent: number;
  /** Clients skipped: their send queue was full or the send timed out. */
  readonly dropped: number;
  /** Clients that were closed (or closed as too slow) before the data went out. */
  readonly closed: number;
}

/** Options of `server.broadcast()`. */
export interface BroadcastOptions {
  /** A client (or clients) not to send to, e.g. the sender of a chat line. */
  except?: Client | Iterable<Client>;
  /** Per-client send timeout in ms. Default WAIT_FOREVER. */
  timeout?: number;
}

/**
 * Hands a socket to a server as if it had just been accepted. For tests that drive the binding
 * with an in-memory socket double; not part of the public API.
 * @internal
 */
export const adoptSocket = Symbol('tcpserv.adoptSocket');
/** Only createServer may construct a TcpServer (the constructor's first argument). */
const CONSTRUCT = Symbol('tcpserv.construct');
/** Grace given to a refused connection to take its rejectMessage before it is reset. */
const REJECT_LINGER_MS = 1000;
/** At most one accept-failure report per this many ms: EMFILE comes in bursts. */
const ACCEPT_ERROR_REPORT_MS = 1000;
const RESOLVED_NULL = Promise.resolve(null);

/**
 * Creates a TCP server and resolves once it is listening (the seed's tcpserver_create).
 * Throws InvalidArgumentError at once for a bad option; rejects with ListenError
 * (code EADDRINUSE, EACCES, …) if it cannot listen, CoreOutOfMemoryError if the process has
 * no address space left for another core (each reserves ~10 GiB of virtual memory).
 */
export function createServer(options: ServerOptions): Promise<TcpServer> {
  const resolved = resolveOptions(options);
  let server: TcpServer;
  try {
    server = new TcpServer(CONSTRUCT, resolved);
  } catch (error) {
    return Promise.reject(error);
  }
  return server.listen().then(() => server);
}

/**
 * A listening TCP server whose clients live in its own WebAssembly core. Use `accept()` and
 * per-client `recv`/`send` (blocking style), the notify callback (callback style), or both.
 */
export class TcpServer implements AsyncIterable<Client> {
  readonly name: string;
  readonly #options: ResolvedOptions;
  readonly #core: CoreApi;
  readonly #net: NetServer;
  readonly #host: ClientHost;
  /** Clients by core slot, for every client whose slot is still held. */
  readonly #clients: Array<Client | undefined>;
  readonly #perAddress = new Map<string, number>();
  readonly #acceptWaiters = new PendingQueue<Client | null>();
  readonly #stages: Stage[] = [];
  /** Connections admitted and still in a stage (PROXY header, TLS handshake). */
  readonly #arriving = new Set<Socket>();
  readonly #stageAbort = new AbortController();
  readonly #recvAgain = new Set<Client>();
  readonly #closedByReason: Record<CloseReason, number> = {
    peer: 0, error: 0, close: 0, abort: 0, idle: 0, lifetime: 0, server: 0, slow: 0, frame: 0,
  };
  readonly #counts = { slow: 0, frame: 0, tls: 0, proxy: 0 };
  #notify: NotifyCallback | undefined;
  /** Clients opened whose CONNECT is not dispatched yet: accept() must not hand them out first. */
  #connectsPending = 0;
  #drainScheduled = false;
  /** A drain is set for after this loop turn's reads (setImmediate). */
  #drainAfterReads = false;
  #draining = false;
  #destroyed = false;
  #destroyPromise: Promise<void> | undefined;
  #shutdownPromise: Promise<void> | undefined;
  /** Shutting down: no new clients; #onIdle runs when the last one disconnects. */
  #stopping = false;
  #onIdle: (() => void) | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  /** Refusals decided here rather than by the core's open (per-address limit, arrivals in stages). */
  #rejectedHere = 0;
  #acceptErrors = 0;
  #lastAcceptErrorReport = -Infinity;
  #address: ServerAddress | string | undefined;
  #releaseClock: (() => void) | undefined;
  #readPathLogged = false;
  /** The TLS handshake stage (options.tls), whose secure context setSecureContext replaces. */
  #tls: TlsStage | undefined;
  /** The socket file this server created (options.path), removed again on destroy. */
  #unixInode: number | undefined;
  #metrics: ServerMetrics | undefined;
  readonly #drainTask = (): void => this.#drain();

  /** Use createServer(): the token parameter's type is not exported, so `new TcpServer()` is a type error. */
  constructor(token: typeof CONSTRUCT, options: ResolvedOptions) {
    if (token !== CONSTRUCT) throw new TypeError('use createServer() to create a TcpServer');
    this.#options = options;
    this.name = options.name;
    const { rxBufferSize } = options;
    this.#core = createServerCore({
      maxSockets: options.maxSockets,
      maxClients: clampToDescriptorLimit(options.maxClients, options.name),
      rxBufferSize,
      // Reads are bounded by the ring's free room, so the ring filling up is the pause; half
      // empty is the resume (enough room for a useful read).
      highWatermark: rxBufferSize,
      lowWatermark: rxBufferSize / 2,
    });
    this.#clients = new Array<Client | undefined>(options.maxSockets);
    this.#notify = options.notify;
    this.#host = {
      core: this.#core,
      options,
      requestDrain: () => this.#requestDrain(),
      requestDrainAfterReads: () => this.#requestDrainAfterReads(),
      requestRecv: (client) => {
        this.#recvAgain.add(client);
        this.#requestDrain();
      },
      now: coarseNow,
      forget: (client) => this.#forget(client),
      report: (error, client) => this.#report(error, client),
      count: (what) => {
        this.#counts[what]++;
      },
      readPathChosen: (kind, why) => this.#readPathChosen(kind, why),
    };
    // allowHalfOpen on the socket always: the half-close policy is ours (see Client).
    // pauseOnConnect: not a byte is read before the client decides how to read (read-path.ts).
    this.#net = createNetServer({ allowHalfOpen: true, pauseOnConnect: true });
    if (options.proxyProtocol !== false) {
      // First of all stages: the header comes before anything else on the wire (TLS included).
      this.#stages.unshift(createProxyStage({
        version: options.proxyProtocol,
        timeout: options.proxyProtocolTimeout,
        trusted: options.trustedProxies && trustedProxyList(options.trustedProxies),
      }));
    }
    this.#net.on('connection', (socket) => this.#onConnection(socket));
    // Every connection in a stage listens for the server's destroy: as many as maxClients at once.
    setMaxListeners(0, this.#stageAbort.signal);
    // TLS is the last stage: a PROXY header, when expected, comes before the ClientHello.
    if (options.tls) {
      this.#tls = new TlsStage(options.tls, buildSecureContext('options.tls', options.tls.context));
      this.#stages.push(this.#tls.stage);
    }
  }

  /** @internal Starts listening; createServer calls it once. */
  listen(): Promise<void> {
    const { path } = this.#options;
    if (path === undefined) return this.#listenNow();
    return claimUnixPath(path, (message) => this.#log(message)).then(() => this.#listenNow(), (error: unknown) => {
      this.#destroyed = true;
      throw error;
    });
  }

  #listenNow(): Promise<void> {
    const { host, port, backlog, path, reusePort } = this.#options;
    const where = path ?? formatHostPort(host, port);
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        this.#net.off('listening', onListening);
        this.#destroyed = true;
        reject(new ListenError(error.code ?? 'ERR_LISTEN', where, error));
      };
      const onListening = (): void => {
        this.#net.off('error', onError);
        this.#net.on('error', (error) => this.#onAcceptError(error));
        const a = this.#net.address();
        if (typeof a === 'string') {
          this.#address = a;
          this.#unixInode = socketInode(a);
        } else if (a) {
          this.#address = Object.freeze({ address: a.address, port: a.port, family: a.family });
        }
        this.#releaseClock = holdClock();
        this.#startSweep();
        this.#log(`listening on ${path ?? formatHostPort(a && typeof a === 'object' ? a.address : host, a && typeof a === 'object' ? a.port : port)}`);
        resolve();
      };
      this.#net.once('error', onError);
      this.#net.once('listening', onListening);
      if (path !== undefined) this.#net.listen({ path, backlog });
      else this.#net.listen({ host, port, backlog, ...(reusePort ? { reusePort } : {}) });
    });
  }

  /**
   * The bound address (`port` is the real one when 0 was asked for); for a Unix socket server,
   * its path (a string), as node:net's `server.address()`.
   */
  address(): ServerAddress | string {
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
    if (this.#acceptWaiters.length === 0 && this.#connectsPending === 0) {
      const client = this.#takeAccepted();
      if (client) return Promise.resolve(client);
    }
    if (this.#stopping) return Promise.reject(new ServerDestroyedError(this.name));
    if (timeout === 0) return RESOLVED_NULL;
    return this.#acceptWaiters.add(undefined, timeout, null, signal, () => new AbortError('accept', signal?.reason));
  }

  /**
   * Sets (or with null, removes) the callback for CONNECT / RECV / DISCONNECT (the seed's
   * tcpserver_set_notify_callback). Works alongside accept(): a client may be both. To see
   * every client's CONNECT, give it as the `notify` option instead.
   */
  setNotifyCallback(callback: NotifyCallback | null): void {
    const notify = callback === null ? undefined : checkFunction<NotifyCallback>('callback', callback);
    if (this.#destroyed) throw new ServerDestroyedError(this.name);
    this.#notify = notify;
  }

  /**
   * Replaces the TLS certificate (and key, CA, ciphers, minVersion: the secure context's fields
   * of options.tls) for connections accepted from now on, without a restart; connections
   * already up keep theirs. Throws InvalidArgumentError naming a field OpenSSL cannot read,
   * and then nothing changes.
   */
  setSecureContext(tlsOptions: SecureContextFields): void {
    if (!this.#tls) throw new InvalidArgumentError('setSecureContext()', 'called on a server created with options.tls', 'a plain server');
    const fields = resolveSecureContextFields('tlsOptions', tlsOptions);
    if (this.#destroyed) throw new ServerDestroyedError(this.name);
    this.#tls.setSecureContext(buildSecureContext('tlsOptions', fields));
  }

  /** Changes the admission limit (1…maxSockets). Connected clients stay; new ones wait for room. */
  setMaxClients(maxClients: number): void {
    checkInteger('maxClients', maxClients, 1, this.#options.maxSockets);
    if (this.#destroyed) throw new ServerDestroyedError(this.name);
    expectStatus('setMaxClients', this.#core.setMaxClients(clampToDescriptorLimit(maxClients, this.name)));
  }

  /** Connected clients (not yet disconnected). */
  *clients(): IterableIterator<Client> {
    for (const client of this.#clients.filter((c): c is Client => c !== undefined)) {
      if (!client.disconnected) yield client;
    }
  }

  /**
   * Sends `data` to every connected client (but `except`), holding the data once: each client
   * gets its own send, so one slow client never delays the others. Resolves when every send
   * settled, with how many clients got it, were skipped (queue full, timeout) or were closed.
   */
  broadcast(data: string | Uint8Array, options: BroadcastOptions = {}): Promise<BroadcastResult> {
    const bytes = toSendBytes('data', data);
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
    const timeout = options.timeout === undefined ? WAIT_FOREVER : checkTimeout('options.timeout', options.timeout);
    const except = new Set<Client>(options.except instanceof Client ? [options.except] : options.except ?? []);
    if (this.#destroyed) return Promise.reject(new ServerDestroyedError(this.name));
    let sent = 0;
    let dropped = 0;
    let closed = 0;
    const sends: Array<Promise<void>> = [];
    for (const client of this.clients()) {
      if (except.has(client)) continue;
      sends.push(client.send(bytes, timeout).then(
        () => {
          sent++;
        },
        (error: unknown) => {
          if (error instanceof SendQueueFullError) {
            if (client.closed) closed++;
            else dropped++;
          } else if (error instanceof SendTimeoutError) {
            dropped++;
          } else if (error instanceof ClientClosedError) {
            closed++;
          } else {
            throw error;
          }
        },
      ));
    }
    return Promise.all(sends).then(() => Object.freeze({ sent, dropped, closed }));
  }

  stats(): ServerStats {
    const s = this.#core.stats();
    let sendQueueBytes = 0;
    for (const client of this.#clients) if (client) sendQueueBytes += client.bufferedAmount;
    return Object.freeze({
      name: this.name,
      live: s.live,
      maxClients: s.maxClients,
      pendingAccept: this.#destroyed ? 0 : s.pendingAccept,
      paused: s.paused,
      opened: s.opened,
      rejected: s.rejected + this.#rejectedHere,
      closed: s.closed,
      closedByReason: Object.freeze({ ...this.#closedByReason }),
      slowClosed: this.#counts.slow,
      frameErrors: this.#counts.frame,
      tlsErrors: this.#counts.tls,
      proxyErrors: this.#counts.proxy,
      acceptErrors: this.#acceptErrors,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      sendQueueBytes,
      usedSlots: s.usedSlots,
    });
  }

  /**
   * This server's metrics as a prom-client Registry (created on first use): clients live /
   * opened / rejected / closed by reason, bytes in/out, paused clients, send-queue bytes,
   * accept-queue length, frame / TLS / PROXY errors, event-loop lag — each labelled
   * server=<name>, read from stats() when scraped (no cost per message). A cluster primary can
   * aggregate the workers' registries with prom-client's AggregatorRegistry.
   */
  get metricsRegistry(): Registry {
    this.#metrics ??= new ServerMetrics(this.name, () => this.stats());
    if (this.#destroyed) this.#metrics.close();
    return this.#metrics.registry;
  }

  /** The metrics in Prometheus' text exposition format (serve it as `metricsRegistry.contentType`). */
  metrics(): Promise<string> {
    return this.metricsRegistry.metrics();
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
    this.#metrics?.close();
    this.#stageAbort.abort();
    for (const socket of this.#arriving) socket.destroy();
    this.#acceptWaiters.rejectAll(new ServerDestroyedError(this.name));
    const listenerClosed = new Promise<void>((resolve) => {
      if (!this.#net.listening) resolve();
      else this.#net.close(() => resolve());
    });
    const clientsClosed = [...this.clients()].map((client) => client.destroyForServer());
    this.#destroyPromise = Promise.all([listenerClosed, ...clientsClosed]).then(() => {
      for (const client of this.#clients) if (client) this.#forget(client);
      if (this.#options.path !== undefined) releaseUnixPath(this.#options.path, this.#unixInode);
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
  shutdown(timeout: number = DEFAULTS.shutdownTimeout): Promise<void> {
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
      if (this.#core.stats().live === 0 && this.#arriving.size === 0) finish();
    });
    return this.#shutdownPromise;
  }

  /** Accepts clients until the server is destroyed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Client, void, undefined> {
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
    const remote = remoteOf(socket, this.#options.path !== undefined);
    if (!this.#admit(socket, remote)) return;
    const arrival: Arrival = { socket, remote };
    if (this.#stages.length === 0) {
      this.#openClient(arrival);
      return;
    }
    // Counted against maxClients from TCP accept on, so a handshake flood holds at most
    // maxClients sockets.
    this.#arriving.add(socket);
    void this.#runStages(arrival);
  }

  /** Limits at TCP accept: the per-address limit and room for one more client. */
  #admit(socket: Socket, remote: RemoteEndpoint): boolean {
    const options = this.#options;
    // Behind a PROXY header the peer is the balancer: the limit is checked on the real client
    // once the header is read (#runStages).
    if (remote.family !== 'unix' && options.maxClientsPerAddress > 0 && options.proxyProtocol === false
      && (this.#perAddress.get(remote.address) ?? 0) >= options.maxClientsPerAddress) {
      this.#rejectedHere++;
      this.#refuse(socket, remote, 'per-address limit');
      return false;
    }
    // With stages, room is checked here, before a handshake is spent on a connection that could
    // not become a client anyway; without, the core's open() is the check.
    if (this.#stages.length > 0) {
      const { live, maxClients } = this.#core.stats();
      if (live + this.#arriving.size >= maxClients) {
        this.#rejectedHere++;
        this.#refuse(socket, remote, 'maxClients reached');
        return false;
      }
    }
    return true;
  }

  async #runStages(first: Arrival): Promise<void> {
    let arrival = first;
    try {
      for (const stage of this.#stages) arrival = await stage(arrival, this.#stageAbort.signal);
    } catch (error) {
      this.#arriving.delete(first.socket);
      arrival.socket.destroy();
      first.socket.destroy();
      if (!(error instanceof StageError)) {
        this.#report(error);
      } else if (error.kind !== 'local') {
        this.#counts[error.kind]++;
        this.#log(`connection from ${formatHostPort(arrival.remote.address, arrival.remote.port)} refused (${error.message})`);
      }
      this.#wakeIdle();
      return;
    }
    this.#arriving.delete(first.socket);
    if (this.#destroyed || this.#stopping) {
      arrival.socket.destroy();
      this.#wakeIdle();
      return;
    }
    // The PROXY stage may have revealed the real address: the per-address limit applies to it.
    const { remote } = arrival;
    const options = this.#options;
    if ((remote.address !== first.remote.address || options.proxyProtocol !== false) && remote.family !== 'unix'
      && options.maxClientsPerAddress > 0 && (this.#perAddress.get(remote.address) ?? 0) >= options.maxClientsPerAddress) {
      this.#rejectedHere++;
      this.#refuse(arrival.socket, remote, 'per-address limit');
      return;
    }
    this.#openClient(arrival);
  }

  #openClient(arrival: Arrival): void {
    const { socket, remote } = arrival;
    const result = this.#core.open(preciseNow());
    if (result < 0) {
      expectStatus('open', result, K.ERR_LIMIT, K.ERR_TABLE_FULL);
      this.#refuse(socket, remote, result === K.ERR_LIMIT ? 'maxClients reached' : 'client table full');
      return;
    }
    const handle = result as Handle;
    const serial = this.#core.inspect(handle)?.serial ?? 0;
    let client: Client;
    try {
      client = new Client(this.#host, handle, arrival, serial);
    } catch (error) {
      expectStatus('close', this.#core.close(handle));
      expectStatus('release', this.#core.release(handle));
      socket.destroy();
      this.#report(error);
      return;
    }
    this.#clients[this.#core.slotOf(handle)] = client;
    this.#connectsPending++;
    if (remote.family !== 'unix') this.#perAddress.set(remote.address, (this.#perAddress.get(remote.address) ?? 0) + 1);
    this.#requestDrain();
  }

  #refuse(socket: Socket, remote: RemoteEndpoint, why: string): void {
    this.#log(`client refused (${why}): ${remote.family === 'unix' ? 'unix' : formatHostPort(remote.address, remote.port)}`);
    const message = this.#options.rejectMessage;
    if (!message || this.#options.tls) {
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

  #readPathChosen(kind: ReadPathKind, why: string | undefined): void {
    if (this.#readPathLogged) return;
    this.#readPathLogged = true;
    this.#log(`read path: ${kind}${why ? ` (${why})` : ''}`);
  }

  // ── Events ────────────────────────────────────────────────────────────────────

  /**
   * Every core event reaches callbacks and waiters from here, and this runs only from its
   * own microtask — after the socket I/O callback or the user's call that produced the
   * events has returned, never inside a user's recv/tryRecv/send. So a callback that reads
   * (freeing ring room, letting a paused socket's bytes in) never finds itself called again
   * underneath its own read. Events that callbacks cause are handled by the same loop.
   */
  #requestDrain(): void {
    if (this.#drainScheduled || this.#draining) return;
    this.#drainScheduled = true;
    queueMicrotask(this.#drainTask);
  }

  #requestDrainAfterReads(): void {
    if (this.#drainAfterReads || this.#drainScheduled || this.#draining) return;
    this.#drainAfterReads = true;
    setImmediate(this.#drainTask);
  }

  #drain(): void {
    this.#drainScheduled = false;
    this.#drainAfterReads = false;
    this.#draining = true;
    try {
      const core = this.#core;
      // Until both are empty: a callback run for a re-delivered RECV may queue core events.
      for (;;) {
        for (let event = core.nextEvent(); event !== 0; event = core.nextEvent()) {
          const client = this.#clients[event >>> 3];
          if (client) this.#dispatchGuarded(event & 7, client);
        }
        if (this.#recvAgain.size === 0) break;
        const clients = [...this.#recvAgain];
        this.#recvAgain.clear();
        for (const client of clients) if (!client.disconnected && !client.closed) this.#dispatchGuarded(K.EV_RECV, client);
      }
    } finally {
      this.#draining = false;
    }
  }

  /** An internal error while handling one client's event closes that client, never the server. */
  #dispatchGuarded(kind: number, client: Client): void {
    try {
      this.#dispatch(kind, client);
    } catch (error) {
      this.#report(error, client);
      void client.abort();
    }
  }

  #dispatch(kind: number, client: Client): void {
    switch (kind) {
      case K.EV_CONNECT:
        this.#connectsPending--;
        this.#log(`client connect:${client.id} ${client.remoteFamily === 'unix' ? 'unix' : formatHostPort(client.remoteAddress, client.remotePort)}`);
        this.#wakeAcceptWaiters();
        this.#callNotify(client, TcpEvent.CONNECT);
        return;
      case K.EV_RECV:
        this.#onRecv(client);
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
      default:
        throw new InternalError('nextEvent', kind);
    }
  }

  #onRecv(client: Client): void {
    if (client.onReadable()) this.#callNotify(client, TcpEvent.RECV);
  }

  #onDisconnect(client: Client): void {
    if (client.remoteFamily !== 'unix') {
      const ip = client.remoteAddress;
      const count = (this.#perAddress.get(ip) ?? 1) - 1;
      if (count > 0) this.#perAddress.set(ip, count);
      else this.#perAddress.delete(ip);
    }
    this.#log(`client disconnect:${client.id}`);
    client.onDisconnect();
    this.#closedByReason[client.closeReason ?? 'peer']++;
    const result = this.#callNotify(client, TcpEvent.DISCONNECT);
    this.#wakeIdle();
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

  #wakeIdle(): void {
    if (this.#onIdle && this.#core.stats().live === 0 && this.#arriving.size === 0) queueMicrotask(() => this.#onIdle?.());
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
    const slot = this.#core.slotOf(handle);
    if (this.#clients[slot] === client) this.#clients[slot] = undefined;
    this.#recvAgain.delete(client);
    client.releaseSlot();
  }

  // ── Accept queue ──────────────────────────────────────────────────────────────

  #takeAccepted(): Client | undefined {
    for (;;) {
      const handle = this.#core.accept();
      if (handle <= 0) {
        expectStatus('accept', handle);
        return undefined;
      }
      const client = this.#clients[this.#core.slotOf(handle as Handle)];
      if (client) {
        client.markAccepted();
        return client;
      }
    }
  }

  #wakeAcceptWaiters(): void {
    // Clients leave the accept queue in CONNECT order, so while a later CONNECT is still
    // queued the head may not have had its own yet: wait for the last one of the batch.
    if (this.#connectsPending > 0) return;
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
      const client = this.#clients[this.#core.slotOf(handle)];
      if (!client) continue;
      const info = this.#core.inspect(handle);
      const lifetimeOver = maxLifetime > 0 && info !== undefined && now - info.connectTime >= maxLifetime;
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

/** The peer of an accepted socket; Unix peers have no address. */
function remoteOf(socket: Socket, unix: boolean): RemoteEndpoint {
  if (unix) return { address: '', port: 0, family: 'unix' };
  return { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, family: socket.remoteFamily ?? '' };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
