import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import {
  createServer, type Client, type ServerAddress, type ServerOptions, type TcpServer,
} from '../../src/index.js';

/** Servers created by a test file; `destroyAll` in afterEach. */
const servers = new Set<TcpServer>();
const sockets = new Set<Socket>();

/** The TCP address of a server listening on host/port (tests of Unix servers use the path). */
export function addr(server: TcpServer): ServerAddress {
  const a = server.address();
  if (typeof a === 'string') throw new Error(`server listens on the Unix socket ${a}, not TCP`);
  return a;
}

export async function startServer(options: Partial<ServerOptions> = {}): Promise<TcpServer> {
  const server = await createServer({ host: '127.0.0.1', port: 0, ...options });
  servers.add(server);
  return server;
}

export async function destroyAll(): Promise<void> {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all([...servers].map((s) => s.destroy()));
  servers.clear();
}

/**
 * destroyAll, giving up after `ms`: for tests where a client whose socket never closes (a bug
 * they look for) would hang destroy(), so one failure does not take the rest of the file with it.
 */
export function destroyAllWithin(ms: number): Promise<void> {
  return Promise.race([destroyAll(), delay(ms)]);
}

/** Registers a socket the test opened itself, so destroyAll destroys it. */
export function destroyLater(socket: Socket): Socket {
  sockets.add(socket);
  return socket;
}

/** A connected node:net client; destroyed by destroyAll. */
export function dial(server: TcpServer, host?: string): Promise<Socket> {
  const { address, port } = addr(server);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: host ?? address, port });
    sockets.add(socket);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A server with one connected peer, accepted. */
export async function pair(options: Partial<ServerOptions> = {}): Promise<{ server: TcpServer; peer: Socket; client: Client }> {
  const server = await startServer(options);
  const peer = await dial(server);
  const client = await server.accept(5000);
  if (!client) throw new Error('no client within 5 s');
  return { server, peer, client };
}

/** A pair whose peer does not read until the test resumes it, so the server's sends back up. */
export async function pairWithPausedPeer(options: Partial<ServerOptions> = {}): Promise<{ server: TcpServer; peer: Socket; client: Client }> {
  const connected = await pair(options);
  connected.peer.pause();
  return connected;
}

/** Everything a socket receives until it ends or closes. */
export function readAll(socket: Socket, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error(`readAll: no end within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const done = (): void => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    };
    socket.once('end', done);
    socket.once('close', done);
  });
}

/** Reads exactly `length` bytes from a socket. */
export function readExactly(socket: Socket, length: number, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    const timer = setTimeout(() => {
      socket.off('data', onData);
      reject(new Error(`readExactly: got ${have} of ${length} bytes within ${timeoutMs} ms`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      have += chunk.length;
      if (have >= length) {
        clearTimeout(timer);
        socket.off('data', onData);
        const all = Buffer.concat(chunks);
        if (all.length > length) socket.unshift(all.subarray(length));
        resolve(all.subarray(0, length));
      }
    };
    socket.on('data', onData);
  });
}

/** Polls `predicate` every 5 ms until true; fails after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic pseudo-random bytes (xorshift32), every byte value included. */
export function randomBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Whether ::1 can be bound here (some containers have no IPv6 loopback). */
export async function ipv6Available(): Promise<boolean> {
  const { createServer: createNet } = await import('node:net');
  return new Promise((resolve) => {
    const s = createNet();
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
}
