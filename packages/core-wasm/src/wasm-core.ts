/**
 * The WebAssembly core behind the CoreApi. Views into its memory go only to the binding (for
 * the kernel to read into or write from), never to user code; they are rebuilt only if the
 * memory's buffer changed (it never grows after init, so in practice never).
 */
import { type CoreConfig, type ResolvedCoreConfig, checkedConfig, configError } from './config.js';
import type { ClientInfo, CoreApi, CoreFraming, CoreStats } from './core-api.js';
import * as K from './constants.js';
import { CoreOutOfMemoryError } from './errors.js';
import type { CoreExports } from './exports.js';
import type { Handle } from './handle.js';
import { instantiateRaw } from './module.js';

/**
 * Below this many bytes a plain loop beats `dst.set(src.subarray(0, n))`, whose view is an
 * allocation per call: small messages are the common case on the hot path.
 */
const SMALL_COPY = 128;

/**
 * A free span at the ring's tail smaller than this (at the wrap point) is not worth a read of
 * its own: the read goes to the staging area instead and is copied in whole.
 */
export const MIN_WINDOW = 4096;

/** receiveWindow's packing: length · 2^31 + address. */
const WINDOW_SCALE = 2 ** 31;

/** setFraming's `mode` argument. */
const FRAMING_MODE = { raw: 0, line: 1, delimiter: 2, length: 3, fixed: 4 } as const;

function bitsFor(n: number): number {
  let bits = 1;
  while (1 << bits < n) bits++;
  return bits;
}

export class WasmCore implements CoreApi {
  readonly config: ResolvedCoreConfig;
  readonly #x: CoreExports;
  readonly #stagingPtr: number;
  readonly #stagingSize: number;
  readonly #slotMask: number;
  #memory: Uint8Array;

  constructor(config: CoreConfig) {
    const resolved = checkedConfig(config);
    const x = instantiateRaw(resolved.debug);
    const status = x.init(resolved.maxSockets, resolved.maxClients, resolved.rxBufferSize, resolved.highWatermark,
      resolved.lowWatermark, resolved.stagingSize, resolved.ringOrigin | 0);
    if (status === K.ERR_OUT_OF_MEMORY) throw new CoreOutOfMemoryError(undefined);
    if (status !== K.OK) throw configError(status, resolved);
    this.config = resolved;
    this.#x = x;
    this.#stagingPtr = x.stagingPtr();
    this.#stagingSize = x.stagingSize();
    this.#slotMask = (1 << bitsFor(resolved.maxSockets)) - 1;
    this.#memory = new Uint8Array(x.memory.buffer);
  }

  /** The whole memory as bytes; rebuilt only if the memory was replaced. */
  #bytes(): Uint8Array {
    if (this.#memory.byteLength === 0) this.#memory = new Uint8Array(this.#x.memory.buffer);
    return this.#memory;
  }

  /** A view of `length` bytes of memory at `ptr` (a Buffer, so the socket can write it as is). */
  #view(ptr: number, length: number): Buffer {
    return Buffer.from(this.#bytes().buffer, ptr, length);
  }

