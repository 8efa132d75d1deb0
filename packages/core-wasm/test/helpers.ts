import { constants as K, type ClientInfo, type CoreApi, type Handle } from '@tcpserv/core-wasm';

export type EventName = 'CONNECT' | 'RECV' | 'DISCONNECT' | 'PAUSE' | 'RESUME';

const EVENT_NAMES: Record<number, EventName> = {
  [K.EV_CONNECT]: 'CONNECT',
  [K.EV_RECV]: 'RECV',
  [K.EV_DISCONNECT]: 'DISCONNECT',
  [K.EV_PAUSE]: 'PAUSE',
  [K.EV_RESUME]: 'RESUME',
};

/** nextEvent packs (slot << 3) | kind. */
const KIND_BITS = 3;

/** Name of a packed event's kind; throws on anything nextEvent must never return. */
export function eventName(packed: number): EventName {
  const name = packed > 0 ? EVENT_NAMES[packed & ((1 << KIND_BITS) - 1)] : undefined;
  if (!name) throw new Error(`nextEvent returned ${packed}, which is no event`);
  return name;
}

/** The table slot a packed event is about. */
export function eventSlot(packed: number): number {
  return packed >>> KIND_BITS;
}

/** What nextEvent answers for an event of `kind` about `handle`. */
export function packedEvent(core: CoreApi, kind: number, handle: Handle): number {
  return (core.slotOf(handle) << KIND_BITS) | kind;
}

/**
 * A number used as a handle: one the core issued (open's result), or one it never did
 * (a forged or stale value the test expects to be refused). A status stays a negative number.
 */
export function asHandle(value: number): Handle {
  return value as Handle;
}

/** open() typed as a handle (the test compares refusals as numbers). */
export function open(core: CoreApi, now: number): Handle {
  return asHandle(core.open(now));
}

/**
 * Drains every queued event as [name, slot] pairs, oldest first. The queue holds at most
 * 4 entries per slot, so `limit` (far above any test's table) only stops a runaway core.
 */
export function drainEvents(core: CoreApi, limit = 1_000_000): Array<[EventName, number]> {
  const drained: Array<[EventName, number]> = [];
  for (let packed = core.nextEvent(); packed !== K.EV_NONE; packed = core.nextEvent()) {
    drained.push([eventName(packed), eventSlot(packed)]);
    if (drained.length > limit) throw new Error(`more than ${limit} events queued`);
  }
  return drained;
}

/** The [name, slot] pairs drainEvents answers for these events of these handles. */
export function events(core: CoreApi, ...expected: Array<[EventName, number]>): Array<[EventName, number]> {
  return expected.map(([name, handle]) => [name, core.slotOf(asHandle(handle))]);
}

/** `length` bytes counting up from `first` (mod 256): easy to recognise when misplaced. */
export function countingBytes(length: number, first = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (first + i) & 0xff);
}

/** Reads exactly `length` bytes (in one call; fails if the core returns another count). */
export function readExactly(core: CoreApi, handle: number, length: number): Uint8Array {
  const dst = new Uint8Array(length);
  const n = core.read(asHandle(handle), dst);
  if (n !== length) throw new Error(`read returned ${n}, expected ${length}`);
  return dst;
}

/** inspect() that fails the test for a stale handle. */
export function info(core: CoreApi, handle: number): ClientInfo {
  const result = core.inspect(asHandle(handle));
  if (result === undefined) throw new Error(`inspect(${handle}) found no client`);
  return result;
}

/** Small deterministic PRNG (mulberry32): random-looking bytes reproducible from a seed. */
export function randomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    bytes[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return bytes;
}
