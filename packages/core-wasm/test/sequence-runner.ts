// Runs a command sequence against one or more CoreApi implementations in lockstep. With two
// (the WASM core and the reference model) every answer must be identical; with any number,
// the invariants below must hold after every command. Failures throw SequenceError, which
// fast-check reports together with the shrunk sequence.

import { isDeepStrictEqual } from 'node:util';
import {
  constants as K, statusName, type ClientInfo, type CoreApi, type CoreConfig, type CoreFraming, type CoreStats, type Handle, type ResolvedCoreConfig,
} from '@tcpserv/core-wasm';
import type { Command, Target } from './commands.js';
import { asHandle, eventName, eventSlot, randomBytes, type EventName } from './helpers.js';
import type { Implementation } from './implementations.js';

export class SequenceError extends Error {
  override name = 'SequenceError';
}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new SequenceError(message());
}

const show = (value: unknown): string => JSON.stringify(value, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));

/** What the test knows about one issued handle, learned only from the answers it saw. */
interface Client {
  readonly handle: number;
  open: boolean;
  ended: boolean;
  released: boolean;
  disconnectDrained: boolean;
  freed: boolean;
  connects: number;
  disconnects: number;
  /** The framing the core accepted last (RAW from open). */
  framing: CoreFraming;
  /** Bytes the core took and the test has not read back yet, oldest first. */
  readonly unread: number[];
}

/** What one command answered: comparable across implementations. */
type Answer = number | undefined | readonly number[] | ClientInfo | BytesAnswer | ReceiveAnswer
  | ReadonlyArray<readonly [EventName, number]>;

/** A read's count or status and the bytes it gave. */
interface BytesAnswer {
  readonly n: number;
  readonly bytes: readonly number[];
  /** 'view' only: what consume answered. */
  readonly consumed?: number;
}

/** receiveWindow's length (or status) and what received answered. */
interface ReceiveAnswer {
  readonly window: number;
  readonly received: number;
}

/** How many bytes a command's answer says the core took. */
function bytesTaken(command: Command, answer: Answer): number {
  switch (command.op) {
    case 'push': return Math.max(0, answer as number);
    case 'send': case 'frames': return ([] as number[]).concat(answer as number | number[]).reduce((sum, n) => sum + Math.max(0, n), 0);
    case 'receive': return Math.max(0, (answer as ReceiveAnswer).received);
    default: return 0;
  }
}

/** The bytes a command offers to a client (framed for `framing` where it asks), or none. */
function offered(command: Command, framing: CoreFraming, rxBufferSize: number): Uint8Array | undefined {
  if (command.op === 'push') return randomBytes(command.size, command.seed);
  if (command.op === 'send') return command.bytes;
  if (command.op !== 'frames') return undefined;
  const payloads = [...command.payloads];
  if (command.nearLimit !== null) {
    const { base, delta } = command.nearLimit;
    const limit = framing.mode === 'raw' ? 16 : framing.mode === 'fixed' ? framing.size : framing.maxFrameSize;
    const overhead = encodeFrame(framing, new Uint8Array(0), command.crlf).length;
    const length = (base === 'limit' ? limit : rxBufferSize - overhead) + delta;
    payloads.push(Uint8Array.from({ length: Math.max(0, length) }, (_, i) => 0x30 + (i % 10)));
  }
  const encoded = payloads.map((payload) => encodeFrame(framing, payload, command.crlf));
  if (command.unfinished && encoded.length > 0) {
    // Cut the last frame before its end: without its terminator, or inside its payload.
    const last = encoded.pop()!;
    const whole = framing.mode === 'line' || framing.mode === 'delimiter' ? payloads.at(-1)!.length : last.length;
    encoded.push(last.slice(0, framing.mode === 'line' || framing.mode === 'delimiter' ? whole : Math.floor(whole / 2)));
  }
  return Uint8Array.from(encoded.flat());
}

/**
 * One frame as a peer would send it, written here from the spec (not taken from the model):
 * '\n' or '\r\n' after a line, the delimiter after a delimited frame, a header before a
 * length frame (its width's low bytes: a payload longer than that lies), a fixed frame
 * padded or cut to size, raw bytes as they are.
 */
