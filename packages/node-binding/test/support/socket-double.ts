/**
 * An in-memory stand-in for the server side of a node:net Socket, with the members the Client
 * uses, and a "peer" side the test drives. Handed to a server with
 * `server[adoptSocket](socket as never)`.
 *
 * What it copies from node:net (Node 20), because the binding relies on it:
 * - 'data' only while flowing (not paused); chunks the peer sent while paused wait, in order.
 *   'end' comes after the last chunk, only while flowing — except that when the last buffered
 *   chunk goes out and the FIN is already in, 'end' follows it even if the 'data' handler paused
 *   (Readable.read() schedules endReadable before it emits that chunk).
 * - write(buf, cb): the "kernel" takes what fits (`kernelCapacity` minus what the peer has not
 *   read); a chunk counts in writableLength until it was taken whole; callbacks run later, in
 *   order; write returns false at 16 KiB and 'drain' follows once writableLength is 0 again
 *   (not after end() or destroy()).
 * - end([data], [cb]): FIN once queued writes are taken; cb and 'finish' after that. When both sides have
 *   ended the socket destroys itself (autoDestroy).
 * - destroy(err): 'error' (if err) then 'close' later; pending write/end callbacks get an error.
 *   resetAndDestroy() is destroy() that sends RST — except while our FIN is being sent (end()
 *   called, queued writes flushed, 'finish' not yet emitted): libuv's uv_tcp_close_reset then
 *   refuses with EINVAL, node:net emits 'error' (syscall 'reset'), marks the socket destroyed and
 *   never closes the handle, so 'close' never comes (Node 20; see `leaked`).
 *   Nothing is emitted after 'close'.
 *
 * Every later event goes through `defer`, in order per socket: setImmediate by default, or a
 * fast-check scheduler, which then decides when each socket's next event happens.
 */
import { EventEmitter } from 'node:events';

export type Defer = (run: () => void, label: string) => void;

/** Runs deferred socket events on a later turn of the event loop, like real I/O. */
export const onNextTurn: Defer = (run) => {
  setImmediate(run);
};

export interface FakeSocketOptions {
  defer?: Defer;
  /** Bytes the "kernel" takes before writes queue in the socket (send buffer + peer window). Default: unlimited. */
  kernelCapacity?: number;
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
  localAddress?: string;
  localPort?: number;
  /** A label for the scheduler's report. */
  name?: string;
}

interface QueuedWrite {
  readonly chunk: Buffer;
  taken: number;
  readonly cb: ((error?: Error | null) => void) | undefined;
}

const HIGH_WATER_MARK = 16384;
let nextPort = 40000;

function streamError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

export class FakeSocket extends EventEmitter {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteFamily: string;
  readonly localAddress: string;
  readonly localPort: number;
  readonly name: string;

  // ── What the binding sees ──
  destroyed = false;
  writableEnded = false;
  writableFinished = false;
  readableEnded = false;
  noDelay: boolean | undefined;
  keepAlive: { enable: boolean; delay: number } | undefined;

  // ── What the test reads ──
  /** Every byte passed to write(), in order (copied at write time). */
  readonly written: Buffer[] = [];
  /** Bytes emitted as 'data', in order. */
  readonly emitted: Buffer[] = [];
  /** Bytes the peer sent (peerSend), in order. */
  readonly sent: Buffer[] = [];
  /** resetAndDestroy() was called (the peer sees RST). */
  resetSent = false;
  /** The FIN went out (end() finished). */
  finSent = false;
  closeEmitted = false;
  /** resetAndDestroy() hit a FIN in progress: destroyed, but the handle is never closed. */
  leaked = false;
  /** Calls a real socket would refuse or that break its contract (write after end, …). */
  readonly misuse: string[] = [];
  /** Bytes of written chunks the "kernel" has taken so far (what a real send may confirm). */
  takenTotal = 0;

  readonly #defer: Defer;
  readonly #kernelCapacity: number;
  #inKernel = 0;
  #paused = false;
  /** Peer bytes not yet emitted, then 'end' once the peer ended. */
  readonly #inbox: Array<Buffer | 'end'> = [];
  #flowScheduled = false;
  readonly #writes: QueuedWrite[] = [];
  #needDrain = false;
  /** The peer sent its FIN (nothing it sends afterwards exists). */
  #peerEnded = false;
  /** Our FIN is on its way (libuv's shutdown request is pending), 'finish' not emitted yet. */
  #shutdownPending = false;
  readonly #endCallbacks: Array<(error?: Error | null) => void> = [];
  /** Deferred events of this socket, run in order. */
  readonly #events: Array<{ run: () => void; label: string }> = [];