  open(now: number): number { return this.#x.open(now); }
  close(handle: Handle): number { return this.#x.close(handle); }
  release(handle: Handle): number { return this.#x.release(handle); }
  eof(handle: Handle): number { return this.#x.eof(handle); }
  recordSent(handle: Handle, bytes: number, now: number): number { return this.#x.recordSent(handle, bytes, now); }
  accept(): number { return this.#x.accept(); }
  setMaxClients(maxClients: number): number { return this.#x.setMaxClients(maxClients); }
  consume(handle: Handle, n: number): number { return this.#x.consume(handle, n); }

  slotOf(handle: Handle): number {
    return handle & this.#slotMask;
  }

  nextEvent(): number {
    return this.#x.nextEvent();
  }

  push(handle: Handle, data: Uint8Array, now: number): number {
    const x = this.#x;
    // Validates the handle and changes nothing (writeSpan would open a window: pool.ts).
    if (data.length === 0) return x.push(handle, this.#stagingPtr, 0, now);
    let taken = 0;
    do {
      const room = x.writeSpan(handle);
      if (room < 0) return taken > 0 ? taken : room;
      if (room === 0) break;
      const piece = Math.min(room, data.length - taken);
      if (piece > 0) {
        this.#bytes().set(taken === 0 && piece === data.length ? data : data.subarray(taken, taken + piece), x.spanPtr());
        x.commit(handle, piece, now);
      }
      taken += piece;
    } while (taken < data.length);
    return taken;
  }

  read(handle: Handle, dst: Uint8Array): number {
    const x = this.#x;
    if (dst.length === 0) return K.ERR_RANGE;
    let given = 0;
    // At most two spans (before and after the ring's end), straight into `dst`.
    while (given < dst.length) {
      const ready = x.readSpan(handle);
      if (ready <= 0) return given > 0 ? given : ready;
      const n = Math.min(ready, dst.length - given);
      const from = x.spanPtr();
      const bytes = this.#bytes();
      if (n <= SMALL_COPY) for (let i = 0; i < n; i++) dst[given + i] = bytes[from + i]!;
      else dst.set(bytes.subarray(from, from + n), given);
      x.consume(handle, n);
      given += n;
      if (n < ready) break;
    }
    return given;
  }

  receiveWindow(handle: Handle): Uint8Array | number {
    // One call: the core packs the window as length · 2^31 + address (exact in an f64).
    const packed = this.#x.receiveWindow(handle, MIN_WINDOW);
    if (packed <= 0) return packed;
    const length = Math.floor(packed / WINDOW_SCALE);
    return this.#view(packed - length * WINDOW_SCALE, length);
  }

  received(handle: Handle, window: Uint8Array, n: number, now: number): number {
    const x = this.#x;
    if (window.buffer !== this.#bytes().buffer || n < 0 || n > window.length) return K.ERR_RANGE;
    if (window.byteOffset === this.#stagingPtr) {
      const taken = x.push(handle, this.#stagingPtr, n, now);
      return taken < 0 || taken === n ? taken : K.ERR_RANGE;
    }
    // A ring window: receiveWindow gave it at this handle's tail, and only this call moves the
    // tail, so one call suffices — commit itself refuses more than the free span there.
    return x.commit(handle, n, now);
  }

  readView(handle: Handle): Buffer | number {
    const x = this.#x;
    const ready = x.readSpan(handle);
    if (ready <= 0) return ready;
    return this.#view(x.spanPtr(), ready);
  }

  setFraming(handle: Handle, framing: CoreFraming): number {
    const x = this.#x;
    switch (framing.mode) {
      case 'raw':
        return x.setFraming(handle, FRAMING_MODE.raw, 0, 0, 0);
      case 'line':
        return x.setFraming(handle, FRAMING_MODE.line, 0, 0, framing.maxFrameSize);
      case 'delimiter': {
        // The core copies the delimiter into the slot; staging only carries it there. A length
        // outside 1..16 is the core's to refuse (ERR_CONFIG_FRAME), so only what fits is staged.
        const d = framing.delimiter;
        this.#bytes().set(d.subarray(0, Math.min(d.length, this.#stagingSize)), this.#stagingPtr);
        return x.setFraming(handle, FRAMING_MODE.delimiter, this.#stagingPtr, d.length, framing.maxFrameSize);
      }
      case 'length':
        return x.setFraming(handle, FRAMING_MODE.length, framing.headerBytes, framing.littleEndian ? 1 : 0, framing.maxFrameSize);
      default:
        return x.setFraming(handle, FRAMING_MODE.fixed, framing.size, 0, framing.size);
    }
  }

  nextFrameLength(handle: Handle): number {
    return this.#x.nextFrameLength(handle);
  }

  readFrame(handle: Handle, dst: Uint8Array): number {
    const x = this.#x;
    if (dst.length > this.#stagingSize) return this.#readFrameFromRing(handle, dst);
    const from = this.#stagingPtr;
    const n = x.readFrame(handle, from, dst.length);
    if (n > 0) {
      const bytes = this.#bytes();
      if (n <= SMALL_COPY) for (let i = 0; i < n; i++) dst[i] = bytes[from + i]!;
      else dst.set(bytes.subarray(from, from + n));
    }
    return n;
  }

  /** A frame that may not fit the staging area: copied straight from the ring (one or two pieces), then skipped. */
  #readFrameFromRing(handle: Handle, dst: Uint8Array): number {
    const x = this.#x;
    const n = x.nextFrameLength(handle);
    if (n < 0) return n;
    if (n > dst.length) return K.ERR_RANGE;
    const first = x.frameSpan(handle);
    const from = x.spanPtr();
    const bytes = this.#bytes();
    dst.set(bytes.subarray(from, from + first));
    // A payload that wraps continues at the ring's first byte.
    const ringStart = from + first - this.config.rxBufferSize;
    if (first < n) dst.set(bytes.subarray(ringStart, ringStart + n - first), first);
    return x.skipFrame(handle);
  }

  inspect(handle: Handle): ClientInfo | undefined {
    const x = this.#x;
    if (x.inspect(handle) !== K.OK) return undefined;
    return {
      serial: x.infoSerial(),
      state: x.infoState(),
      flags: x.infoFlags(),
      rxUsed: x.infoRxUsed(),
      bytesIn: x.infoBytesIn(),
      bytesOut: x.infoBytesOut(),
      connectTime: x.infoConnectTime(),
      lastActivity: x.infoLastActivity(),
    };
  }

  expired(now: number, idleMs: number, lifetimeMs: number): Handle[] {
    const found: Handle[] = [];
    let from = 0;
    // Each call resumes after the slot it returned, so the loop visits every slot once.
    for (;;) {
      const handle = this.#x.sweep(now, idleMs, lifetimeMs, from);
      if (handle <= 0) break;
      found.push(handle as Handle);
      from = this.#x.sweepNext();
    }
    return found;
  }

  stats(): CoreStats {
    const x = this.#x;
    return {
      live: x.statLive(),
      usedSlots: x.statUsedSlots(),
      pendingAccept: x.statPendingAccept(),
      paused: x.statPaused(),
      queuedEvents: x.statQueuedEvents(),
      maxClients: x.statMaxClients(),
      opened: x.statOpened(),
      rejected: x.statRejected(),
      closed: x.statClosed(),
      bytesIn: x.statBytesIn(),
      bytesOut: x.statBytesOut(),
    };
  }

  /** Bytes of linear memory this core holds. */
  get memoryBytes(): number {
    return this.#x.memory.buffer.byteLength;
  }
}

/** Creates a WebAssembly core for `config`; throws CoreConfigError for a config it refuses. */
export function createCore(config: CoreConfig): WasmCore {
  return new WasmCore(config);
}
