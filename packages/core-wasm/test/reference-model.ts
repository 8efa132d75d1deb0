// The reference model: the core's specification written as plain TypeScript over arrays,
// Maps and number[] byte queues, with no memory layout, rings or intrusive lists. It is
// deliberately slow and obvious so that the WebAssembly core can be checked against it
// operation by operation (test/model.property.test.ts) and so that the unit tests can run
// against either implementation (CORE_IMPL=model|wasm|both).
//
// It reproduces handles exactly (generation << slotBits | slot, free slots reused in the
// order they were freed) so that both implementations answer with the same numbers.
// What it does not model: the memory layout (so never ERR_CONFIG_TOO_LARGE), ring
// positions (ringOrigin only changes where bytes sit in WASM memory), and the raw
// exports' pointer checks.

import {
  constants as K,
  CoreConfigError,
  describeConfigStatus,
  resolveCoreConfig,
  type ClientInfo,
  type CoreApi,
  type CoreConfig,
  type CoreStats,
  type ResolvedCoreConfig,
} from '@tcpserv/core-wasm';

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
  /** Buffered bytes, oldest first. */
  readonly ring: number[];
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

function checkIntegers(config: ResolvedCoreConfig): void {
  for (const [name, value] of Object.entries(config)) {
    const valid = name === 'ringOrigin'
      ? Number.isInteger(value) && value >= 0 && value <= 0xffffffff
      : Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31;
    if (valid) continue;
    if (name === 'ringOrigin') {
      throw new CoreConfigError(K.ERR_RANGE, `ringOrigin must be an integer from 0 to 4294967295 (got ${String(value)})`);
    }
    // Out-of-range integers get the same sentence as the range check of that setting.
    const status = ({
      maxSockets: K.ERR_CONFIG_MAX_SOCKETS, maxClients: K.ERR_CONFIG_MAX_CLIENTS, rxBufferSize: K.ERR_CONFIG_RX_BUFFER,
      highWatermark: K.ERR_CONFIG_WATERMARKS, lowWatermark: K.ERR_CONFIG_WATERMARKS, stagingSize: K.ERR_CONFIG_STAGING,
    } as Record<string, number>)[name]!;
    throw new CoreConfigError(status, describeConfigStatus(status, config));
  }
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
  #eventHandle = 0;
  #maxClients: number;
  /** Open clients; kept as a counter (not counted on demand) so open stays O(1) for big tables. */
  #live = 0;
  #opened = 0;
  #rejected = 0;
  #closed = 0;
  #bytesIn = 0;
  #bytesOut = 0;

  constructor(config: CoreConfig) {
    const resolved = resolveCoreConfig(config);
    checkIntegers(resolved);
    const status = configStatus(resolved);
    if (status !== K.OK) throw new CoreConfigError(status, describeConfigStatus(status, resolved));
    this.config = resolved;
    this.#maxClients = resolved.maxClients;
    this.#slotBits = Math.max(1, Math.ceil(Math.log2(resolved.maxSockets)));
    this.#generationModulus = 2 ** (31 - this.#slotBits);
    this.#generations = Array.from({ length: resolved.maxSockets }, () => 1);
    this.#freeSlots = Array.from({ length: resolved.maxSockets }, (_, slot) => slot);
  }

  #queue(handle: number, kind: QueuedEventKind): void {
    this.#events.push({ handle, kind });
  }

  #free(client: ModelClient): void {
    this.#clients.delete(client.handle);
    const next = (this.#generations[client.slot]! + 1) % this.#generationModulus;
    // Generation 0 is skipped so that slot 0 can never produce handle 0.
    this.#generations[client.slot] = next === 0 ? 1 : next;
    this.#freeSlots.push(client.slot);
  }

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
      released: false, disconnectDrained: false,
      ring: [], bytesIn: 0, bytesOut: 0, connectTime: now, lastActivity: now,
    });
    this.#acceptQueue.push(handle);
    this.#queue(handle, 'connect');
    return handle;
  }

  close(handle: number): number {
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

  release(handle: number): number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (client.open) return K.ERR_OPEN;
    client.released = true;
    if (client.disconnectDrained) this.#free(client);
    return K.OK;
  }

  eof(handle: number): number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (!client.open) return K.ERR_CLOSED;
    if (client.eof) return K.OK;
    client.eof = true;
    if (!client.recvPending) {
      client.recvPending = true;
      this.#queue(handle, 'recv');
    }
    return K.OK;
  }

  recordSent(handle: number, bytes: number, now: number): number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (bytes < 0) return K.ERR_RANGE;
    if (!client.open) return K.ERR_CLOSED;
    client.bytesOut += bytes;
    this.#bytesOut += bytes;
    client.lastActivity = now;
    return K.OK;
  }

  push(handle: number, data: Uint8Array, now: number): number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (!client.open || client.eof) return K.ERR_CLOSED;
    const taken = Math.min(data.length, this.config.rxBufferSize - client.ring.length);
    if (taken === 0) return 0;
    for (let i = 0; i < taken; i++) client.ring.push(data[i]!);
    client.bytesIn += taken;
    this.#bytesIn += taken;
    client.lastActivity = now;
    if (!client.recvPending) {
      client.recvPending = true;
      this.#queue(handle, 'recv');
    }
    if (!client.paused && client.ring.length >= this.config.highWatermark) {
      client.paused = true;
      this.#queueFlow(client);
    }
    return taken;
  }

  #queueFlow(client: ModelClient): void {
    if (client.flowPending) return;
    client.flowPending = true;
    this.#queue(client.handle, 'flow');
  }

  read(handle: number, dst: Uint8Array): number {
    if (dst.length === 0) return K.ERR_RANGE;
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
    if (client.ring.length === 0) return !client.open || client.eof ? K.END_OF_STREAM : 0;
    const count = Math.min(dst.length, client.ring.length, this.config.stagingSize);
    dst.set(client.ring.splice(0, count));
    if (client.paused && client.ring.length <= this.config.lowWatermark) {
      client.paused = false;
      this.#queueFlow(client);
    }
    return count;
  }

  accept(): number {
    return this.#acceptQueue.shift() ?? 0;
  }

  nextEvent(): number {
    for (let event = this.#events.shift(); event; event = this.#events.shift()) {
      const client = this.#clients.get(event.handle);
      // A slot is freed only when its DISCONNECT is drained, and FIFO order drains every
      // earlier event of that client first, so a queued event always finds its client.
      if (!client) throw new Error(`model invariant broken: event ${event.kind} for freed handle ${event.handle}`);
      this.#eventHandle = event.handle;
      switch (event.kind) {
        case 'connect':
          return K.EV_CONNECT;
        case 'recv':
          client.recvPending = false;
          return K.EV_RECV;
        case 'disconnect':
          client.disconnectDrained = true;
          if (client.released) this.#free(client);
          return K.EV_DISCONNECT;
        case 'flow':
          client.flowPending = false;
          if (client.open) return client.paused ? K.EV_PAUSE : K.EV_RESUME;
          break; // a closed client has no socket to pause or resume: take the next entry
      }
    }
    this.#eventHandle = 0;
    return K.EV_NONE;
  }

  eventHandle(): number {
    return this.#eventHandle;
  }

  setMaxClients(maxClients: number): number {
    if (maxClients < 1 || maxClients > this.config.maxSockets) return K.ERR_CONFIG_MAX_CLIENTS;
    this.#maxClients = maxClients;
    return K.OK;
  }

  inspect(handle: number): ClientInfo | number {
    const client = this.#clients.get(handle);
    if (!client) return K.ERR_STALE;
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

  expired(now: number, idleMs: number, lifetimeMs: number): number[] {
    return [...this.#clients.values()]
      .filter((client) => client.open)
      .filter((client) => (idleMs > 0 && now - client.lastActivity >= idleMs)
        || (lifetimeMs > 0 && now - client.connectTime >= lifetimeMs))
      .sort((a, b) => a.slot - b.slot)
      .map((client) => client.handle);
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
}
