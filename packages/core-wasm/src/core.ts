import { readFileSync } from 'node:fs';
import * as K from './constants.js';

/** The module's exports, typed in one place. Every function returns a status or a result. */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  /** Bytes of memory a config needs, or ERR_CONFIG_*. */
  layoutBytes(maxSockets: number, rxBufferSize: number, stagingSize: number): number;
  /** Lays out memory once; OK or a status. */
  init(maxSockets: number, maxClients: number, rxBufferSize: number, highWatermark: number,
    lowWatermark: number, stagingSize: number, ringOrigin: number): number;
  /** Changes the admission limit. */
  setMaxClients(maxClients: number): number;
  /** Address / size of the staging area. */
  stagingPtr(): number;
  stagingSize(): number;
  /** Oldest queued event's kind (EV_NONE if none); its handle via eventHandle. */
  nextEvent(): number;
  eventHandle(): number;
  /** Oldest not-yet-accepted client's handle, or 0. */
  accept(): number;
  /** Admit a client: handle, ERR_LIMIT or ERR_TABLE_FULL. */
  open(now: number): number;
  /** Close an open client (DISCONNECT queued). */
  close(handle: number): number;
  /** Free a closed client's slot once its DISCONNECT is drained. */
  release(handle: number): number;
  /** The peer ended its side. */
  eof(handle: number): number;
  /** Count bytes handed to the socket. */
  recordSent(handle: number, bytes: number, now: number): number;
  /** Copy staging bytes into the ring: how many fit. */
  push(handle: number, ptr: number, len: number, now: number): number;
  /** Copy ring bytes to staging: count, 0, END_OF_STREAM or a status. */
  read(handle: number, dst: number, max: number): number;
  /** Contiguous free bytes at the ring's tail; their address via spanPtr. */
  writeSpan(handle: number): number;
  /** Take `len` bytes written at the writeSpan address, as push does. */
  commit(handle: number, len: number, now: number): number;
  /** Contiguous readable bytes at the ring's head (0, END_OF_STREAM); address via spanPtr. */
  readSpan(handle: number): number;
  /** Drop `len` bytes copied out from the readSpan address, as read does. */
  consume(handle: number, len: number): number;
  /** Address answered by the last writeSpan/readSpan. */
  spanPtr(): number;
  /** Fill the info cursor from one client. */
  inspect(handle: number): number;
  infoSerial(): number;
  infoState(): number;
  infoFlags(): number;
  infoRxUsed(): number;
  infoBytesIn(): number;
  infoBytesOut(): number;
  infoConnectTime(): number;
  infoLastActivity(): number;
  /** Next open client past a time limit, from a slot index; 0 at the end. */
  sweep(now: number, idleMs: number, lifetimeMs: number, fromSlot: number): number;
  sweepNext(): number;
  statLive(): number;
  statUsedSlots(): number;
  statPendingAccept(): number;
  statPaused(): number;
  statQueuedEvents(): number;
  statMaxClients(): number;
  statOpened(): number;
  statRejected(): number;
  statClosed(): number;
  statBytesIn(): number;
  statBytesOut(): number;
}

let compiled: WebAssembly.Module | undefined;

/**
 * Below this many bytes a plain loop beats `dst.set(src.subarray(0, n))`, whose view is an
 * allocation per call: small echoes are the common case on the hot path.
 */
const SMALL_COPY = 128;

/**
 * From this many bytes on, push and read copy straight between the caller's buffer and the
 * ring (writeSpan/commit, readSpan/consume): one copy instead of two through the staging
 * area, for three calls instead of one — the better trade for large chunks only.
 */
const SPAN_MIN = 256;

function copyOut(src: Uint8Array, dst: Uint8Array, n: number): void {
  if (n <= SMALL_COPY) {
    for (let i = 0; i < n; i++) dst[i] = src[i]!;
  } else {
    dst.set(src.subarray(0, n));
  }
}

/** Compiles core.wasm once per process; every core is a cheap instance of it. */
function coreModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('./core.wasm', import.meta.url)));
  return compiled;
}

/**
 * A fresh, uninitialised instance with its raw exports: for tests and tools that need
 * to call exports directly (hostile-input tests). Applications use `createCore`.
 */
export function instantiateRaw(): CoreExports {
  return new WebAssembly.Instance(coreModule(), {}).exports as unknown as CoreExports;
}

