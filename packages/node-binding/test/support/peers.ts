/**
 * Loopback peers for the tests that need many, slow or hostile peers, and an in-process echo
 * server built on the public API (accept + recv/send), with every promise it starts tracked.
 */
import { connect, type Socket } from 'node:net';
import {
  ClientClosedError, ServerDestroyedError, WAIT_FOREVER, type Client, type ServerOptions, type TcpServer,
} from '../../src/index.js';
import { addr, startServer } from './helpers.js';

const peers = new Set<Socket>();

/** Destroys every peer opened with `openPeer`; for afterEach. */
export function destroyPeers(): void {
  for (const socket of peers) socket.destroy();
  peers.clear();
}

export interface Peer {
  readonly socket: Socket;
  /** Bytes received so far. */
  readonly chunks: Buffer[];
  received(): Buffer;
  /** Resolves once 'close' fired: whether 'end' (FIN) came first, and the error if any. */
  readonly closed: Promise<{ fin: boolean; error: NodeJS.ErrnoException | undefined }>;
  readonly isClosed: () => boolean;
}

/**
 * Opens a connection and collects what it receives. Resolves once connected (rejects on a
 * connect error). `localAddress` picks the source address (127.0.0.2 …).
 */
export function openPeer(port: number, options: { host?: string; localAddress?: string; collect?: boolean } = {}): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: options.host ?? '127.0.0.1', port, localAddress: options.localAddress });
    peers.add(socket);
    const chunks: Buffer[] = [];
    let fin = false;
    let error: NodeJS.ErrnoException | undefined;
    let isClosed = false;
    if (options.collect !== false) socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      fin = true;
    });
    const closed = new Promise<{ fin: boolean; error: NodeJS.ErrnoException | undefined }>((done) => {
      socket.once('close', () => {
        isClosed = true;
        peers.delete(socket);
        done({ fin, error });
      });
    });
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', (e: NodeJS.ErrnoException) => {
        error ??= e;
      });
      resolve({ socket, chunks, received: () => Buffer.concat(chunks), closed, isClosed: () => isClosed });
    });
    socket.once('error', reject);
  });
}

/** Writes `data` in pieces of the given sizes (cycled), honouring backpressure. */
export async function writeInPieces(socket: Socket, data: Uint8Array, sizes: readonly number[]): Promise<void> {
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    const piece = data.subarray(at, at + size);
    at += piece.length;
    if (!socket.write(piece)) await drainOrClose(socket);
    if (socket.destroyed) return;
  }
}

function drainOrClose(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.once('drain', done);
    socket.once('close', done);
  });
}