function encodeFrame(framing: CoreFraming, payload: Uint8Array, crlf: boolean): number[] {
  switch (framing.mode) {
    case 'raw': return [...payload];
    case 'line': return [...payload, ...(crlf ? [0x0d, 0x0a] : [0x0a])];
    case 'delimiter': return [...payload, ...framing.delimiter];
    case 'length': {
      const { headerBytes, littleEndian } = framing;
      const header = Array.from({ length: headerBytes }, (_, i) => Math.floor(payload.length / 256 ** (headerBytes - 1 - i)) % 256);
      return [...(littleEndian ? header.reverse() : header), ...payload];
    }
    case 'fixed': return Array.from({ length: Math.max(0, framing.size) }, (_, i) => payload[i % Math.max(1, payload.length)] ?? 0);
  }
}

export class SequenceRunner {
  readonly #cores: readonly CoreApi[];
  readonly #names: readonly string[];
  readonly #config: ResolvedCoreConfig;
  /** Every client ever issued, and those still holding a slot (open, or closed and not freed). */
  readonly #clients = new Map<number, Client>();
  readonly #held = new Map<number, Client>();
  /** Handles in the order they were issued (a handle can recur only after 2^15 frees of its slot). */
  readonly #issued: number[] = [];
  #now = 1_000;
  /** Commands that ran on every implementation and got identical answers. */
  checkedOperations = 0;
  /** readFrame outcomes by mode ('line frame', 'length ERR_FRAME_TRUNCATED', …): what a suite covered. */
  readonly frameOutcomes = new Map<string, number>();

  /** After every command, also compare nextFrameLength of every held client. */
  readonly #probeFrames: boolean;

  constructor(implementations: readonly Implementation[], config: CoreConfig, options: { probeFrames?: boolean } = {}) {
    this.#probeFrames = options.probeFrames ?? false;
    this.#cores = implementations.map((impl) => impl.create(config));
    this.#names = implementations.map((impl) => impl.name);
    this.#config = this.#cores[0]!.config;
  }

  #resolve(target: Target): Handle {
    if (target.from === 'forged') return asHandle(target.value);
    const pool = target.from === 'held' ? [...this.#held.keys()] : this.#issued;
    return asHandle(pool.length === 0 ? 0 : pool[target.index % pool.length]!);
  }

