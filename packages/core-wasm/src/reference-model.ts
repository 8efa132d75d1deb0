// The reference model: the core's specification written as plain TypeScript over arrays,
// Maps and number[] byte queues, with no memory layout, rings or intrusive lists — a
// deterministic state machine (no sockets, timers or Promises). It is deliberately slow and
// obvious, so that the WebAssembly core can be checked against it operation by operation
// (test/model.property.test.ts, test/framing.property.test.ts), the core's unit tests can run
// against either implementation (CORE_IMPL=model|wasm|both), and @tcpserv/node's tests can run
// over it (TCPSERV_CORE=model).
//
// It reproduces handles exactly (generation << slotBits | slot, free slots reused in the order
// they were freed) and where each ring's head and tail sit (they start at ringOrigin), since
// receiveWindow and readView answer spans that end at the ring's wrap point.
// What it does not model: the memory layout (so never ERR_CONFIG_TOO_LARGE) and the raw
// exports' pointer checks.

import { type CoreConfig, type ResolvedCoreConfig, checkedConfig, configError } from './config.js';
import type { ClientInfo, CoreApi, CoreFraming, CoreStats } from './core-api.js';
import * as K from './constants.js';
import type { Handle } from './handle.js';
import { MIN_WINDOW } from './wasm-core.js';
import { RAW, cutFrame, framingStatus, ownFraming, type Cut } from './reference-model/framing.js';

/**
 * Largest receive window (2 MiB): the core answers a window as one f64, length · 2^31 +
 * address, so a window is capped to keep that exact; a caller simply reads again.
 */
const MAX_WINDOW = 2 ** 21;

type QueuedEventKind = 'connect' | 'recv' | 'flow' | 'disconnect';

interface QueuedEvent {
  readonly handle: number;
  readonly kind: QueuedEventKind;
}

interface ModelClient {
  readonly handle: number;
  readonly slot: number;
  readonly serial: number;
  open: boolean;
  eof: boolean;
  paused: boolean;
  recvPending: boolean;
  flowPending: boolean;
  released: boolean;
  disconnectDrained: boolean;
  framing: CoreFraming;
  /** Buffered bytes, oldest first. */
  ring: number[];
  bytesIn: number;
  bytesOut: number;
  readonly connectTime: number;
  lastActivity: number;
}

/** The config status the core answers for `config`, apart from the size checks it alone can make. */
function configStatus(config: ResolvedCoreConfig): number {
  const { maxSockets, maxClients, rxBufferSize, highWatermark, lowWatermark, stagingSize } = config;
  if (maxSockets < 1 || maxSockets > K.MAX_SOCKETS) return K.ERR_CONFIG_MAX_SOCKETS;
  const isPowerOfTwo = Number.isInteger(Math.log2(rxBufferSize));
  if (!isPowerOfTwo || rxBufferSize < K.MIN_RX_BUFFER || rxBufferSize > K.MAX_RX_BUFFER) return K.ERR_CONFIG_RX_BUFFER;
  if (stagingSize < K.MIN_STAGING || stagingSize > K.MAX_STAGING || stagingSize % 16 !== 0) return K.ERR_CONFIG_STAGING;
  if (maxClients < 1 || maxClients > maxSockets) return K.ERR_CONFIG_MAX_CLIENTS;
  if (lowWatermark < 0 || highWatermark <= lowWatermark || highWatermark > rxBufferSize) return K.ERR_CONFIG_WATERMARKS;
  return K.OK;
}

/** The plain-TypeScript core: same operations, same answers, no WebAssembly. */
export class ReferenceModel implements CoreApi {
  readonly config: ResolvedCoreConfig;
  readonly #slotBits: number;
  /** Generations count modulo this (the bits a handle has left above the slot bits). */
  readonly #generationModulus: number;
  /** Current generation of every slot. */
  readonly #generations: number[];
  /** Slots not in use, in the order they were freed (first init: slot order). */
  readonly #freeSlots: number[];
  /** Clients holding a slot (open, or closed and not yet freed), by handle. */
  readonly #clients = new Map<number, ModelClient>();
  readonly #acceptQueue: number[] = [];
  readonly #events: QueuedEvent[] = [];
  /** Where receiveWindow points when the ring's free span at the tail is too short. */
  readonly #staging: Uint8Array;
  /** Ring windows handed out by receiveWindow (staging windows are views of #staging). */
  readonly #ringWindows = new WeakSet<Uint8Array>();
  #maxClients: number;
  /** Open clients; kept as a counter (not counted on demand) so open stays O(1) for big tables. */
  #live = 0;
  #opened = 0;
  #rejected = 0;
  #closed = 0;
  #bytesIn = 0;
  #bytesOut = 0;