/** Configuration of one core. Sizes are bytes. */
export interface CoreConfig {
  /** Slots in the client table; sizes memory. 1…65536. */
  maxSockets: number;
  /** Admission limit, 1…maxSockets. Default: maxSockets. */
  maxClients?: number;
  /** Receive ring per client: a power of two, 64 B…64 MiB. Default 16384. */
  rxBufferSize?: number;
  /** Ring fill at which the client is paused. Default 3/4 of rxBufferSize. */
  highWatermark?: number;
  /** Ring fill at which a paused client resumes. Default 1/4 of rxBufferSize. */
  lowWatermark?: number;
  /** Bytes of the staging area chunks pass through: a multiple of 16, 1 KiB…16 MiB. Default 65536. */
  stagingSize?: number;
  /** Position rings start from (tests use values near 2^32 to cover wrap-around). Default 0. */
  ringOrigin?: number;
}

export const DEFAULT_RX_BUFFER_SIZE = 16384;
export const DEFAULT_STAGING_SIZE = 65536;

/** Config with every default filled in. */
export type ResolvedCoreConfig = Required<CoreConfig>;

export function resolveCoreConfig(config: CoreConfig): ResolvedCoreConfig {
  const rxBufferSize = config.rxBufferSize ?? DEFAULT_RX_BUFFER_SIZE;
  return {
    maxSockets: config.maxSockets,
    maxClients: config.maxClients ?? config.maxSockets,
    rxBufferSize,
    highWatermark: config.highWatermark ?? Math.floor((rxBufferSize * 3) / 4),
    lowWatermark: config.lowWatermark ?? Math.floor(rxBufferSize / 4),
    stagingSize: config.stagingSize ?? DEFAULT_STAGING_SIZE,
    ringOrigin: config.ringOrigin ?? 0,
  };
}

/** Thrown by createCore / layoutBytes for a config the core refuses; `status` is the core's code. */
export class CoreConfigError extends RangeError {
  readonly code = 'ERR_TCPSERV_CORE_CONFIG';
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'CoreConfigError';
  }
}

/** One sentence per config status, naming the setting and the rule. */
export function describeConfigStatus(status: number, config: ResolvedCoreConfig): string {
  switch (status) {
    case K.ERR_CONFIG_MAX_SOCKETS:
      return `maxSockets must be an integer from 1 to ${K.MAX_SOCKETS} (got ${config.maxSockets})`;
    case K.ERR_CONFIG_MAX_CLIENTS:
      return `maxClients must be an integer from 1 to maxSockets (${config.maxSockets}) (got ${config.maxClients})`;
    case K.ERR_CONFIG_RX_BUFFER:
      return `rxBufferSize must be a power of two from ${K.MIN_RX_BUFFER} to ${K.MAX_RX_BUFFER} (got ${config.rxBufferSize})`;
    case K.ERR_CONFIG_WATERMARKS:
      return `watermarks must satisfy 0 <= lowWatermark < highWatermark <= rxBufferSize (got low ${config.lowWatermark}, high ${config.highWatermark}, rxBufferSize ${config.rxBufferSize})`;
    case K.ERR_CONFIG_STAGING:
      return `stagingSize must be a multiple of 16 from ${K.MIN_STAGING} to ${K.MAX_STAGING} (got ${config.stagingSize})`;
    case K.ERR_CONFIG_TOO_LARGE:
      return `the config needs more than ${K.MAX_LAYOUT_BYTES} bytes of memory (maxSockets ${config.maxSockets} × rxBufferSize ${config.rxBufferSize}); lower one of them`;
    case K.ERR_OUT_OF_MEMORY:
      return `could not grow WebAssembly memory to the size the config needs`;
    case K.ERR_ALREADY_INIT:
      return `the core was already initialised`;
    default:
      return `the core refused the config (status ${status})`;
  }
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function isInt32(value: number): boolean {
  return Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX;
}

/** The status whose message states each setting's range. */
const RANGE_STATUS: Partial<Record<keyof ResolvedCoreConfig, number>> = {
  maxSockets: K.ERR_CONFIG_MAX_SOCKETS,
  maxClients: K.ERR_CONFIG_MAX_CLIENTS,
  rxBufferSize: K.ERR_CONFIG_RX_BUFFER,
  highWatermark: K.ERR_CONFIG_WATERMARKS,
  lowWatermark: K.ERR_CONFIG_WATERMARKS,
  stagingSize: K.ERR_CONFIG_STAGING,
};

function checkConfigIntegers(config: ResolvedCoreConfig): void {
  for (const [name, value] of Object.entries(config) as Array<[keyof ResolvedCoreConfig, number]>) {
    if (name === 'ringOrigin') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
        throw new CoreConfigError(K.ERR_RANGE, `ringOrigin must be an integer from 0 to 4294967295 (got ${String(value)})`);
      }
    } else if (typeof value !== 'number' || !isInt32(value)) {
      const status = RANGE_STATUS[name]!;
      throw new CoreConfigError(status, describeConfigStatus(status, config));
    }
  }
}