  constructor(options: FakeSocketOptions = {}) {
    super();
    this.#defer = options.defer ?? onNextTurn;
    this.#kernelCapacity = options.kernelCapacity ?? Infinity;
    this.remoteAddress = options.remoteAddress ?? '127.0.0.1';
    this.remotePort = options.remotePort ?? nextPort++;
    this.remoteFamily = options.remoteFamily ?? 'IPv4';
    this.localAddress = options.localAddress ?? '127.0.0.1';
    this.localPort = options.localPort ?? 5000;
    this.name = options.name ?? `socket:${this.remotePort}`;
  }

  // ── node:net Socket surface ────────────────────────────────────────────────────────────

  setNoDelay(noDelay = true): this {
    this.noDelay = noDelay;
    return this;
  }

  setKeepAlive(enable = false, delay = 0): this {
    this.keepAlive = { enable, delay };
    return this;
  }

  pause(): this {
    this.#paused = true;
    return this;
  }

  resume(): this {
    if (this.#paused) {
      this.#paused = false;
      this.#scheduleFlow();
    }
    return this;
  }

  isPaused(): boolean {
    return this.#paused;
  }

  get writableLength(): number {
    let length = 0;
    for (const w of this.#writes) length += w.chunk.length;
    return length;
  }

  write(data: Uint8Array | string, cb?: (error?: Error | null) => void): boolean {
    if (this.destroyed || this.writableEnded) {
      const error = this.destroyed
        ? streamError('ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed')
        : streamError('ERR_STREAM_WRITE_AFTER_END', 'write after end');
      this.misuse.push(`write after ${this.destroyed ? 'destroy' : 'end'}`);
      this.#later(() => cb?.(error), 'write error');
      return false;
    }
    const chunk = Buffer.from(typeof data === 'string' ? Buffer.from(data) : data); // the kernel copies
    this.written.push(chunk);
    this.#writes.push({ chunk, taken: 0, cb });
    this.#moveToKernel();
    const ok = this.writableLength < HIGH_WATER_MARK;
    if (!ok) this.#needDrain = true;
    return ok;
  }

  /** end(), end(cb), end(data), end(data, cb): as Writable.end (data is written first). */
  end(data?: Uint8Array | string | ((error?: Error | null) => void), cb?: (error?: Error | null) => void): this {
    if (typeof data === 'function') {
      cb = data;
      data = undefined;
    }
    if (data !== undefined && !this.writableEnded && !this.destroyed) this.write(data);
    if (typeof cb === 'function') this.#endCallbacks.push(cb);
    if (this.writableEnded || this.destroyed) {
      if (this.destroyed) this.#failEndCallbacks(streamError('ERR_STREAM_DESTROYED', 'Cannot call end after a stream was destroyed'));
      else if (this.writableFinished) this.#later(() => this.#finishEndCallbacks(), 'end cb (finished)');
      return this;
    }
    this.writableEnded = true;
    this.#maybeFinish();
    return this;
  }

  destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.#inbox.length = 0;
    const pending = this.#writes.splice(0);
    const destroyedError = streamError('ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed');
    for (const w of pending) this.#later(() => w.cb?.(destroyedError), 'write cb (destroyed)');
    this.#failEndCallbacks(error ?? destroyedError);
    this.#later(() => {
      if (error) this.emit('error', error);
      this.closeEmitted = true;
      this.emit('close', error !== undefined);
    }, error ? 'error+close' : 'close');
    return this;
  }

  resetAndDestroy(): this {
    if (this.destroyed) return this;
    if (this.#shutdownPending) {
      this.destroyed = true;
      this.leaked = true;
      this.#inbox.length = 0;
      this.emit('error', Object.assign(new Error('reset EINVAL'), { code: 'EINVAL', errno: -22, syscall: 'reset' }));
      return this;
    }
    this.resetSent = true;
    return this.destroy();
  }

  // ── The peer side (driven by the test) ───────────────────────────────────────────────

  /** The peer writes `data`. Ignored once the peer ended or either side is gone. */
  peerSend(data: Uint8Array): void {
    if (this.destroyed || this.#peerEnded || data.length === 0) return;
    const chunk = Buffer.from(data);
    this.sent.push(chunk);
    this.#inbox.push(chunk);
    this.#scheduleFlow();
  }

  /** The peer sends FIN. */
  peerEnd(): void {
    if (this.destroyed || this.#peerEnded) return;
    this.#peerEnded = true;
    this.#inbox.push('end');
    this.#scheduleFlow();
  }

  /** The peer resets the connection (or the connection fails): 'error' then 'close'. */
  peerReset(code = 'ECONNRESET'): void {
    if (this.destroyed) return;
    this.destroy(Object.assign(new Error(`read ${code}`), { code, errno: -104, syscall: 'read' }));
  }

  /** The peer's app reads up to `n` bytes from its kernel buffer, making room for more writes. */
  peerRead(n = Infinity): void {
    const take = Math.min(n, this.#inKernel);
    this.#inKernel -= take;
    if (!this.destroyed) this.#moveToKernel();
  }

  /** Concatenations of what the test looks at. */
  writtenBytes(): Buffer {
    return Buffer.concat(this.written);
  }

  emittedBytes(): Buffer {
    return Buffer.concat(this.emitted);
  }

  sentBytes(): Buffer {
    return Buffer.concat(this.sent);
  }

  // ── Internals ────────────────────────────────────────────────────────────────────────

  /** Defers `run` behind this socket's earlier deferred events. */
  #later(run: () => void, label: string): void {
    this.#events.push({ run, label });
    this.#defer(() => {
      const next = this.#events.shift();
      next?.run();
    }, `${this.name} ${label}`);
  }

  #scheduleFlow(): void {
    if (this.#flowScheduled || this.#paused || this.destroyed || this.#inbox.length === 0) return;
    this.#flowScheduled = true;
    this.#later(() => {
      this.#flowScheduled = false;
      this.#flow();
    }, 'flow');
  }

  #flow(): void {
    while (!this.#paused && !this.destroyed && this.#inbox.length > 0) {
      const item = this.#inbox.shift()!;
      if (item === 'end') {
        this.#emitEnd();
        return;
      }
      this.emitted.push(item);
      const lastBeforeEnd = this.#inbox.length === 1 && this.#inbox[0] === 'end';
      this.emit('data', item);
      if (lastBeforeEnd && this.#paused) {
        // node:net: the FIN is already in and this was the last buffered chunk, so 'end'
        // was scheduled before the handler paused.
        this.#inbox.shift();
        this.#later(() => this.#emitEnd(), 'end (after last chunk)');
        return;
      }
    }
  }

  #emitEnd(): void {
    if (this.destroyed || this.readableEnded) return;
    this.readableEnded = true;
    this.emit('end');
    if (this.writableFinished) this.destroy(); // autoDestroy: both sides done
  }

  /** Hands queued chunks to the kernel while it has room; completes whole chunks. */
  #moveToKernel(): void {
    while (this.#writes.length > 0) {
      const w = this.#writes[0]!;
      const room = this.#kernelCapacity - this.#inKernel;
      const n = Math.min(room, w.chunk.length - w.taken);
      w.taken += n;
      this.#inKernel += n;
      this.takenTotal += n;
      if (w.taken < w.chunk.length) break;
      this.#writes.shift();
      this.#later(() => {
        if (this.#needDrain && this.writableLength === 0 && !this.writableEnded && !this.destroyed) {
          this.#needDrain = false;
          this.emit('drain');
        }
        w.cb?.(null);
      }, 'write cb');
    }
    this.#maybeFinish();
  }

  #maybeFinish(): void {
    if (!this.writableEnded || this.finSent || this.#writes.length > 0 || this.destroyed) return;
    this.finSent = true;
    this.#shutdownPending = true;
    this.#later(() => {
      this.#shutdownPending = false;
      if (this.destroyed && !this.leaked) return;
      this.writableFinished = true;
      this.emit('finish');
      this.#finishEndCallbacks();
      if (this.readableEnded) this.destroy(); // autoDestroy: both sides done
    }, 'finish');
  }

  #finishEndCallbacks(): void {
    for (const cb of this.#endCallbacks.splice(0)) cb(null);
  }

  #failEndCallbacks(error: Error): void {
    const callbacks = this.#endCallbacks.splice(0);
    for (const cb of callbacks) this.#later(() => cb(error), 'end cb (destroyed)');
  }
}