  constructor(config: CoreConfig) {
    const resolved = checkedConfig(config);
    const status = configStatus(resolved);
    if (status !== K.OK) throw configError(status, resolved);
    this.config = resolved;
    this.#maxClients = resolved.maxClients;
    this.#slotBits = Math.max(1, Math.ceil(Math.log2(resolved.maxSockets)));
    this.#generationModulus = 2 ** (31 - this.#slotBits);
    this.#generations = Array.from({ length: resolved.maxSockets }, () => 1);
    this.#freeSlots = Array.from({ length: resolved.maxSockets }, (_, slot) => slot);
    this.#staging = new Uint8Array(resolved.stagingSize);
  }

  // ── Clients ─────────────────────────────────────────────────────────────────

  open(now: number): number {
    if (this.#live >= this.#maxClients) {
      this.#rejected++;
      return K.ERR_LIMIT;
    }
    const slot = this.#freeSlots.shift();
    if (slot === undefined) {
      this.#rejected++;
      return K.ERR_TABLE_FULL;
    }
    this.#opened++;
    this.#live++;
    const handle = this.#generations[slot]! * 2 ** this.#slotBits + slot;
    this.#clients.set(handle, {
      handle, slot, serial: this.#opened,
      open: true, eof: false, paused: false, recvPending: false, flowPending: false,
      released: false, disconnectDrained: false, framing: RAW,
      ring: [], bytesIn: 0, bytesOut: 0, connectTime: now, lastActivity: now,
    });
    this.#acceptQueue.push(handle);
    this.#queue(handle, 'connect');
    return handle;
  }

  close(handle: Handle): number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (!client.open) return K.ERR_CLOSED;
    const queued = this.#acceptQueue.indexOf(handle);
    if (queued >= 0) this.#acceptQueue.splice(queued, 1);
    client.paused = false;
    client.open = false;
    this.#live--;
    this.#closed++;
    this.#queue(handle, 'disconnect');
    return K.OK;
  }

  release(handle: Handle): number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (client.open) return K.ERR_OPEN;
    client.released = true;
    if (client.disconnectDrained) this.#freeSlot(client);
    return K.OK;
  }

  eof(handle: Handle): number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (!client.open) return K.ERR_CLOSED;
    if (client.eof) return K.OK;
    client.eof = true;
    this.#queueRecv(client);
    return K.OK;
  }

  recordSent(handle: Handle, bytes: number, now: number): number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (bytes < 0) return K.ERR_RANGE;
    if (!client.open) return K.ERR_CLOSED;
    client.bytesOut += bytes;
    this.#bytesOut += bytes;
    client.lastActivity = now;
    return K.OK;
  }

  accept(): number {
    return this.#acceptQueue.shift() ?? 0;
  }

  setMaxClients(maxClients: number): number {
    if (maxClients < 1 || maxClients > this.config.maxSockets) return K.ERR_CONFIG_MAX_CLIENTS;
    this.#maxClients = maxClients;
    return K.OK;
  }

  slotOf(handle: Handle): number {
    return handle & (2 ** this.#slotBits - 1);
  }

  // ── Bytes in ────────────────────────────────────────────────────────────────

  push(handle: Handle, data: Uint8Array, now: number): number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (!client.open || client.eof) return K.ERR_CLOSED;
    const taken = Math.min(data.length, this.#room(client));
    if (taken > 0) this.#take(client, data.subarray(0, taken), now);
    return taken;
  }

  receiveWindow(handle: Handle): Uint8Array | number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (!client.open || client.eof) return K.ERR_CLOSED;
    const free = this.#room(client);
    const span = this.#freeSpan(client);
    if (span === 0) return 0;
    if (span >= MIN_WINDOW || span === free) {
      const window = new Uint8Array(Math.min(span, MAX_WINDOW));
      this.#ringWindows.add(window);
      return window;
    }
    return this.#staging.subarray(0, Math.min(free, this.config.stagingSize, MAX_WINDOW));
  }

  received(handle: Handle, window: Uint8Array, n: number, now: number): number {
    const fromStaging = window.buffer === this.#staging.buffer;
    if ((!fromStaging && !this.#ringWindows.has(window)) || !Number.isInteger(n) || n < 0 || n > window.length) return K.ERR_RANGE;
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (!client.open || client.eof) return K.ERR_CLOSED;
    if (fromStaging) {
      // As push: what fits is taken; a window larger than the room is the caller's error.
      const taken = Math.min(n, this.#room(client));
      if (taken > 0) this.#take(client, window.subarray(0, taken), now);
      return taken === n ? n : K.ERR_RANGE;
    }
    // A ring window is the free span at the tail: more than that span now is refused whole.
    if (n > this.#freeSpan(client)) return K.ERR_RANGE;
    if (n > 0) this.#take(client, window.subarray(0, n), now);
    return n;
  }

  /** Appends bytes that fit: counters, RECV when there is something to report, PAUSE. */
  #take(client: ModelClient, bytes: Uint8Array, now: number): void {
    for (const byte of bytes) client.ring.push(byte);
    client.bytesIn += bytes.length;
    this.#bytesIn += bytes.length;
    client.lastActivity = now;
    if (this.#hasNews(client)) this.#queueRecv(client);
    this.#pauseIfFull(client);
  }

  // ── Bytes out ───────────────────────────────────────────────────────────────

  read(handle: Handle, dst: Uint8Array): number {
    if (dst.length === 0) return K.ERR_RANGE;
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (client.ring.length === 0) return this.#ended(client) ? K.END_OF_STREAM : 0;
    const count = Math.min(dst.length, client.ring.length);
    dst.set(client.ring.slice(0, count));
    this.#drop(client, count);
    return count;
  }

  readView(handle: Handle): Buffer | number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (client.ring.length === 0) return this.#ended(client) ? K.END_OF_STREAM : 0;
    return Buffer.from(client.ring.slice(0, this.#usedSpan(client)));
  }

  consume(handle: Handle, n: number): number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (!Number.isInteger(n) || n < 1 || n > this.#usedSpan(client)) return K.ERR_RANGE;
    this.#drop(client, n);
    return n;
  }

  /** Drops `n` bytes from the head: RESUME when a paused ring has drained enough. */
  #drop(client: ModelClient, n: number): void {
    client.ring.splice(0, n);
    this.#resumeIfDrained(client);
  }

  // ── Framing ─────────────────────────────────────────────────────────────────

  setFraming(handle: Handle, framing: CoreFraming): number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    const status = framingStatus(framing, this.config.rxBufferSize);
    if (status !== K.OK) return status;
    client.framing = ownFraming(framing);
    // A closed client's DISCONNECT is queued already: nothing may follow it. The spec leaves
    // the order open; flow first, then RECV, is what the WebAssembly core does.
    if (client.open) {
      this.#pauseIfFull(client);
      this.#resumeIfDrained(client);
      if (this.#hasNews(client)) this.#queueRecv(client);
    }
    return K.OK;
  }

  nextFrameLength(handle: Handle): number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    return this.#cut(client).result;
  }

  readFrame(handle: Handle, dst: Uint8Array): number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    const { result, skip, consumed } = this.#cut(client);
    if (result < 0) return result;
    if (result > dst.length) return K.ERR_RANGE;
    dst.set(client.ring.slice(skip, skip + result));
    this.#drop(client, consumed);
    return result;
  }

  #cut(client: ModelClient): Cut {
    return cutFrame(client.framing, client.ring, this.#ended(client), this.config.rxBufferSize);
  }

  /**
   * Whether a RECV is due: in RAW, any byte buffered; in a framed mode, a whole frame, a
   * too-large condition or the end of the stream (a half frame wakes nobody).
   */
  #hasNews(client: ModelClient): boolean {
    if (client.framing.mode === 'raw') return client.ring.length > 0;
    return this.#cut(client).result !== K.FRAME_PENDING;
  }

  // ── Flow control ────────────────────────────────────────────────────────────
  // RAW: pause at highWatermark, resume at lowWatermark. Framed: pause when the ring is full,
  // resume as soon as any room is free (a partial frame above a watermark would deadlock).

  #pauseIfFull(client: ModelClient): void {
    if (client.paused || !client.open) return;
    const used = client.ring.length;
    const full = client.framing.mode === 'raw' ? used >= this.config.highWatermark : used === this.config.rxBufferSize;
    if (!full) return;
    client.paused = true;
    this.#queueFlow(client);
  }

  #resumeIfDrained(client: ModelClient): void {
    if (!client.paused) return;
    const used = client.ring.length;
    const drained = client.framing.mode === 'raw' ? used <= this.config.lowWatermark : used < this.config.rxBufferSize;
    if (!drained) return;
    client.paused = false;
    this.#queueFlow(client);
  }

  // ── Events ──────────────────────────────────────────────────────────────────

  nextEvent(): number {
    for (let event = this.#events.shift(); event; event = this.#events.shift()) {
      const client = this.#clients.get(event.handle);
      // A slot is freed only when its DISCONNECT is drained, and FIFO order drains every
      // earlier event of that client first, so a queued event always finds its client.
      if (!client) throw new Error(`model invariant broken: event ${event.kind} for freed handle ${event.handle}`);
      const packed = (kind: number): number => (client.slot << 3) | kind;
      switch (event.kind) {
        case 'connect':
          return packed(K.EV_CONNECT);
        case 'recv':
          client.recvPending = false;
          return packed(K.EV_RECV);
        case 'disconnect':
          client.disconnectDrained = true;
          if (client.released) this.#freeSlot(client);
          return packed(K.EV_DISCONNECT);
        case 'flow':
          client.flowPending = false;
          if (client.open) return packed(client.paused ? K.EV_PAUSE : K.EV_RESUME);
          break; // a closed client has no socket to pause or resume: take the next entry
      }
    }
    return K.EV_NONE;
  }

  #queue(handle: number, kind: QueuedEventKind): void {
    this.#events.push({ handle, kind });
  }

  #queueRecv(client: ModelClient): void {
    if (client.recvPending) return;
    client.recvPending = true;
    this.#queue(client.handle, 'recv');
  }

  #queueFlow(client: ModelClient): void {
    if (client.flowPending) return;
    client.flowPending = true;
    this.#queue(client.handle, 'flow');
  }

  // ── Inspection ──────────────────────────────────────────────────────────────

  inspect(handle: Handle): ClientInfo | undefined {
    const client = this.#clients.get(handle);
    if (!client) return undefined;
    let flags = 0;
    if (this.#acceptQueue.includes(handle)) flags |= K.FLAG_IN_ACCEPT_QUEUE;
    if (client.recvPending) flags |= K.FLAG_RECV_PENDING;
    if (client.flowPending) flags |= K.FLAG_FLOW_PENDING;
    if (client.paused) flags |= K.FLAG_PAUSED;
    if (client.eof) flags |= K.FLAG_EOF;
    if (client.disconnectDrained) flags |= K.FLAG_DISCONNECT_DRAINED;
    if (client.released) flags |= K.FLAG_RELEASED;
    return {
      serial: client.serial,
      state: client.open ? K.STATE_OPEN : K.STATE_CLOSED,
      flags,
      rxUsed: client.ring.length,
      bytesIn: client.bytesIn,
      bytesOut: client.bytesOut,
      connectTime: client.connectTime,
      lastActivity: client.lastActivity,
    };
  }

  expired(now: number, idleMs: number, lifetimeMs: number): Handle[] {
    return [...this.#clients.values()]
      .filter((client) => client.open)
      .filter((client) => (idleMs > 0 && now - client.lastActivity >= idleMs)
        || (lifetimeMs > 0 && now - client.connectTime >= lifetimeMs))
      .sort((a, b) => a.slot - b.slot)
      .map((client) => client.handle as Handle);
  }

  stats(): CoreStats {
    return {
      live: this.#live,
      usedSlots: this.#clients.size,
      pendingAccept: this.#acceptQueue.length,
      paused: [...this.#clients.values()].filter((client) => client.paused).length,
      queuedEvents: this.#events.length,
      maxClients: this.#maxClients,
      opened: this.#opened,
      rejected: this.#rejected,
      closed: this.#closed,
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
    };
  }

  // ── Slots and rings ─────────────────────────────────────────────────────────

  #freeSlot(client: ModelClient): void {
    this.#clients.delete(client.handle);
    const next = (this.#generations[client.slot]! + 1) % this.#generationModulus;
    // Generation 0 is skipped so that slot 0 can never produce handle 0.
    this.#generations[client.slot] = next === 0 ? 1 : next;
    this.#freeSlots.push(client.slot);
  }

  #ended(client: ModelClient): boolean {
    return !client.open || client.eof;
  }

  /** Free bytes in the ring. */
  #room(client: ModelClient): number {
    return this.config.rxBufferSize - client.ring.length;
  }

  /**
   * Ring positions run from ringOrigin (mod 2^32, and rxBufferSize divides 2^32): the tail has
   * advanced by every byte taken since open, the head by every byte dropped.
   */
  #offset(position: number): number {
    return (this.config.ringOrigin + position) % this.config.rxBufferSize;
  }

  /** Free bytes contiguous at the tail (up to the ring's end). */
  #freeSpan(client: ModelClient): number {
    return Math.min(this.#room(client), this.config.rxBufferSize - this.#offset(client.bytesIn));
  }

  /** Buffered bytes contiguous at the head (up to the ring's end). */
  #usedSpan(client: ModelClient): number {
    const used = client.ring.length;
    return Math.min(used, this.config.rxBufferSize - this.#offset(client.bytesIn - used));
  }
}

/** A reference model for `config`: the same CoreApi as createCore, in plain TypeScript. */
export function createReferenceCore(config: CoreConfig): ReferenceModel {
  return new ReferenceModel(config);
}