/** Resolves with the first `length` bytes the peer received (waits for them), or what came before close. */
export async function receivedAtLeast(peer: Peer, length: number, timeoutMs = 15_000): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const total = peer.chunks.reduce((n, c) => n + c.length, 0);
    if (total >= length || peer.isClosed()) return peer.received().subarray(0, length);
    if (Date.now() > deadline) throw new Error(`peer got ${total} of ${length} bytes within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves `promise`, or rejects after `ms` naming `what` (a guard, never an assertion on speed). */
export function guard<T>(promise: Promise<T>, what: string, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
    }),
  ]);
}

export type Outcome = string;

/** Counts how tracked promises settled: kind → outcome → count, plus the still pending ones. */
export class Tracker {
  readonly outcomes = new Map<string, Map<Outcome, number>>();
  readonly #pending = new Set<Promise<unknown>>();
  #started = 0;
  #settled = 0;

  track<T>(kind: string, promise: Promise<T>): Promise<T> {
    this.#started++;
    const entry = promise.then(
      (value) => this.#count(kind, describe(value)),
      (error: unknown) => this.#count(kind, (error as Error)?.name ?? String(error)),
    );
    this.#pending.add(entry);
    void entry.then(() => this.#pending.delete(entry));
    return promise;
  }

  get pending(): number {
    return this.#started - this.#settled;
  }

  /** Waits until every tracked promise settled, or `timeoutMs`; returns the number still pending. */
  async settle(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.#pending.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise((resolve) => {
        timer = setTimeout(resolve, 20);
      });
      await Promise.race([Promise.allSettled([...this.#pending]), tick]);
      clearTimeout(timer);
    }
    return this.pending;
  }

  /** Outcomes of one kind as a plain object. */
  of(kind: string): Record<Outcome, number> {
    return Object.fromEntries(this.outcomes.get(kind) ?? []);
  }

  #count(kind: string, outcome: Outcome): void {
    this.#settled++;
    const byOutcome = this.outcomes.get(kind) ?? new Map<Outcome, number>();
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    this.outcomes.set(kind, byOutcome);
  }
}

function describe(value: unknown): Outcome {
  if (value === null) return 'null';
  if (typeof value === 'number') return value === 0 ? 'zero' : 'number';
  if (value === undefined) return 'undefined';
  if (typeof value === 'object' && value !== null && 'recv' in value) return 'client';
  return typeof value;
}

export interface EchoServer {
  readonly server: TcpServer;
  readonly port: number;
  /** Accepted clients by remote port (= the peer's local port). */
  readonly clients: Map<number, Client>;
  readonly tracker: Tracker;
  /** One per accepted client: how its echo loop ended ('eof', 'closed' or the error). */
  readonly loops: Promise<string>[];
  /** The accept loop: resolves once accept rejected with ServerDestroyedError. */
  readonly acceptLoop: Promise<void>;
}

export interface EchoOptions {
  /** recv buffer size, per client (by accept order). Default 65536. */
  recvSize?: (index: number) => number;
  /** Awaited before a client's first recv (an app that is busy elsewhere). */
  gate?: Promise<void>;
  /** Runs after a client's recv returned null (end of stream), before the loop ends. */
  afterEnd?: (client: Client) => Promise<void>;
}

/**
 * A server whose app is the seed's echo sample: accept, then per client `recv` and `await send`
 * until end of stream. Every accept/recv/send is tracked.
 */
export async function startEchoServer(options: Partial<ServerOptions> = {}, echo: EchoOptions = {}): Promise<EchoServer> {
  const server = await startServer(options);
  const clients = new Map<number, Client>();
  const tracker = new Tracker();
  const loops: Promise<string>[] = [];
  const acceptLoop = (async () => {
    for (let index = 0; ; index++) {
      let client: Client | null;
      try {
        client = await tracker.track('accept', server.accept(WAIT_FOREVER));
      } catch (error) {
        if (error instanceof ServerDestroyedError) return;
        throw error;
      }
      if (!client) continue;
      clients.set(client.remotePort, client);
      loops.push(echoLoop(client, echo.recvSize?.(index) ?? 65536, tracker, echo));
    }
  })();
  return { server, port: addr(server).port, clients, tracker, loops, acceptLoop };
}

async function echoLoop(client: Client, size: number, tracker: Tracker, echo: EchoOptions): Promise<string> {
  const buf = Buffer.alloc(size);
  try {
    if (echo.gate) await echo.gate;
    for (;;) {
      const n = await tracker.track('recv', client.recv(buf, WAIT_FOREVER));
      if (n === null) break;
      if (n === 0) return 'recv resolved 0 with WAIT_FOREVER';
      await tracker.track('send', client.send(buf.subarray(0, n), WAIT_FOREVER));
    }
    if (echo.afterEnd) await echo.afterEnd(client);
    return 'eof';
  } catch (error) {
    if (error instanceof ClientClosedError) return 'closed';
    return `unexpected: ${(error as Error)?.stack ?? String(error)}`;
  } finally {
    // The app owns an accepted client: closing it gives back the slot (and any unread bytes,
    // e.g. when a send failed because the peer reset).
    void client.close();
  }
}