/**
 * Bytes of memory `config` needs — the documented formula (it depends on maxSockets,
 * rxBufferSize and stagingSize only; maxClients and the watermarks are checked by createCore):
 *   base + header + maxSockets × (64 + rxBufferSize) + 8 × nextPow2(4 × maxSockets) + stagingSize
 * (base = the module's static data, sections 64-byte aligned), rounded up to 64 KiB pages
 * when the memory is created. Throws CoreConfigError for a config the core refuses.
 */
export function layoutBytes(config: CoreConfig): number {
  const resolved = resolveCoreConfig(config);
  checkConfigIntegers(resolved);
  const raw = instantiateRaw();
  const bytes = raw.layoutBytes(resolved.maxSockets, resolved.rxBufferSize, resolved.stagingSize);
  if (bytes < 0) throw new CoreConfigError(bytes, describeConfigStatus(bytes, resolved));
  return bytes;
}

/** A snapshot of one client's fields in the core. */
export interface ClientInfo {
  /** 1, 2, 3 … in order of admission. */
  serial: number;
  /** STATE_OPEN or STATE_CLOSED. */
  state: number;
  /** FLAG_* bits. */
  flags: number;
  /** Bytes waiting in the receive ring. */
  rxUsed: number;
  bytesIn: number;
  bytesOut: number;
  connectTime: number;
  lastActivity: number;
}

/** Server-wide counters. */
export interface CoreStats {
  live: number;
  usedSlots: number;
  pendingAccept: number;
  paused: number;
  queuedEvents: number;
  maxClients: number;
  opened: number;
  rejected: number;
  closed: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * The operations of a core, as both the WASM core and the TypeScript reference model
 * implement them. Results follow the raw exports: a handle or count ≥ 0, or a status.
 */
export interface CoreApi {
  readonly config: ResolvedCoreConfig;
  open(now: number): number;
  close(handle: number): number;
  release(handle: number): number;
  eof(handle: number): number;
  recordSent(handle: number, bytes: number, now: number): number;
  /** Copies `data` into the ring (through staging, piece by piece); returns bytes taken or a status. */
  push(handle: number, data: Uint8Array, now: number): number;
  /** Copies up to `dst.length` bytes out; count, 0, END_OF_STREAM or a status. */
  read(handle: number, dst: Uint8Array): number;
  accept(): number;
  nextEvent(): number;
  eventHandle(): number;
  setMaxClients(maxClients: number): number;
  inspect(handle: number): ClientInfo | number;
  /** Handles of open clients past idleMs since their last activity or lifetimeMs since open (≤ 0 = off). */
  expired(now: number, idleMs: number, lifetimeMs: number): number[];
  stats(): CoreStats;
}

/** The WebAssembly core behind the CoreApi. No view into its memory ever leaves this class. */
export class WasmCore implements CoreApi {
  readonly config: ResolvedCoreConfig;
  readonly #x: CoreExports;
  readonly #stagingPtr: number;
  readonly #stagingSize: number;
  #staging: Uint8Array;
  #memory: Uint8Array;

  constructor(config: CoreConfig) {
    const resolved = resolveCoreConfig(config);
    checkConfigIntegers(resolved);
    const x = instantiateRaw();
    const status = x.init(resolved.maxSockets, resolved.maxClients, resolved.rxBufferSize, resolved.highWatermark,
      resolved.lowWatermark, resolved.stagingSize, resolved.ringOrigin | 0);
    if (status !== K.OK) throw new CoreConfigError(status, describeConfigStatus(status, resolved));
    this.config = resolved;
    this.#x = x;
    this.#stagingPtr = x.stagingPtr();
    this.#stagingSize = x.stagingSize();
    this.#staging = new Uint8Array(x.memory.buffer, this.#stagingPtr, this.#stagingSize);
    this.#memory = new Uint8Array(x.memory.buffer);
  }