  /** Runs one command everywhere, compares the answers, updates what the test knows, checks invariants. */
  run(command: Command): void {
    const statsBefore = this.#cores.map((core) => core.stats());
    const handle = 'target' in command ? this.#resolve(command.target) : asHandle(0);
    const heldBefore = this.#held.has(handle);
    if ('dt' in command) this.#now += command.dt;
    const data = offered(command, this.#held.get(handle)?.framing ?? { mode: 'raw' }, this.#config.rxBufferSize);

    const answers = this.#cores.map((core) => this.#apply(core, command, handle, data));
    for (let i = 1; i < answers.length; i++) {
      check(isDeepStrictEqual(answers[i], answers[0]), () =>
        `${command.op} answered ${show(answers[0])} on ${this.#names[0]} but ${show(answers[i])} on ${this.#names[i]}`);
    }
    if (this.#cores.length > 1) this.checkedOperations += Array.isArray(answers[0]) && command.op !== 'drain' && command.op !== 'expired' ? (answers[0] as number[]).length : 1;

    const answer = answers[0]!;
    if ('target' in command && !heldBefore) this.#expectStale(command, answer);
    this.#learn(command, handle, answer, data);
    for (let i = 0; i < this.#cores.length; i++) this.#checkInvariants(i, command, answer, statsBefore[i]!);
    this.#compareStates();
  }

  #apply(core: CoreApi, command: Command, handle: Handle, data: Uint8Array | undefined): Answer {
    switch (command.op) {
      case 'open': return core.open(this.#now);
      case 'close': return core.close(handle);
      case 'release': return core.release(handle);
      case 'eof': return core.eof(handle);
      case 'push': return core.push(handle, data!, this.#now);
      case 'send':
      case 'frames':
        if (!command.trickle) return core.push(handle, data!, this.#now);
        // One push per byte (at least one push, so an empty chunk still checks the handle).
        if (data!.length === 0) return [core.push(handle, data!, this.#now)];
        return Array.from(data!, (_, i) => core.push(handle, data!.subarray(i, i + 1), this.#now));
      case 'read': {
        const dst = new Uint8Array(command.size);
        const n = core.read(handle, dst);
        return { n, bytes: [...dst.subarray(0, Math.max(0, n))] };
      }
      case 'receive': return this.#receive(core, command, handle);
      case 'view': {
        const view = core.readView(handle);
        if (typeof view === 'number') return { n: view, bytes: [] };
        // Copied before consume: the view shows the ring, which consume hands back.
        const taken = 1 + (command.size % view.length);
        const bytes = [...view.subarray(0, taken)];
        return { n: view.length, bytes, consumed: core.consume(handle, taken) };
      }
      case 'consume': return core.consume(handle, command.n);
      case 'setFraming': return core.setFraming(handle, this.#framingOf(command));
      case 'nextFrameLength': return core.nextFrameLength(handle);
      case 'readFrame': {
        const room = command.room === 'fit' ? Math.max(0, core.nextFrameLength(handle)) : command.room;
        const dst = new Uint8Array(room);
        const n = core.readFrame(handle, dst);
        return { n, bytes: [...dst.subarray(0, Math.max(0, n))] };
      }
      case 'drain': return this.#drain(core, command.count);
      case 'accept': return core.accept();
      case 'setMaxClients': return core.setMaxClients(command.value);
      case 'recordSent': return core.recordSent(handle, command.bytes, this.#now);
      case 'inspect': return core.inspect(handle);
      case 'expired': return core.expired(this.#now, command.idleMs, command.lifetimeMs);
    }
  }

  /** The framing a setFraming command asks for, its limit made rxBufferSize when `atRing`. */
  #framingOf(command: Command & { op: 'setFraming' }): CoreFraming {
    const { framing } = command;
    if (!command.atRing || framing.mode === 'raw') return framing;
    const { rxBufferSize } = this.#config;
    return framing.mode === 'fixed' ? { ...framing, size: rxBufferSize } : { ...framing, maxFrameSize: rxBufferSize };
  }

  #receive(core: CoreApi, command: Command & { op: 'receive' }, handle: Handle): ReceiveAnswer {
    const window = core.receiveWindow(handle);
    if (typeof window === 'number') return { window, received: window };
    const n = Math.min(command.size, window.length);
    window.set(randomBytes(n, command.seed));
    return { window: window.length, received: core.received(handle, window, command.excess ? window.length + 1 : n, this.#now) };
  }

  #drain(core: CoreApi, count: number): Array<[EventName, number]> {
    // At most 4 events are queued per slot, so this bound only stops a runaway core.
    const limit = Math.min(count, 4 * this.#config.maxSockets + 1);
    const drained: Array<[EventName, number]> = [];
    for (let i = 0; i < limit; i++) {
      const packed = core.nextEvent();
      if (packed === K.EV_NONE) break;
      drained.push([eventName(packed), eventSlot(packed)]);
    }
    check(count !== Infinity || drained.length < limit, () => `more than ${limit - 1} events were queued`);
    return drained;
  }

  /** A handle the test never saw issued, or saw freed, must be refused by every operation. */
  #expectStale(command: Command & { target: Target }, answer: Answer): void {
    const status = ((): unknown => {
      switch (command.op) {
        case 'read': case 'view': case 'readFrame': return (answer as BytesAnswer).n;
        case 'receive': return (answer as ReceiveAnswer).window;
        case 'send': case 'frames': return command.trickle ? (answer as number[])[0] : answer;
        case 'inspect': return answer === undefined ? K.ERR_STALE : answer;
        default: return answer;
      }
    })();
    const expected = command.op === 'read' && command.size === 0 ? K.ERR_RANGE : K.ERR_STALE;
    check(status === expected, () => `${command.op} on a handle not held answered ${show(answer)}, not ${expected}`);
  }

  #learn(command: Command, handle: number, answer: Answer, data: Uint8Array | undefined): void {
    const client = this.#held.get(handle);
    switch (command.op) {
      case 'open':
        if (typeof answer === 'number' && answer > 0) {
          check(!this.#held.has(answer), () => `open issued ${answer}, which is held`);
          const opened: Client = {
            handle: answer, open: true, ended: false, released: false, disconnectDrained: false, freed: false,
            connects: 0, disconnects: 0, framing: { mode: 'raw' }, unread: [],
          };
          this.#clients.set(answer, opened);
          this.#held.set(answer, opened);
          this.#issued.push(answer);
        }
        break;
      case 'close':
        if (answer === K.OK) client!.open = false;
        break;
      case 'eof':
        if (answer === K.OK) client!.ended = true;
        break;
      case 'release':
        if (answer === K.OK) {
          client!.released = true;
          if (client!.disconnectDrained) this.#free(client!);
        }
        break;
      case 'push':
      case 'send':
      case 'frames': {
        if (command.op !== 'push' && command.trickle) {
          (answer as number[]).forEach((taken, i) => { if (taken > 0) client!.unread.push(data![i]!); });
        } else {
          const taken = answer as number;
          if (taken > 0) client!.unread.push(...data!.subarray(0, taken));
        }
        break;
      }
      case 'receive': {
        const { received } = answer as ReceiveAnswer;
        if (received > 0) client!.unread.push(...randomBytes(received, command.seed));
        break;
      }
      case 'read':
        this.#learnRead(client, answer as BytesAnswer, command.size);
        break;
      case 'view': {
        const { n, bytes, consumed } = answer as BytesAnswer;
        if (!client || n <= 0) break;
        check(consumed === bytes.length, () => `consume(${bytes.length}) of a ${n}-byte view answered ${consumed}`);
        this.#learnRead(client, { n: bytes.length, bytes }, bytes.length);
        break;
      }
      case 'consume':
        if (client && (answer as number) > 0) client.unread.splice(0, answer as number);
        break;
      case 'setFraming':
        if (client && answer === K.OK) client.framing = this.#framingOf(command);
        break;
      case 'nextFrameLength':
        if (client) this.#checkFrameLength(client, answer as number);
        break;
      case 'readFrame':
        if (client) {
          const { n } = answer as BytesAnswer;
          const outcome = `${client.framing.mode} ${n > 0 ? 'frame' : n === 0 ? 'empty frame' : statusName(n)}`;
          this.frameOutcomes.set(outcome, (this.frameOutcomes.get(outcome) ?? 0) + 1);
          this.#learnFrame(client, answer as BytesAnswer);
        }
        break;
      case 'drain':
        for (const [name, slot] of answer as ReadonlyArray<readonly [EventName, number]>) this.#learnEvent(name, slot);
        break;
      default:
        break;
    }
  }

  #free(client: Client): void {
    client.freed = true;
    this.#held.delete(client.handle);
  }

  #learnRead(client: Client | undefined, { n, bytes }: { n: number; bytes: readonly number[] }, size: number): void {
    if (!client || size === 0) return;
    if (n > 0) {
      const expected = client.unread.splice(0, n);
      check(isDeepStrictEqual(bytes, expected), () =>
        `read ${show(bytes)} from ${client.handle}, but the bytes it was given next are ${show(expected)}`);
      check(n <= size, () => `read returned ${n} bytes into ${size}`);
    } else if (n === 0) {
      check(client.unread.length === 0 && client.open && !client.ended, () => `read answered 0 for ${show(client)}`);
    } else {
      check(n === K.END_OF_STREAM && client.unread.length === 0 && (!client.open || client.ended), () =>
        `read answered ${n} for ${show(client)}`);
    }
  }

  /** A frame length is never above the client's limit; the statuses are the framing ones. */
  #checkFrameLength(client: Client, n: number): void {
    const { framing } = client;
    if (framing.mode === 'raw') {
      check(n === K.ERR_CONFIG_FRAME, () => `a frame length (${n}) in RAW for ${show(client)}`);
      return;
    }
    const limit = framing.mode === 'fixed' ? framing.size : framing.maxFrameSize;
    check(n <= limit, () => `nextFrameLength answered ${n} for ${show(client)}`);
    check(n >= 0 || [K.FRAME_PENDING, K.END_OF_STREAM, K.ERR_FRAME_TOO_LARGE, K.ERR_FRAME_TRUNCATED].includes(n),
      () => `nextFrameLength answered ${n}`);
    check(n !== K.END_OF_STREAM || (client.unread.length === 0 && (!client.open || client.ended)),
      () => `END_OF_STREAM for ${show(client)}`);
  }

  /**
   * A frame read takes whole bytes from the head: the payload, plus what the mode adds
   * around it (header before; '\n', '\r\n' or the delimiter after; nothing for a final piece).
   */
  #learnFrame(client: Client, { n, bytes }: BytesAnswer): void {
    if (n < 0) return;
    this.#checkFrameLength(client, n);
    const rxUsed = this.#cores[0]!.inspect(asHandle(client.handle))?.rxUsed ?? 0;
    const taken = client.unread.splice(0, client.unread.length - rxUsed);
    const { framing } = client;
    const skip = framing.mode === 'length' ? framing.headerBytes : 0;
    const after = taken.length - skip - n;
    check(isDeepStrictEqual(bytes, taken.slice(skip, skip + n)), () =>
      `readFrame gave ${show(bytes)}, but took ${show(taken)} from ${show(client)}`);
    const allowed = framing.mode === 'line' ? [0, 1, 2] : framing.mode === 'delimiter' ? [0, framing.delimiter.length] : [0];
    check(allowed.includes(after), () => `readFrame took ${show(taken)} for a ${n}-byte ${framing.mode} frame`);
  }

  #learnEvent(name: EventName, slot: number): void {
    // A slot belongs to one held client at a time: it is reused only once freed.
    const client = [...this.#held.values()].find((c) => this.#cores[0]!.slotOf(asHandle(c.handle)) === slot);
    const handle = client?.handle;
    check(client !== undefined, () => `${name} for slot ${slot}, which no held client has`);
    if (name === 'CONNECT') {
      check(client.connects === 0, () => `second CONNECT for ${handle}`);
      client.connects++;
      return;
    }
    // FIFO: nothing of a client can come before its CONNECT or after its DISCONNECT.
    check(client.connects === 1 && client.disconnects === 0, () => `${name} for ${handle} outside CONNECT..DISCONNECT`);
    if (name === 'DISCONNECT') {
      check(!client.open, () => `DISCONNECT for ${handle}, which is open`);
      client.disconnects++;
      client.disconnectDrained = true;
      if (client.released) this.#free(client);
    } else if (name === 'PAUSE' || name === 'RESUME') {
      check(client.open, () => `${name} for ${handle}, which is closed`);
    }
  }

  #checkInvariants(index: number, command: Command, answer: Answer, before: CoreStats): void {
    const core = this.#cores[index]!;
    const where = `${this.#names[index]} after ${show(command)}`;
    const stats = core.stats();
    const { maxSockets, rxBufferSize } = this.#config;
    check(stats.usedSlots <= maxSockets && stats.live <= stats.usedSlots && stats.paused <= stats.live
      && stats.pendingAccept <= stats.live && stats.queuedEvents <= 4 * maxSockets, () => `${where}: stats ${show(stats)}`);

    // live grows only by a successful open, which needs a free place under maxClients; so
    // live exceeds maxClients only after the limit was lowered below it.
    const opened = command.op === 'open' && typeof answer === 'number' && answer > 0;
    check(stats.live <= before.live + (opened ? 1 : 0), () => `${where}: live grew from ${before.live} to ${stats.live}`);
    if (opened) check(stats.live <= stats.maxClients, () => `${where}: open went past maxClients (${show(stats)})`);
    if (answer === K.ERR_LIMIT) check(before.live >= before.maxClients, () => `${where}: ERR_LIMIT below the limit`);
    if (answer === K.ERR_TABLE_FULL) check(before.usedSlots === maxSockets, () => `${where}: ERR_TABLE_FULL with a free slot`);
    check(stats.opened === before.opened + (opened ? 1 : 0), () => `${where}: opened counter`);
    check(stats.rejected === before.rejected + (answer === K.ERR_LIMIT || answer === K.ERR_TABLE_FULL ? 1 : 0),
      () => `${where}: rejected counter`);
    check(stats.closed === before.closed + (command.op === 'close' && answer === K.OK ? 1 : 0), () => `${where}: closed counter`);
    check(stats.bytesIn === before.bytesIn + bytesTaken(command, answer), () => `${where}: bytesIn counter`);
    const sent = command.op === 'recordSent' && answer === K.OK ? command.bytes : 0;
    check(stats.bytesOut === before.bytesOut + sent, () => `${where}: bytesOut counter`);

    const held = [...this.#held.values()];
    check(held.length === stats.usedSlots && held.filter((c) => c.open).length === stats.live,
      () => `${where}: the test holds ${held.length} clients, the core ${stats.usedSlots}`);
    for (const client of held) {
      const info = core.inspect(asHandle(client.handle));
      check(info !== undefined, () => `${where}: inspect(${client.handle}) found no client`);
      check(info.rxUsed <= rxBufferSize && info.rxUsed === client.unread.length,
        () => `${where}: ${client.handle} buffers ${info.rxUsed}, expected ${client.unread.length}`);
      check(info.state === (client.open ? K.STATE_OPEN : K.STATE_CLOSED), () => `${where}: state of ${client.handle}`);
    }
  }

  /** With two implementations: the same counters and the same view of every held client. */
  #compareStates(): void {
    if (this.#cores.length < 2) return;
    const views = this.#cores.map((core) => ({
      stats: core.stats(),
      clients: [...this.#held.keys()].map((handle) => core.inspect(asHandle(handle))),
      frames: this.#probeFrames ? [...this.#held.keys()].map((handle) => core.nextFrameLength(asHandle(handle))) : [],
    }));
    for (let i = 1; i < views.length; i++) {
      check(isDeepStrictEqual(views[i], views[0]), () =>
        `states differ: ${this.#names[0]} ${show(views[0])}, ${this.#names[i]} ${show(views[i])}`);
    }
  }

  /**
   * Closes and releases every client and drains every event, then checks that the core is
   * as good as new: nothing held, one DISCONNECT per CONNECT, every handle ever issued
   * stale, and the whole table usable again exactly like a freshly initialised core's.
   */
  finish(implementations: readonly Implementation[]): void {
    const drainAll: Command = { op: 'drain', count: Infinity };
    this.run(drainAll);
    for (const client of [...this.#held.values()]) if (client.open) this.run({ op: 'close', target: this.#targetOf(client) });
    this.run(drainAll);
    for (const client of [...this.#held.values()]) this.run({ op: 'release', target: this.#targetOf(client) });
    this.run(drainAll);

    for (const client of this.#clients.values()) {
      check(client.freed && client.connects === 1 && client.disconnects === 1, () => `after teardown: ${show(client)}`);
    }
    for (const [i, core] of this.#cores.entries()) {
      for (const handle of this.#issued) {
        check(core.inspect(asHandle(handle)) === undefined, () => `${this.#names[i]}: ${handle} not stale after teardown`);
      }
      this.#expectLikeNew(core, implementations[i]!, this.#names[i]!);
    }
  }

  #targetOf(client: Client): Target {
    return { from: 'forged', value: client.handle };
  }

  #expectLikeNew(core: CoreApi, impl: Implementation, name: string): void {
    const { maxSockets, rxBufferSize } = this.#config;
    const fresh = impl.create(this.#config);
    const withoutCounters = ({ opened, rejected, closed, bytesIn, bytesOut, ...rest }: CoreStats) => rest;
    fresh.setMaxClients(core.stats().maxClients);
    check(isDeepStrictEqual(withoutCounters(core.stats()), withoutCounters(fresh.stats())), () =>
      `${name}: after teardown ${show(core.stats())}, fresh ${show(fresh.stats())}`);

    // Every slot can be taken again, each as empty as a fresh core's, and no more than that.
    for (const c of [core, fresh]) c.setMaxClients(maxSockets);
    const slotMask = 2 ** Math.max(1, Math.ceil(Math.log2(maxSockets))) - 1;
    const reopened = Array.from({ length: maxSockets }, () => asHandle(core.open(this.#now)));
    const freshOpened = Array.from({ length: maxSockets }, () => asHandle(fresh.open(this.#now)));
    check(reopened.every((handle) => handle > 0) && core.stats().usedSlots === maxSockets,
      () => `${name}: could not reopen every slot after teardown: ${show(reopened)}`);
    const slots = reopened.map((handle) => handle & slotMask).sort((a, b) => a - b);
    check(isDeepStrictEqual(slots, freshOpened.map((handle) => handle & slotMask)), () =>
      `${name}: reopened slots ${show(slots)}`);
    const filler = new Uint8Array(rxBufferSize + 1);
    for (let i = 0; i < maxSockets; i++) {
      const [a, b] = [core.inspect(reopened[i]!), fresh.inspect(freshOpened[i]!)] as [ClientInfo, ClientInfo];
      check(isDeepStrictEqual({ ...a, serial: 0 }, { ...b, serial: 0 }), () => `${name}: reopened ${show(a)}, fresh ${show(b)}`);
      check(core.push(reopened[i]!, filler, this.#now) === rxBufferSize, () => `${name}: reopened ring is not empty`);
    }
  }
}
