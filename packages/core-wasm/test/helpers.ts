import { constants as K, type ClientInfo, type CoreApi } from '@tcpserv/core-wasm';

export type EventName = 'CONNECT' | 'RECV' | 'DISCONNECT' | 'PAUSE' | 'RESUME';

const EVENT_NAMES: Record<number, EventName> = {
  [K.EV_CONNECT]: 'CONNECT',
  [K.EV_RECV]: 'RECV',
  [K.EV_DISCONNECT]: 'DISCONNECT',
  [K.EV_PAUSE]: 'PAUSE',
  [K.EV_RESUME]: 'RESUME',
};

/** Name of an event kind; throws on anything nextEvent must never return. */
export function eventName(kind: number): EventName {
  const name = EVENT_NAMES[kind];
  if (!name) throw new Error(`nextEvent returned ${kind}, which is no event kind`);
  return name;
}

/**
 * Drains every queued event as [name, handle] pairs, oldest first. The queue holds at most
 * 4 entries per slot, so `limit` (far above any test's table) only stops a runaway core.
 */
export function drainEvents(core: CoreApi, limit = 1_000_000): Array<[EventName, number]> {
  const drained: Array<[EventName, number]> = [];
  for (let kind = core.nextEvent(); kind !== K.EV_NONE; kind = core.nextEvent()) {
    drained.push([eventName(kind), core.eventHandle()]);
    if (drained.length > limit) throw new Error(`more than ${limit} events queued`);
  }
  return drained;
}

/** `length` bytes counting up from `first` (mod 256): easy to recognise when misplaced. */
export function countingBytes(length: number, first = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (first + i) & 0xff);
}

/** Reads exactly `length` bytes (in one call; fails if the core returns another count). */
export function readExactly(core: CoreApi, handle: number, length: number): Uint8Array {
  const dst = new Uint8Array(length);
  const n = core.read(handle, dst);
  if (n !== length) throw new Error(`read returned ${n}, expected ${length}`);
  return dst;
}

/** inspect() that fails the test instead of returning a status. */
export function info(core: CoreApi, handle: number): ClientInfo {
  const result = core.inspect(handle);
  if (typeof result === 'number') throw new Error(`inspect(${handle}) returned status ${result}`);
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
