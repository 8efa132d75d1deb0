/**
 * How a client's incoming bytes reach the core. Two paths, one interface:
 *
 * - **onread** (the default for plain TCP and Unix sockets): the accepted socket's handle is
 *   re-wrapped in a `net.Socket` created with `onread: { buffer, callback }`, so libuv's
 *   `read()` lands straight in the client's ring (or the core's staging area) — no Buffer
 *   allocated per read, no Readable machinery, no JavaScript copy. When the ring is full the
 *   callback returns false and Node stops reading the handle: that *is* the backpressure.
 * - **stream** (the fallback, and TLS, which decrypts in JavaScript): `'data'` chunks are
 *   copied into the core; a chunk that does not fit pauses the socket.
 *
 * What the onread path relies on, read in Node's lib/net.js of 20, 22, 24 and 26 (the code is
 * the same in all four):
 * - `Socket` constructor: `options.handle` is taken as the socket's handle and
 *   `options.onread` with a `buffer` function and a `callback` switches the socket to
 *   user-buffer reads (kBuffer / kBufferGen / kBufferCb); this works for any handle, not
 *   only for client sockets.
 * - `initSocketHandle`: calls `buffer()` once for the first read's buffer
 *   (`handle.useUserBuffer`), then the constructor starts reading (`read(0)` →
 *   `tryReadStart`) unless `pauseOnCreate`.
 * - `onStreamRead` (internal/stream_base_commons): after each read calls
 *   `callback(nread, buf)`; a `false` result stops reading (`readStop`); then calls
 *   `buffer()` again and the Uint8Array it returns is where the *next* read lands. EOF is
 *   pushed as `null`, so `'end'` is emitted as usual.
 * - `Socket.prototype.pause/resume` stop and restart reading the handle in this mode.
 * - `onconnection` with `pauseOnConnect: true` (the server's option) hands over a socket whose
 *   handle has not read a byte (`pauseOnCreate` → `readStop`).
 * The one non-public piece is reading `socket._handle` (and clearing it on the original
 * socket, so that destroying that shell releases the server's connection count without
 * touching the handle). Everything is feature-detected; anything missing means the stream
 * path, logged once at debug level.
 */
import { Socket, type SocketConstructorOpts } from 'node:net';

/** Which path a client's bytes take. */
export type ReadPathKind = 'onread' | 'stream';

/** What a client does with incoming bytes; implemented by Client. */
export interface ReadSink {
  /** Where the next read should land: a view of core memory, or undefined when there is no room. */
  receiveWindow(): Uint8Array | undefined;
  /** `n` bytes were just read into `window` (a view from receiveWindow, or the spill buffer). False stops reading. */
  received(window: Uint8Array, n: number): boolean;
  /** A chunk from the stream path. False pauses the socket. */
  receivedChunk(chunk: Buffer): boolean;
  /** The peer sent FIN. */
  ended(): void;
  /** One of the above threw (an internal error): report it and end the client. */
  failed(error: unknown): void;
}

/**
 * Where a read lands when the ring has no room: it can only happen for the read after the
 * one that filled the ring (Node asks for the next buffer before we stop reading), and its
 * bytes are moved into the ring as soon as it has room. One per process: reads are never
 * concurrent and each callback moves its bytes out before the next read.
 */
export const SPILL = Buffer.allocUnsafe(65536);

interface HandleLike {
  useUserBuffer?: unknown;
  readStart?: unknown;
  readStop?: unknown;
}

type SocketWithHandle = Socket & { _handle: HandleLike | null };

/** Why the onread path cannot be used for `socket`, or undefined when it can. */
export function onreadUnavailable(socket: Socket): string | undefined {
  if (process.env.TCPSERV_READ_PATH === 'stream') return 'TCPSERV_READ_PATH=stream';
  const handle = (socket as SocketWithHandle)._handle;
  if (!handle || typeof handle !== 'object') return 'the accepted socket exposes no handle';
  if (typeof handle.useUserBuffer !== 'function' || typeof handle.readStart !== 'function') {
    return 'the socket handle has no user-buffer reads';
  }
  if (socket.readableLength > 0) return 'the socket already buffered bytes';
  return undefined;
}

/**
 * Re-wraps `raw`'s handle in a socket that reads into `sink`'s windows, and retires `raw`.
 * Only call after `onreadUnavailable(raw)` answered undefined. Reading starts at once.
 */
export function adoptHandle(raw: Socket, sink: ReadSink): Socket {
  const shell = raw as SocketWithHandle;
  const handle = shell._handle;
  shell._handle = null;
  // The shell has no handle now: destroying it only settles its stream state and lowers the
  // server's connection count (so server.close() can complete), exactly once.
  raw.destroy();
  // `handle` is a constructor option of net.Socket in every Node we support, though
  // @types/node does not declare it.
  const socket = new Socket({
    handle,
    allowHalfOpen: true,
    readable: true,
    writable: true,
    onread: {
      buffer: () => {
        try {
          return sink.receiveWindow() ?? SPILL;
        } catch (error) {
          sink.failed(error);
          return SPILL;
        }
      },
      callback: (n: number, buf: Uint8Array) => {
        try {
          return sink.received(buf, n);
        } catch (error) {
          sink.failed(error);
          return false;
        }
      },
    },
  } as SocketConstructorOpts);
  socket.on('end', () => guarded(sink, () => sink.ended()));
  return socket;
}

/**
 * Stops `socket` reading at once — in the middle of its 'data' callback — so that a stage (the
 * PROXY header) that has read what it needs leaves every later byte in the kernel, and the
 * client can still take the onread path. Without it a paused socket keeps filling its stream
 * buffer (up to highWaterMark), which is safe too: onreadUnavailable sees those bytes and the
 * client takes the stream path, where they come out first. Feature-detected like adoptHandle.
 */
export function stopReading(socket: Socket): void {
  socket.pause();
  const handle = (socket as SocketWithHandle)._handle as (HandleLike & { reading?: boolean }) | null;
  if (!handle || typeof handle.readStop !== 'function') return;
  // The flag is what net.Socket's _read checks to start reading again (tryReadStart).
  handle.reading = false;
  (handle.readStop as () => number).call(handle);
}

/** Feeds `socket`'s 'data' chunks to `sink` (the stream path). */
export function attachStream(socket: Socket, sink: ReadSink): void {
  socket.on('data', (chunk: Buffer) => {
    guarded(sink, () => {
      if (!sink.receivedChunk(chunk)) socket.pause();
    });
  });
  socket.on('end', () => guarded(sink, () => sink.ended()));
}

/** Runs `fn` for a socket event; an exception ends the client instead of the process. */
function guarded(sink: ReadSink, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    sink.failed(error);
  }
}