  /** The whole memory, for span copies; rebuilt only if the memory was replaced. */
  #wholeMemory(): Uint8Array {
    if (this.#memory.byteLength === 0) this.#memory = new Uint8Array(this.#x.memory.buffer);
    return this.#memory;
  }

  /** The staging view, rebuilt only if the memory was replaced (it never grows after init). */
  #view(): Uint8Array {
    if (this.#staging.byteLength === 0) {
      this.#staging = new Uint8Array(this.#x.memory.buffer, this.#stagingPtr, this.#stagingSize);
    }
    return this.#staging;
  }

  open(now: number): number { return this.#x.open(now); }
  close(handle: number): number { return this.#x.close(handle); }
  release(handle: number): number { return this.#x.release(handle); }
  eof(handle: number): number { return this.#x.eof(handle); }
  recordSent(handle: number, bytes: number, now: number): number { return this.#x.recordSent(handle, bytes, now); }
  accept(): number { return this.#x.accept(); }
  nextEvent(): number { return this.#x.nextEvent(); }
  eventHandle(): number { return this.#x.eventHandle(); }
  setMaxClients(maxClients: number): number { return this.#x.setMaxClients(maxClients); }

  push(handle: number, data: Uint8Array, now: number): number {
    if (data.length >= SPAN_MIN) return this.#pushDirect(handle, data, now);
    const staging = this.#view();
    let taken = 0;
    // At least one call, so an empty push still validates the handle.
    do {
      const piece = Math.min(data.length - taken, this.#stagingSize);
      staging.set(piece === data.length ? data : data.subarray(taken, taken + piece));
      const n = this.#x.push(handle, this.#stagingPtr, piece, now);
      if (n < 0) return taken > 0 ? taken : n;
      taken += n;
      if (n < piece) break;
    } while (taken < data.length);
    return taken;
  }

  /** Copies straight into the ring: at most two spans (before and after its end). */
  #pushDirect(handle: number, data: Uint8Array, now: number): number {
    const x = this.#x;
    let taken = 0;
    while (taken < data.length) {
      const room = x.writeSpan(handle);
      if (room < 0) return taken > 0 ? taken : room;
      if (room === 0) break;
      const piece = Math.min(room, data.length - taken);
      this.#wholeMemory().set(taken === 0 && piece === data.length ? data : data.subarray(taken, taken + piece), x.spanPtr());
      x.commit(handle, piece, now);
      taken += piece;
    }
    return taken;
  }

  /** Copies straight out of the ring: at most two spans. */
  #readDirect(handle: number, dst: Uint8Array): number {
    const x = this.#x;
    // Same answer as the staging path: at most stagingSize bytes a call.
    const max = Math.min(dst.length, this.#stagingSize);
    let given = 0;
    while (given < max) {
      const ready = x.readSpan(handle);
      if (ready <= 0) return given > 0 ? given : ready;
      const piece = Math.min(ready, max - given);
      const from = x.spanPtr();
      dst.set(this.#wholeMemory().subarray(from, from + piece), given);
      x.consume(handle, piece);
      given += piece;
    }
    return given;
  }

  read(handle: number, dst: Uint8Array): number {
    if (dst.length >= SPAN_MIN) return this.#readDirect(handle, dst);
    const max = Math.min(dst.length, this.#stagingSize);
    if (max === 0) return K.ERR_RANGE;
    const n = this.#x.read(handle, this.#stagingPtr, max);
    if (n > 0) copyOut(this.#view(), dst, n);
    return n;
  }

  inspect(handle: number): ClientInfo | number {
    const x = this.#x;
    const status = x.inspect(handle);
    if (status !== K.OK) return status;
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

  expired(now: number, idleMs: number, lifetimeMs: number): number[] {
    const found: number[] = [];
    let from = 0;
    // Each call resumes after the slot it returned, so the loop visits every slot once.
    for (;;) {
      const handle = this.#x.sweep(now, idleMs, lifetimeMs, from);
      if (handle <= 0) break;
      found.push(handle);
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
