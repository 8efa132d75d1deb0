// Hostile calls straight into the module's exports, bypassing the TypeScript wrapper:
// every export must answer with a status (never trap with a WebAssembly RuntimeError) and
// a refused call must leave the core as it was. WASM only: the model has no raw exports.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constants as K, instantiateRaw, type CoreExports } from '@tcpserv/core-wasm';
import { countingBytes } from './helpers.js';
import { fuzzMultiplier } from './implementations.js';

type Param = 'i32' | 'f64';
type ExportName = Exclude<keyof CoreExports, 'memory'>;

/** Every exported function and the WebAssembly type of each of its parameters. */
const SIGNATURES: Record<ExportName, readonly Param[]> = {
  layoutBytes: ['i32', 'i32', 'i32'],
  init: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
  setMaxClients: ['i32'],
  stagingPtr: [],
  stagingSize: [],
  nextEvent: [],
  accept: [],
  open: ['f64'],
  close: ['i32'],
  release: ['i32'],
  eof: ['i32'],
  recordSent: ['i32', 'i32', 'f64'],
  push: ['i32', 'i32', 'i32', 'f64'],
  read: ['i32', 'i32', 'i32'],
  writeSpan: ['i32'],
  receiveWindow: ['i32', 'i32'],
  commit: ['i32', 'i32', 'f64'],
  readSpan: ['i32'],
  consume: ['i32', 'i32'],
  spanPtr: [],
  setFraming: ['i32', 'i32', 'i32', 'i32', 'i32'],
  nextFrameLength: ['i32'],
  readFrame: ['i32', 'i32', 'i32'],
  frameSpan: ['i32'],
  skipFrame: ['i32'],
  inspect: ['i32'],
  infoSerial: [],
  infoState: [],
  infoFlags: [],
  infoRxUsed: [],
  infoBytesIn: [],
  infoBytesOut: [],
  infoConnectTime: [],
  infoLastActivity: [],
  sweep: ['f64', 'f64', 'f64', 'i32'],
  sweepNext: [],
  statLive: [],
  statUsedSlots: [],
  statPendingAccept: [],
  statPaused: [],
  statQueuedEvents: [],
  statMaxClients: [],
  statOpened: [],
  statRejected: [],
  statClosed: [],
  statBytesIn: [],
  statBytesOut: [],
  statRingsInUse: [],
};
const EXPORT_NAMES = Object.keys(SIGNATURES) as ExportName[];

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
/** JS numbers aimed at i32 parameters: edges of i32, values ToInt32 wraps, non-integers, non-finite. */
const HOSTILE_NUMBERS = [
  0, -0, 1, -1, 2, INT32_MAX, INT32_MIN, 2 ** 31, 2 ** 32, 2 ** 32 + 1, -(2 ** 32), 2 ** 53, -(2 ** 53),
  0.5, -0.5, 1e300, -1e300, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity,
];
const STATUSES = new Set([
  K.ERR_STALE, K.ERR_LIMIT, K.ERR_TABLE_FULL, K.ERR_CLOSED, K.ERR_RANGE, K.END_OF_STREAM, K.ERR_OPEN,
  K.ERR_NOT_INIT, K.ERR_ALREADY_INIT, K.ERR_CONFIG_MAX_SOCKETS, K.ERR_CONFIG_MAX_CLIENTS, K.ERR_CONFIG_RX_BUFFER,
  K.ERR_CONFIG_WATERMARKS, K.ERR_CONFIG_STAGING, K.ERR_CONFIG_TOO_LARGE, K.ERR_OUT_OF_MEMORY,
  K.FRAME_PENDING, K.ERR_FRAME_TOO_LARGE, K.ERR_FRAME_TRUNCATED, K.ERR_CONFIG_FRAME,
]);

const anyI32 = fc.integer({ min: INT32_MIN, max: INT32_MAX });
const hostileNumber = fc.oneof(fc.constantFrom(...HOSTILE_NUMBERS), anyI32, fc.double());
/** f64 parameters are times and limits: every double, NaN and ±Infinity included. */
const hostileDouble = fc.oneof(fc.constantFrom(NaN, Infinity, -Infinity, -0, -1), fc.double());
const argsFor = (params: readonly Param[]): fc.Arbitrary<number[]> =>
  fc.tuple(...params.map((param) => (param === 'i32' ? hostileNumber : hostileDouble)));

const RUNS = 300 * fuzzMultiplier();
const toInt32 = (value: number): number => value | 0;

/** Calls an export as JS would; a trap surfaces as a thrown WebAssembly.RuntimeError. */
function call(x: CoreExports, name: ExportName, args: readonly number[]): number {
  return (x[name] as (...a: number[]) => number)(...args);
}

/** True for what an export may answer: a finite number that, if negative, is a known status. */
function isAnswer(result: unknown): boolean {
  return typeof result === 'number' && Number.isFinite(result) && (result >= 0 || STATUSES.has(result));
}

describe('raw exports', () => {
  it('are exactly the ones this file covers', () => {
    const functions = Object.entries(instantiateRaw()).filter(([, value]) => typeof value === 'function').map(([name]) => name);
    expect(functions.sort()).toEqual([...EXPORT_NAMES].sort());
  });

  describe('before init', () => {
    const guarded = EXPORT_NAMES.filter((name) => name !== 'layoutBytes' && name !== 'init');

    it.each(guarded)('%s answers ERR_NOT_INIT to any arguments and touches no memory', (name) => {
      const x = instantiateRaw();
      fc.assert(
        fc.property(argsFor(SIGNATURES[name]), (args) => {
          expect(call(x, name, args)).toBe(K.ERR_NOT_INIT);
        }),
        { numRuns: 50 * fuzzMultiplier() },
      );
      expect(x.memory.buffer.byteLength).toBe(0);
      expect(x.init(2, 2, 64, 48, 16, 1024, 0)).toBe(K.OK);
    });

    it('layoutBytes answers the config status or the documented byte count', () => {
      const x = instantiateRaw();
      fc.assert(
        fc.property(argsFor(SIGNATURES.layoutBytes), ([maxSockets, rxBufferSize, stagingSize]) => {
          const expected = expectedLayout(toInt32(maxSockets!), toInt32(rxBufferSize!), toInt32(stagingSize!));
          expect(x.layoutBytes(maxSockets!, rxBufferSize!, stagingSize!)).toBe(expected);
        }),
        { numRuns: RUNS },
      );
      expect(x.memory.buffer.byteLength).toBe(0);
    });

    it('init answers the config status for hostile settings and then stays uninitialised', () => {
      // Mostly hostile numbers, with plausible settings mixed in so that some inits succeed.
      const setting = fc.oneof(hostileNumber, fc.constantFrom(1, 2, 4, 16, 64, 1024, 4096));
      fc.assert(
        fc.property(fc.array(setting, { minLength: 7, maxLength: 7 }), (settings) => {
          const [maxSockets, maxClients, rxBufferSize, high, low, stagingSize] = settings.map(toInt32) as [
            number, number, number, number, number, number,
          ];
          const layout = expectedLayout(maxSockets, rxBufferSize, stagingSize);
          // A valid layout is really allocated: keep those this test creates small.
          fc.pre(layout < 256 * 2 ** 20);
          const expected = layout < 0 ? layout
            : maxClients < 1 || maxClients > maxSockets ? K.ERR_CONFIG_MAX_CLIENTS
            : low < 0 || high <= low || high > rxBufferSize ? K.ERR_CONFIG_WATERMARKS
            : K.OK;
          const x = instantiateRaw();
          expect(call(x, 'init', settings)).toBe(expected);
          if (expected === K.OK) {
            expect(call(x, 'init', settings)).toBe(K.ERR_ALREADY_INIT);
            expect([x.statMaxClients(), x.stagingSize()]).toEqual([maxClients, stagingSize]);
            expect(x.memory.buffer.byteLength).toBeGreaterThanOrEqual(layout);
          } else {
            expect(x.stagingPtr()).toBe(K.ERR_NOT_INIT);
            expect(x.memory.buffer.byteLength).toBe(0);
          }
        }),
        {
          numRuns: RUNS,
          // Both outcomes for sure, whatever the random draw: a valid config (ringOrigin −1 is
          // the u32 2^32 − 1) and each refusal that comes after the layout checks.
          examples: [[[4, 2, 64, 48, 16, 1024, -1]], [[4, 5, 64, 48, 16, 1024, 0]], [[4, 4, 64, 65, 16, 1024, 0]]],
        },
      );
    });
  });

  describe('after init', () => {
    it('init answers ERR_ALREADY_INIT to anything and changes nothing', () => {
      const fixture = populated();
      fc.assert(
        fc.property(argsFor(SIGNATURES.init), (args) => {
          expect(call(fixture.x, 'init', args)).toBe(K.ERR_ALREADY_INIT);
          expect(snapshot(fixture)).toEqual(fixture.before);
        }),
        { numRuns: RUNS },
      );
      fixture.expectIntact();
    });

    it('answers refused calls with the right status and leaves the core unchanged', () => {
      const fixture = populated();
      fc.assert(
        fc.property(refusedCall(fixture), ({ name, args, expected }) => {
          expect(call(fixture.x, name, args)).toBe(expected);
          expect(snapshot(fixture)).toEqual(fixture.before);
        }),
        { numRuns: RUNS * 4 },
      );
      fixture.expectIntact();
    });

    it('queries answer the same values to any arguments and change nothing', () => {
      const fixture = populated();
      const queries = EXPORT_NAMES.filter((name) => /^(stat|info|staging|sweepNext|layoutBytes|spanPtr)/.test(name));
      fc.assert(
        // Surplus arguments are legal in JS and must be ignored.
        fc.property(fc.constantFrom(...queries), fc.array(hostileNumber, { minLength: 3, maxLength: 5 }), (name, args) => {
          const first = call(fixture.x, name, args);
          expect(isAnswer(first)).toBe(true);
          expect(call(fixture.x, name, args)).toBe(first);
          expect(snapshot(fixture)).toEqual(fixture.before);
        }),
        { numRuns: RUNS },
      );
      fixture.expectIntact();
    });

    it('sweep answers 0, an open client or ERR_RANGE to any limits and changes nothing', () => {
      const fixture = populated();
      fc.assert(
        fc.property(argsFor(SIGNATURES.sweep), (args) => {
          const result = call(fixture.x, 'sweep', args);
          const expected = toInt32(args[3]!) < 0 ? [K.ERR_RANGE] : [0, ...fixture.open];
          expect(expected).toContain(result);
          expect(snapshot(fixture)).toEqual(fixture.before);
        }),
        { numRuns: RUNS },
      );
      fixture.expectIntact();
    });

    it('open records any f64 as the time, NaN and ±Infinity included', () => {
      const { x } = populated();
      drainRaw(x);
      for (const now of [NaN, Infinity, -Infinity, -0, Number.MAX_VALUE, -Number.MAX_VALUE]) {
        const handle = x.open(now);
        expect(handle).toBeGreaterThan(0);
        expect(x.inspect(handle)).toBe(K.OK);
        expect(Object.is(x.infoConnectTime(), now)).toBe(true);
        // sweep compares times with f64 arithmetic, as JS does: NaN never passes a limit.
        const swept: number[] = [];
        for (let found = x.sweep(Infinity, 0, 1, 0), i = 0; found > 0 && i <= MAX_SOCKETS; i++) {
          swept.push(found);
          found = x.sweep(Infinity, 0, 1, x.sweepNext());
        }
        expect(swept.includes(handle)).toBe(Infinity - now >= 1);
        x.close(handle);
        x.release(handle);
        drainRaw(x);
      }
      expect(x.statRejected()).toBe(0);
    });
  });
});

/** Static data and header: a one-slot layout minus its slot, ring, 4 events (one 64-byte line) and staging. */
const LAYOUT_FIXED_PART = instantiateRaw().layoutBytes(1, 64, 1024) - 128 - 64 - 64 - 1024;

/** What layoutBytes owes for i32 settings: a config status, or the byte count of the documented formula. */
function expectedLayout(maxSockets: number, rxBufferSize: number, stagingSize: number): number {
  if (maxSockets < 1 || maxSockets > K.MAX_SOCKETS) return K.ERR_CONFIG_MAX_SOCKETS;
  const rxPowerOfTwo = rxBufferSize > 0 && (rxBufferSize & (rxBufferSize - 1)) === 0;
  if (!rxPowerOfTwo || rxBufferSize < K.MIN_RX_BUFFER || rxBufferSize > K.MAX_RX_BUFFER) return K.ERR_CONFIG_RX_BUFFER;
  if (stagingSize < K.MIN_STAGING || stagingSize > K.MAX_STAGING || stagingSize % 16 !== 0) return K.ERR_CONFIG_STAGING;
  const alignUp = (n: number): number => Math.ceil(n / 64) * 64;
  const bytes = LAYOUT_FIXED_PART + maxSockets * (128 + rxBufferSize)
    + alignUp(8 * 2 ** Math.ceil(Math.log2(4 * maxSockets))) + stagingSize;
  return bytes > K.MAX_LAYOUT_BYTES ? K.ERR_CONFIG_TOO_LARGE : bytes;
}

interface Fixture {
  readonly x: CoreExports;
  readonly stagingPtr: number;
  readonly stagingSize: number;
  /** Open clients, closed-but-held clients, and handles of freed slots. */
  readonly open: readonly number[];
  readonly closed: readonly number[];
  readonly stale: readonly number[];
  readonly before: Snapshot;
  /** Reads every ring and drains the events, checking them against what was put in. */
  expectIntact(): void;
}

type Snapshot = Record<string, number | Record<string, number>>;

const MAX_SOCKETS = 6;

/**
 * A core with clients in every state: two open with bytes buffered (one paused), one open
 * and empty, one closed with unread bytes and DISCONNECT queued, and two freed slots whose
 * old handles are stale.
 */
function populated(): Fixture {
  const x = instantiateRaw();
  expect(x.init(MAX_SOCKETS, MAX_SOCKETS, 64, 48, 16, 1024, 0xffff_ffe0 | 0)).toBe(K.OK);
  const stagingPtr = x.stagingPtr();
  const stagingSize = x.stagingSize();
  const push = (handle: number, bytes: Uint8Array): void => {
    new Uint8Array(x.memory.buffer, stagingPtr, bytes.length).set(bytes);
    expect(x.push(handle, stagingPtr, bytes.length, 1)).toBe(bytes.length);
  };
  const stale = [x.open(0), x.open(0)];
  for (const handle of stale) {
    x.close(handle);
    x.release(handle);
  }
  drainRaw(x);
  const [paused, buffered, empty, closed] = [x.open(2), x.open(3), x.open(4), x.open(5)] as [number, number, number, number];
  push(paused, countingBytes(50, 0)); // crosses the ring end and the 2^32 wrap (origin 2^32 − 32)
  push(buffered, countingBytes(20, 100));
  push(closed, countingBytes(10, 200));
  x.recordSent(buffered, 7, 6);
  x.close(closed);
  const fixture: Fixture = {
    x, stagingPtr, stagingSize,
    open: [paused, buffered, empty], closed: [closed], stale,
    before: {},
    expectIntact() {
      // Events first: reading would resume the paused client and turn its PAUSE into RESUME.
      expect(drainRaw(x)).toEqual(([
        [K.EV_CONNECT, paused], [K.EV_CONNECT, buffered], [K.EV_CONNECT, empty], [K.EV_CONNECT, closed],
        [K.EV_RECV, paused], [K.EV_PAUSE, paused], [K.EV_RECV, buffered], [K.EV_RECV, closed],
        [K.EV_DISCONNECT, closed],
      ] as Array<[number, number]>).map(([kind, handle]) => [kind, slotOf(handle)]));
      const readAll = (handle: number): number[] => {
        const n = x.read(handle, stagingPtr, stagingSize);
        return n > 0 ? [...new Uint8Array(x.memory.buffer, stagingPtr, n)] : [n];
      };
      expect(readAll(paused)).toEqual([...countingBytes(50, 0)]);
      expect(readAll(buffered)).toEqual([...countingBytes(20, 100)]);
      expect(readAll(empty)).toEqual([0]);
      expect(readAll(closed)).toEqual([...countingBytes(10, 200)]);
      expect(readAll(closed)).toEqual([K.END_OF_STREAM]);
    },
  };
  (fixture as { before: Snapshot }).before = snapshot(fixture);
  expect(fixture.before['statPaused']).toBe(1);
  return fixture;
}

/** The table slot of a handle in a core of MAX_SOCKETS slots (its low ⌈log2 MAX_SOCKETS⌉ bits). */
function slotOf(handle: number): number {
  return handle & ((1 << Math.ceil(Math.log2(MAX_SOCKETS))) - 1);
}

/**
 * Drains the event queue as [kind, slot] pairs, unpacked from nextEvent's (slot << 3) | kind;
 * it holds at most 4 per slot, so 100 is plenty.
 */
export function drainRaw(x: CoreExports): Array<[number, number]> {
  const events: Array<[number, number]> = [];
  for (let packed = x.nextEvent(), i = 0; packed !== K.EV_NONE && i < 100; packed = x.nextEvent(), i++) {
    expect(packed).toBeGreaterThan(0);
    events.push([packed & 7, packed >> 3]);
  }
  return events;
}

/** Everything observable without changing state: counters, staging, and each held client. */
function snapshot({ x, open, closed, stale }: Fixture): Snapshot {
  const result: Snapshot = {
    stagingPtr: x.stagingPtr(),
    stagingSize: x.stagingSize(),
    memoryBytes: x.memory.buffer.byteLength,
  };
  for (const name of EXPORT_NAMES.filter((n) => n.startsWith('stat'))) result[name] = call(x, name, []);
  for (const handle of [...open, ...closed, ...stale]) {
    const status = x.inspect(handle);
    result[`client ${handle}`] = status !== K.OK ? { status } : {
      serial: x.infoSerial(), state: x.infoState(), flags: x.infoFlags(), rxUsed: x.infoRxUsed(),
      bytesIn: x.infoBytesIn(), bytesOut: x.infoBytesOut(), connectTime: x.infoConnectTime(),
      lastActivity: x.infoLastActivity(),
    };
  }
  return result;
}

interface RefusedCall {
  readonly name: ExportName;
  readonly args: number[];
  readonly expected: number;
}

/** Calls the populated core must refuse, each with the status it owes. */
function refusedCall(f: Fixture): fc.Arbitrary<RefusedCall> {
  const held = new Set([...f.open, ...f.closed]);
  const notHeld = (value: number): boolean => !held.has(toInt32(value));
  // Never issued, freed, or numbers that are no handle at all; ToInt32 may not turn them into a held one.
  const badHandle = fc.oneof(fc.constantFrom(...f.stale), hostileNumber).filter(notHeld);
  const heldHandle = fc.constantFrom(...held);
  const openHandle = fc.constantFrom(...f.open);
  const closedHandle = fc.constantFrom(...f.closed);
  const end = f.stagingPtr + f.stagingSize;
  const inStaging = (ptr: number, len: number): boolean =>
    toInt32(ptr) >= f.stagingPtr && toInt32(len) >= 0 && toInt32(ptr) + toInt32(len) <= end;
  // Just outside the staging area on every side, plus lengths that overflow, plus anything.
  const edgeRange = fc.constantFrom<[number, number]>(
    [f.stagingPtr - 1, 1], [end, 1], [end - 1, 2], [f.stagingPtr, f.stagingSize + 1], [f.stagingPtr, -1],
    [0, 0], [0, 16], [-1, 1], [f.stagingPtr + 1, INT32_MAX], [INT32_MAX, INT32_MAX], [INT32_MIN, 8],
    [f.stagingPtr, 2 ** 32 + f.stagingSize + 1], [NaN, 4],
  );
  const badRange = fc.oneof(edgeRange, fc.tuple(hostileNumber, hostileNumber)).filter(([ptr, len]) => !inStaging(ptr, len));
  const badMax = fc.oneof(fc.constantFrom(0, -1, INT32_MIN, 2 ** 32, NaN), fc.integer({ min: INT32_MIN, max: 0 }));
  const goodLength = fc.integer({ min: 0, max: f.stagingSize });
  const negative = fc.oneof(fc.constantFrom(-1, INT32_MIN, 2 ** 31, -0.5 - 2 ** 31), fc.integer({ min: INT32_MIN, max: -1 }));
  const badMaxClients = hostileNumber.filter((v) => toInt32(v) < 1 || toInt32(v) > MAX_SOCKETS);
  const stale = (name: ExportName) => (args: number[]): RefusedCall => ({ name, args, expected: K.ERR_STALE });

  return fc.oneof(
    badHandle.map((h) => stale('close')([h])),
    badHandle.map((h) => stale('release')([h])),
    badHandle.map((h) => stale('eof')([h])),
    badHandle.map((h) => stale('inspect')([h])),
    fc.tuple(badHandle, hostileNumber, hostileDouble).map(stale('recordSent')),
    fc.tuple(badHandle, hostileNumber, hostileNumber, hostileDouble).map(stale('push')),
    fc.tuple(badHandle, hostileNumber, hostileNumber).map(stale('read')),
    fc.tuple(heldHandle, negative, hostileDouble).map((args) => ({ name: 'recordSent' as const, args, expected: K.ERR_RANGE })),
    fc.tuple(heldHandle, badRange, hostileDouble).map(([h, [ptr, len], now]) => ({ name: 'push' as const, args: [h, ptr, len, now], expected: K.ERR_RANGE })),
    fc.tuple(heldHandle, badRange).map(([h, [ptr, len]]) => ({ name: 'read' as const, args: [h, ptr, len], expected: K.ERR_RANGE })),
    fc.tuple(heldHandle, badMax).map(([h, max]) => ({ name: 'read' as const, args: [h, f.stagingPtr, max], expected: K.ERR_RANGE })),
    fc.tuple(openHandle).map((args) => ({ name: 'release' as const, args, expected: K.ERR_OPEN })),
    fc.tuple(closedHandle).map((args) => ({ name: 'close' as const, args, expected: K.ERR_CLOSED })),
    fc.tuple(closedHandle).map((args) => ({ name: 'eof' as const, args, expected: K.ERR_CLOSED })),
    fc.tuple(closedHandle, fc.nat(), hostileDouble).map((args) => ({ name: 'recordSent' as const, args, expected: K.ERR_CLOSED })),
    fc.tuple(closedHandle, goodLength, hostileDouble).map(([h, len, now]) => ({ name: 'push' as const, args: [h, f.stagingPtr, len, now], expected: K.ERR_CLOSED })),
    fc.tuple(badMaxClients).map((args) => ({ name: 'setMaxClients' as const, args, expected: K.ERR_CONFIG_MAX_CLIENTS })),
    badHandle.map((h) => stale('writeSpan')([h])),
    fc.tuple(badHandle, hostileNumber).map(stale('receiveWindow')),
    fc.tuple(closedHandle, hostileNumber).map((args) => ({ name: 'receiveWindow' as const, args, expected: K.ERR_CLOSED })),
    fc.tuple(badHandle, hostileNumber, hostileNumber, hostileNumber, hostileNumber).map(stale('setFraming')),
    badHandle.map((h) => stale('nextFrameLength')([h])),
    fc.tuple(badHandle, hostileNumber, hostileNumber).map(stale('readFrame')),
    badHandle.map((h) => stale('frameSpan')([h])),
    badHandle.map((h) => stale('skipFrame')([h])),
    // The populated clients are RAW: frame calls are refused there.
    heldHandle.map((h) => ({ name: 'nextFrameLength' as const, args: [h], expected: K.ERR_CONFIG_FRAME })),
    heldHandle.map((h) => ({ name: 'frameSpan' as const, args: [h], expected: K.ERR_CONFIG_FRAME })),
    heldHandle.map((h) => ({ name: 'skipFrame' as const, args: [h], expected: K.ERR_CONFIG_FRAME })),
    fc.tuple(heldHandle, goodLength).map(([h, max]) => ({ name: 'readFrame' as const, args: [h, f.stagingPtr, max], expected: K.ERR_CONFIG_FRAME })),
    fc.tuple(heldHandle, badRange).map(([h, [ptr, len]]) => ({ name: 'readFrame' as const, args: [h, ptr, len], expected: K.ERR_RANGE })),
    // Modes outside 0..4 and framed modes with a maxFrameSize outside 1..rxBufferSize (64).
    fc.tuple(heldHandle, hostileNumber.filter((m) => toInt32(m) < 0 || toInt32(m) > 4), hostileNumber, hostileNumber, hostileNumber)
      .map((args) => ({ name: 'setFraming' as const, args, expected: K.ERR_CONFIG_FRAME })),
    fc.tuple(heldHandle, fc.constantFrom(1, 2, 3), fc.constantFrom(1, 2, 4), fc.constantFrom(0, 1), hostileNumber.filter((m) => toInt32(m) < 1 || toInt32(m) > 64))
      .map(([h, mode, p1, p2, max]) => ({ name: 'setFraming' as const, args: [h, mode, mode === 2 ? f.stagingPtr : p1, p2, max], expected: K.ERR_CONFIG_FRAME })),
    badHandle.map((h) => stale('readSpan')([h])),
    fc.tuple(badHandle, hostileNumber, hostileDouble).map(stale('commit')),
    fc.tuple(badHandle, hostileNumber).map(stale('consume')),
    fc.tuple(closedHandle).map((args) => ({ name: 'writeSpan' as const, args, expected: K.ERR_CLOSED })),
    fc.tuple(closedHandle, hostileNumber, hostileDouble).map((args) => ({ name: 'commit' as const, args, expected: K.ERR_CLOSED })),
    // More than the contiguous room (rings are 64 B), or negative.
    fc.tuple(openHandle, fc.oneof(negative, fc.integer({ min: 65, max: INT32_MAX })), hostileDouble)
      .map((args) => ({ name: 'commit' as const, args, expected: K.ERR_RANGE })),
    // Zero, negative, or more than is buffered in one piece.
    fc.tuple(heldHandle, fc.oneof(fc.constantFrom(0, NaN), negative, fc.integer({ min: 65, max: INT32_MAX })))
      .map((args) => ({ name: 'consume' as const, args, expected: K.ERR_RANGE })),
  );
}

// ── Framing ──────────────────────────────────────────────────────────────────
// The framing exports (assembly/framing.ts) driven directly, in both builds: the debug build's
// asserts (event queue bound, counters, ring fill) must hold through every sequence.

const MODE = { raw: 0, line: 1, delimiter: 2, length: 3, fixed: 4 } as const;
const RX = 64;

/** One open client in a fresh core, with the raw calls the framing tests need. */
class FramedClient {
  readonly x: CoreExports;
  readonly h: number;
  readonly staging: number;

  constructor(debug: boolean, ringOrigin = 0, rxBufferSize = RX) {
    this.x = instantiateRaw(debug);
    expect(this.x.init(2, 2, rxBufferSize, (rxBufferSize * 3) / 4, rxBufferSize / 4, 1024, ringOrigin | 0)).toBe(K.OK);
    this.staging = this.x.stagingPtr();
    this.h = this.x.open(0);
    expect(this.x.accept()).toBe(this.h);
    expect(this.kinds()).toEqual([K.EV_CONNECT]);
  }

  /** Pushes as much of `data` as fits: the count taken. */
  push(data: Uint8Array | string): number {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    new Uint8Array(this.x.memory.buffer, this.staging, bytes.length).set(bytes);
    return this.x.push(this.h, this.staging, bytes.length, 1);
  }

  /** Pushes `data` one byte per call. */
  trickle(data: string): void {
    for (const byte of Buffer.from(data, 'latin1')) expect(this.push(Uint8Array.of(byte))).toBe(1);
  }

  line(maxFrameSize = RX): number {
    return this.x.setFraming(this.h, MODE.line, 0, 0, maxFrameSize);
  }

  delimiter(delimiter: string, maxFrameSize = RX): number {
    const bytes = Buffer.from(delimiter, 'latin1');
    new Uint8Array(this.x.memory.buffer, this.staging, bytes.length).set(bytes);
    return this.x.setFraming(this.h, MODE.delimiter, this.staging, bytes.length, maxFrameSize);
  }

  length(headerBytes: number, littleEndian: boolean, maxFrameSize = RX): number {
    return this.x.setFraming(this.h, MODE.length, headerBytes, littleEndian ? 1 : 0, maxFrameSize);
  }

  fixed(size: number): number {
    return this.x.setFraming(this.h, MODE.fixed, size, 0, size);
  }

  /** One readFrame: the payload as a latin1 string, or the status. */
  frame(max = 1024): string | number {
    const n = this.x.readFrame(this.h, this.staging, max);
    return n < 0 ? n : Buffer.from(this.x.memory.buffer, this.staging, n).toString('latin1');
  }

  /** readFrame until a status: every payload, then that status. */
  frames(limit = 1000): Array<string | number> {
    const got: Array<string | number> = [];
    for (let i = 0; i < limit; i++) {
      const f = this.frame();
      got.push(f);
      if (typeof f === 'number') return got;
    }
    throw new Error(`more than ${limit} frames`);
  }

  /** Raw read of up to `max` bytes as latin1, or the status. */
  read(max: number): string | number {
    const n = this.x.read(this.h, this.staging, max);
    return n <= 0 ? n : Buffer.from(this.x.memory.buffer, this.staging, n).toString('latin1');
  }

  /** Drained event kinds (all for this one client). */
  kinds(): number[] {
    return drainRaw(this.x).map(([kind]) => kind);
  }

  rxUsed(): number {
    expect(this.x.inspect(this.h)).toBe(K.OK);
    return this.x.infoRxUsed();
  }
}

const BUILDS = [['release', false], ['debug', true]] as const;

describe.each(BUILDS)('framing (%s build)', (_build, debug) => {
  const client = (ringOrigin = 0, rx = RX): FramedClient => new FramedClient(debug, ringOrigin, rx);

  describe('LINE', () => {
    it('cuts lines pushed one byte at a time, dropping one \\r before \\n, with empty lines as 0-byte frames', () => {
      const c = client();
      expect(c.line()).toBe(K.OK);
      c.trickle('hello\r\nwor');
      expect(c.frames()).toEqual(['hello', K.FRAME_PENDING]);
      c.trickle('ld\n\n\r\na\rb\r\r\n');
      expect(c.frames()).toEqual(['world', '', '', 'a\rb\r', K.FRAME_PENDING]);
      expect(c.rxUsed()).toBe(0);
    });

    it('queues RECV only once a whole line is buffered (a trickled half line wakes nobody)', () => {
      const c = client();
      c.line();
      c.trickle('partial');
      expect(c.kinds()).toEqual([]);
      c.push('\r');
      expect(c.kinds()).toEqual([]);
      c.push('\n');
      expect(c.kinds()).toEqual([K.EV_RECV]);
      c.push('more\n'); // RECV already drained: a second complete line queues one again
      expect(c.kinds()).toEqual([K.EV_RECV]);
      expect(c.frames()).toEqual(['partial', 'more', K.FRAME_PENDING]);
    });

    it('finds a line whose bytes and \\r\\n straddle the ring end and the 2^32 position wrap', () => {
      for (let origin = 2 ** 32 - 70; origin <= 2 ** 32 + 3; origin++) {
        const c = client(origin);
        c.line();
        c.push('x'.repeat(40)); // the ring's fill starts at origin & 63
        expect(c.read(40)).toBe('x'.repeat(40));
        c.push('abcdefghijklmnopqrstu\r');
        c.push('\nvw\n');
        expect(c.frames()).toEqual(['abcdefghijklmnopqrstu', 'vw', K.FRAME_PENDING]);
      }
    });

    it('reports a too-long line as ERR_FRAME_TOO_LARGE for as long as it holds, consuming nothing', () => {
      const c = client();
      c.line(8);
      c.push('12345678\r'); // max + 1 bytes without \n: could still be a line of 8 and \r
      expect(c.x.nextFrameLength(c.h)).toBe(K.FRAME_PENDING);
      expect(c.kinds()).toEqual([]);
      c.push('9');
      expect(c.kinds()).toEqual([K.EV_RECV]);
      expect(c.frames()).toEqual([K.ERR_FRAME_TOO_LARGE]);
      expect(c.x.nextFrameLength(c.h)).toBe(K.ERR_FRAME_TOO_LARGE);
      expect(c.rxUsed()).toBe(10);

      const d = client();
      d.line(8);
      d.push('123456789\n'); // a \n found with 9 > 8 payload bytes before it
      expect(d.frames()).toEqual([K.ERR_FRAME_TOO_LARGE]);
      const e = client();
      e.line(8);
      e.push('12345678\r\n');
      expect(e.frames()).toEqual(['12345678', K.FRAME_PENDING]);
    });

    it('reports a full ring without a line as too large even when maxFrameSize is the ring size', () => {
      const c = client();
      c.line(RX);
      expect(c.push('y'.repeat(RX - 1))).toBe(RX - 1);
      expect(c.x.nextFrameLength(c.h)).toBe(K.FRAME_PENDING);
      c.kinds();
      expect(c.push('yy')).toBe(1);
      expect(c.kinds()).toEqual([K.EV_RECV, K.EV_PAUSE]);
      expect(c.x.nextFrameLength(c.h)).toBe(K.ERR_FRAME_TOO_LARGE);
    });

    it('returns the unterminated rest as a last frame at end of stream, then END_OF_STREAM', () => {
      const c = client();
      c.line(8);
      c.push('one\ntwo\r');
      expect(c.x.eof(c.h)).toBe(K.OK);
      expect(c.kinds()).toEqual([K.EV_RECV]);
      expect(c.frames()).toEqual(['one', 'two\r', K.END_OF_STREAM]);
      const d = client();
      d.line(8);
      d.push('123456789');
      d.x.eof(d.h);
      expect(d.frames()).toEqual([K.ERR_FRAME_TOO_LARGE]);
      const e = client();
      e.line();
      e.x.close(e.h); // a closed client ends its stream too
      expect(e.frames()).toEqual([K.END_OF_STREAM]);
    });
  });

  describe('DELIMITER', () => {
    it('finds a multi-byte delimiter split at every position across pushes', () => {
      const stream = 'GET<CRLF>x<CRLF><CRLF>tail';
      for (let cut = 0; cut <= stream.length; cut++) {
        const c = client();
        expect(c.delimiter('<CRLF>')).toBe(K.OK);
        c.push(stream.slice(0, cut));
        c.push(stream.slice(cut));
        expect(c.frames()).toEqual(['GET', 'x', '', K.FRAME_PENDING]);
      }
    });

    it('scans left to right without overlap, pushed one byte at a time', () => {
      const c = client();
      c.delimiter('aab');
      c.trickle('aaabaab');
      expect(c.frames()).toEqual(['a', '', K.FRAME_PENDING]);
      const d = client();
      d.delimiter('aba');
      d.trickle('ababa');
      expect(d.frames()).toEqual(['', K.FRAME_PENDING]);
      d.x.eof(d.h);
      expect(d.frames()).toEqual(['ba', K.END_OF_STREAM]);
    });

    it('finds a delimiter that straddles the ring end (16 bytes, the longest)', () => {
      const delimiter = '0123456789ABCDEF';
      for (let origin = 2 ** 32 - 64; origin < 2 ** 32; origin += 3) {
        const c = client(origin);
        c.delimiter(delimiter);
        c.push('z'.repeat(30));
        expect(c.read(30)).toBe('z'.repeat(30));
        c.trickle(`payload${delimiter}p2${delimiter}`);
        expect(c.frames()).toEqual(['payload', 'p2', K.FRAME_PENDING]);
      }
    });

    it('is too large with a long payload before the delimiter or max + length bytes without one', () => {
      const c = client();
      c.delimiter('||', 4);
      c.push('abcd|'); // max + length − 1 bytes: "abcd||" would still be a frame
      expect(c.frames()).toEqual([K.FRAME_PENDING]);
      c.push('x');
      expect(c.frames()).toEqual([K.ERR_FRAME_TOO_LARGE]);
      const d = client();
      d.delimiter('||', 4);
      d.push('abcdef');
      expect(d.frames()).toEqual([K.ERR_FRAME_TOO_LARGE]);
      const e = client();
      e.delimiter('||', 4);
      e.push('abcd||');
      expect(e.frames()).toEqual(['abcd', K.FRAME_PENDING]);
    });
  });

  describe('LENGTH', () => {
    const header = (bytes: number, value: number, littleEndian: boolean): Buffer => {
      const b = Buffer.alloc(bytes);
      b.writeUIntBE(value, 0, bytes);
      if (littleEndian) b.reverse();
      return b;
    };

    it.each([[1, false], [2, false], [4, false], [2, true], [4, true]])(
      'cuts %i-byte headers (little-endian %s) pushed one byte at a time, 0-length frames included',
      (bytes, littleEndian) => {
        const c = client();
        expect(c.length(bytes, littleEndian)).toBe(K.OK);
        const stream = Buffer.concat([
          header(bytes, 3, littleEndian), Buffer.from('abc'), header(bytes, 0, littleEndian),
          header(bytes, 5, littleEndian), Buffer.from('\n\r\0xy'),
        ]);
        const got: Array<string | number> = [];
        for (const byte of stream) {
          c.push(Uint8Array.of(byte));
          for (let f = c.frame(); f !== K.FRAME_PENDING; f = c.frame()) got.push(f);
        }
        expect(got).toEqual(['abc', '', '\n\r\0xy']);
      },
    );

    it('reports a header announcing more than maxFrameSize at once, before its payload', () => {
      const c = client();
      c.length(2, false, 10);
      c.push(Uint8Array.of(0));
      expect(c.kinds()).toEqual([]);
      c.push(Uint8Array.of(11));
      expect(c.kinds()).toEqual([K.EV_RECV]);
      expect(c.frames()).toEqual([K.ERR_FRAME_TOO_LARGE]);
      expect(c.rxUsed()).toBe(2);
      const d = client();
      d.length(4, false, RX);
      d.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff)); // 2^32 − 1: compared unsigned
      expect(d.frames()).toEqual([K.ERR_FRAME_TOO_LARGE]);
    });

    it('reports a frame that cannot fit the ring (header + payload > rxBufferSize) once the ring is full', () => {
      const c = client();
      c.length(1, false, RX);
      c.push(Uint8Array.of(RX)); // needs 1 + 64 bytes
      c.push('p'.repeat(62));
      expect(c.frames()).toEqual([K.FRAME_PENDING]);
      c.push('pp');
      expect(c.rxUsed()).toBe(RX);
      expect(c.frames()).toEqual([K.ERR_FRAME_TOO_LARGE]);
    });

    it('finds headers split across the ring end', () => {
      for (let origin = 2 ** 32 - 64; origin < 2 ** 32; origin++) {
        const c = client(origin);
        c.length(4, true);
        c.push('q'.repeat(20));
        expect(c.read(20)).toBe('q'.repeat(20));
        c.push(Buffer.concat([header(4, 6, true), Buffer.from('abcdef'), header(4, 1, true), Buffer.from('g')]));
        expect(c.frames()).toEqual(['abcdef', 'g', K.FRAME_PENDING]);
      }
    });

    it('ends with ERR_FRAME_TRUNCATED inside a header or a payload, leaving the bytes counted', () => {
      const c = client();
      c.length(2, false);
      c.push(Buffer.concat([header(2, 2, false), Buffer.from('ok'), header(2, 9, false), Buffer.from('abc')]));
      c.x.eof(c.h);
      expect(c.frames()).toEqual(['ok', K.ERR_FRAME_TRUNCATED]);
      expect(c.rxUsed()).toBe(5);
      const d = client();
      d.length(4, false);
      d.push(Uint8Array.of(0));
      d.x.eof(d.h);
      expect(d.frames()).toEqual([K.ERR_FRAME_TRUNCATED]);
      expect(d.rxUsed()).toBe(1);
      const e = client();
      e.length(1, false);
      e.push(Uint8Array.of(1, 65));
      e.x.eof(e.h);
      expect(e.frames()).toEqual(['A', K.END_OF_STREAM]);
    });
  });

  describe('FIXED', () => {
    it('cuts frames of exactly size bytes pushed one at a time, truncated at end of stream', () => {
      const c = client();
      expect(c.fixed(3)).toBe(K.OK);
      c.trickle('abcdefg');
      expect(c.frames()).toEqual(['abc', 'def', K.FRAME_PENDING]);
      c.x.eof(c.h);
      expect(c.frames()).toEqual([K.ERR_FRAME_TRUNCATED]);
      expect(c.rxUsed()).toBe(1);
      const d = client();
      d.fixed(RX);
      d.push('F'.repeat(RX));
      expect(d.frames()).toEqual(['F'.repeat(RX), K.FRAME_PENDING]);
    });
  });

  describe('switching modes', () => {
    it('re-reads buffered bytes from the current position under the new mode', () => {
      const c = client();
      c.push('ab\n'); // RAW: RECV for the bytes
      c.push(Uint8Array.of(0, 2));
      c.push('xyz');
      expect(c.kinds()).toEqual([K.EV_RECV]);
      expect(c.read(1)).toBe('a');
      c.line();
      expect(c.kinds()).toEqual([K.EV_RECV]); // a complete line is buffered
      expect(c.frame()).toBe('b');
      c.length(2, false);
      expect(c.frames()).toEqual(['xy', K.FRAME_PENDING]);
      expect(c.rxUsed()).toBe(1);
    });

    it('keeps every byte exactly once across LINE → LENGTH → FIXED → RAW mid-stream', () => {
      const c = client();
      c.push('line one\n');
      c.push(Uint8Array.of(3));
      c.push('LENfixd');
      c.line();
      expect(c.frame()).toBe('line one');
      expect(c.frame()).toBe(K.FRAME_PENDING); // "\x03LENfixd" has no \n
      c.length(1, false);
      expect(c.frame()).toBe('LEN');
      c.fixed(2);
      expect(c.frame()).toBe('fi');
      expect(c.x.setFraming(c.h, MODE.raw, 123, 456, -7)).toBe(K.OK); // RAW ignores its parameters
      expect(c.x.nextFrameLength(c.h)).toBe(K.ERR_CONFIG_FRAME);
      expect(c.read(64)).toBe('xd');
    });

    it('follows raw reads: a scan the head passed restarts there, a partial header read away restarts the header', () => {
      const c = client();
      c.delimiter('##');
      c.push('abc#');
      expect(c.frame()).toBe(K.FRAME_PENDING);
      expect(c.read(4)).toBe('abc#'); // the half delimiter is gone with the read
      c.push('#x##');
      expect(c.frames()).toEqual(['#x', K.FRAME_PENDING]);
      const d = client();
      d.length(2, false);
      d.push(Uint8Array.of(0));
      expect(d.read(1)).toBe('\0');
      d.push(Uint8Array.of(0, 1, 90));
      expect(d.frames()).toEqual(['Z', K.FRAME_PENDING]);
    });

    it('queues RECV on a switch only when the new mode has something to report', () => {
      const c = client();
      c.line();
      c.push('half');
      expect(c.kinds()).toEqual([]);
      c.delimiter('z');
      expect(c.kinds()).toEqual([]);
      c.fixed(4);
      expect(c.kinds()).toEqual([K.EV_RECV]);
      c.line();
      expect(c.kinds()).toEqual([]);
      c.x.setFraming(c.h, MODE.raw, 0, 0, 0);
      expect(c.kinds()).toEqual([K.EV_RECV]);
    });
  });

  describe('flow control', () => {
    it('framed: pauses only when the ring is full and resumes once a read frees any room', () => {
      const c = client();
      c.line();
      c.push('w'.repeat(60)); // above the high watermark (48): RAW would have paused
      expect(c.kinds()).toEqual([]);
      c.push('ww\n!');
      expect(c.kinds()).toEqual([K.EV_RECV, K.EV_PAUSE]);
      expect(c.x.statPaused()).toBe(1);
      expect(c.frame(62)).toBe('w'.repeat(62));
      expect(c.kinds()).toEqual([K.EV_RESUME]);
      expect(c.x.statPaused()).toBe(0);
    });

    it('re-evaluates on a mode switch: RAW above the high watermark pauses, framed below full resumes', () => {
      const c = client();
      c.line();
      c.push('r'.repeat(50));
      expect(c.kinds()).toEqual([]);
      c.x.setFraming(c.h, MODE.raw, 0, 0, 0);
      expect(c.kinds()).toEqual([K.EV_PAUSE, K.EV_RECV]); // a switch queues flow first, then RECV
      c.line();
      expect(c.kinds()).toEqual([K.EV_RESUME]);
      c.push('r'.repeat(14));
      expect(c.kinds()).toEqual([K.EV_RECV, K.EV_PAUSE]); // full, no line: too large
      c.fixed(32);
      expect(c.kinds()).toEqual([K.EV_RECV]); // still full: stays paused
      expect(c.frame()).toBe('r'.repeat(32));
      expect(c.kinds()).toEqual([K.EV_RESUME]);
      expect(c.x.statPaused()).toBe(0);
    });
  });

  describe('hostile arguments', () => {
    it('refuses a bad handle with ERR_STALE in every framing export', () => {
      const c = client();
      const stale = c.x.open(0);
      c.x.close(stale);
      c.x.release(stale);
      c.kinds();
      for (const h of [stale, 0, -1, 2 ** 31, 12345]) {
        expect(c.x.setFraming(h, MODE.line, 0, 0, 8)).toBe(K.ERR_STALE);
        expect(c.x.nextFrameLength(h)).toBe(K.ERR_STALE);
        expect(c.x.readFrame(h, c.staging, 8)).toBe(K.ERR_STALE);
        expect(c.x.frameSpan(h)).toBe(K.ERR_STALE);
        expect(c.x.skipFrame(h)).toBe(K.ERR_STALE);
      }
    });

    it('refuses bad framing settings with ERR_CONFIG_FRAME and keeps the mode it had', () => {
      const c = client();
      c.delimiter(';', 8);
      c.push('a;b\nc;');
      const bad: Array<[number, number, number, number]> = [
        [5, 0, 0, 8], [-1, 0, 0, 8], [2 ** 31, 0, 0, 8], [255, 0, 0, 8],
        [MODE.line, 0, 0, 0], [MODE.line, 0, 0, RX + 1], [MODE.line, 0, 0, -1],
        [MODE.delimiter, c.staging, 0, 8], [MODE.delimiter, c.staging, 17, 8], [MODE.delimiter, c.staging, -1, 8],
        [MODE.delimiter, c.staging, 2, 0],
        [MODE.length, 3, 0, 8], [MODE.length, 0, 0, 8], [MODE.length, 8, 0, 8], [MODE.length, 2, 2, 8], [MODE.length, 2, 0, RX + 1],
        [MODE.fixed, 0, 0, 1], [MODE.fixed, RX + 1, 0, RX + 1], [MODE.fixed, -1, 0, 1],
      ];
      for (const [mode, p1, p2, max] of bad) {
        expect([mode, p1, p2, max, c.x.setFraming(c.h, mode, p1, p2, max)]).toEqual([mode, p1, p2, max, K.ERR_CONFIG_FRAME]);
      }
      expect(c.x.setFraming(c.h, MODE.delimiter, 0, 2, 8)).toBe(K.ERR_RANGE); // delimiter not in staging
      expect(c.x.setFraming(c.h, MODE.delimiter, c.staging + 1023, 2, 8)).toBe(K.ERR_RANGE);
      expect(c.frames()).toEqual(['a', 'b\nc', K.FRAME_PENDING]);
    });

    it('readFrame refuses a destination outside staging or shorter than the payload, consuming nothing', () => {
      const c = client();
      c.line();
      c.push('abcd\n');
      expect(c.x.readFrame(c.h, c.staging, 3)).toBe(K.ERR_RANGE);
      expect(c.x.readFrame(c.h, c.staging - 1, 8)).toBe(K.ERR_RANGE);
      expect(c.x.readFrame(c.h, c.staging + 1020, 8)).toBe(K.ERR_RANGE);
      expect(c.x.readFrame(c.h, c.staging, -1)).toBe(K.ERR_RANGE);
      expect(c.rxUsed()).toBe(5);
      expect(c.x.readFrame(c.h, c.staging + 1020, 4)).toBe(4);
      c.push('\n');
      expect(c.x.readFrame(c.h, c.staging + 1024, 0)).toBe(0); // an empty frame into no room at the end
    });

    it('answers ERR_CONFIG_FRAME to frame calls in RAW mode and changes nothing', () => {
      const c = client();
      c.push('raw\n');
      expect([c.x.nextFrameLength(c.h), c.x.readFrame(c.h, c.staging, 8), c.x.frameSpan(c.h), c.x.skipFrame(c.h)])
        .toEqual([K.ERR_CONFIG_FRAME, K.ERR_CONFIG_FRAME, K.ERR_CONFIG_FRAME, K.ERR_CONFIG_FRAME]);
      expect(c.read(8)).toBe('raw\n');
    });

    it('a closed, unreleased client can switch modes and read its frames; no event follows its DISCONNECT', () => {
      const c = client();
      c.push('a\nb');
      c.x.close(c.h);
      expect(c.kinds()).toEqual([K.EV_RECV, K.EV_DISCONNECT]);
      expect(c.line()).toBe(K.OK);
      expect(c.kinds()).toEqual([]);
      expect(c.frames()).toEqual(['a', 'b', K.END_OF_STREAM]);
      expect(c.x.release(c.h)).toBe(K.OK);
      expect(c.x.setFraming(c.h, MODE.line, 0, 0, 8)).toBe(K.ERR_STALE);
    });
  });

  describe('frameSpan / skipFrame', () => {
    it('give the payload in place, in two pieces when it wraps, and consume the frame', () => {
      const c = client(60); // the ring's fill starts 4 bytes before its end
      c.length(1, false);
      c.push(Uint8Array.of(6));
      c.push('abcdef');
      expect(c.x.nextFrameLength(c.h)).toBe(6);
      const first = c.x.frameSpan(c.h);
      expect(first).toBe(3); // after the header, 3 bytes to the ring's end
      const ptr = c.x.spanPtr();
      const mem = Buffer.from(c.x.memory.buffer);
      expect(mem.toString('latin1', ptr, ptr + first)).toBe('abc');
      const rest = ptr + first - RX;
      expect(mem.toString('latin1', rest, rest + 3)).toBe('def');
      expect(c.rxUsed()).toBe(7);
      expect(c.x.skipFrame(c.h)).toBe(6);
      expect(c.rxUsed()).toBe(0);
      expect(c.x.frameSpan(c.h)).toBe(K.FRAME_PENDING);
      expect(c.x.skipFrame(c.h)).toBe(K.FRAME_PENDING);
    });
  });

  describe('random chunkings', () => {
    /** Pushes `stream` in `chunks` sizes, reading frames whenever one is whole; checks RECV is queued exactly when a frame is. */
    function run(c: FramedClient, stream: Uint8Array, chunks: number[]): Array<string | number> {
      const got: Array<string | number> = [];
      const drainFrames = (): void => {
        for (let f = c.frame(); f !== K.FRAME_PENDING; f = c.frame()) {
          got.push(f);
          if (typeof f === 'number') throw new Error(`status ${f} before end of stream`);
        }
      };
      let at = 0;
      for (let i = 0; at < stream.length && i < 100_000; i++) {
        const size = Math.min(chunks[i % chunks.length]!, stream.length - at);
        const taken = c.push(stream.subarray(at, at + size));
        expect(taken).toBeGreaterThanOrEqual(0);
        at += taken;
        const recv = c.kinds().includes(K.EV_RECV);
        expect(recv).toBe(c.x.nextFrameLength(c.h) !== K.FRAME_PENDING);
        drainFrames();
      }
      expect(at).toBe(stream.length);
      c.x.eof(c.h);
      for (let f = c.frame(), i = 0; i < 1000; f = c.frame(), i++) {
        got.push(f);
        if (typeof f === 'number') break;
      }
      return got;
    }

    const origin = fc.integer({ min: 2 ** 32 - 200, max: 2 ** 32 + 200 });
    const chunks = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 });
    const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

    it('LINE matches a plain split on \\n (one \\r dropped, the rest as a last frame)', () => {
      const text = fc.array(fc.constantFrom('a', 'b', '\r', '\n', '\n', 'é'), { maxLength: 300 }).map((a) => a.join(''));
      fc.assert(fc.property(origin, chunks, text, (o, sizes, t) => {
        const stream = Buffer.from(t, 'latin1');
        // Only streams whose lines fit: every line ≤ 20 bytes holds in a 64-byte ring.
        fc.pre(t.split('\n').every((line) => line.length <= 20));
        const pieces = t.split('\n');
        const last = pieces.pop()!;
        const expected: Array<string | number> = pieces.map((p) => (p.endsWith('\r') ? p.slice(0, -1) : p));
        if (last !== '') expected.push(last);
        expected.push(K.END_OF_STREAM);
        const c = client(o);
        c.line();
        expect(run(c, stream, sizes)).toEqual(expected);
      }), { numRuns: 100 * fuzzMultiplier() });
    });

    it('DELIMITER matches a left-to-right indexOf split', () => {
      const delimiter = fc.array(fc.constantFrom(0x61, 0x62, 0x0a), { minLength: 1, maxLength: 4 }).map((a) => Buffer.from(a));
      const bytes = fc.array(fc.constantFrom(0x61, 0x62, 0x0a, 0x63), { maxLength: 300 }).map((a) => Buffer.from(a));
      fc.assert(fc.property(origin, chunks, delimiter, bytes, (o, sizes, d, stream) => {
        const expected: Array<string | number> = [];
        let from = 0;
        for (let i = stream.indexOf(d, from); i >= 0; i = stream.indexOf(d, from)) {
          expected.push(latin1(stream.subarray(from, i)));
          from = i + d.length;
        }
        if (from < stream.length) expected.push(latin1(stream.subarray(from)));
        fc.pre(expected.every((p) => typeof p === 'string' && p.length <= 20));
        expected.push(K.END_OF_STREAM);
        const c = client(o);
        expect(c.delimiter(latin1(d))).toBe(K.OK);
        expect(run(c, stream, sizes)).toEqual(expected);
      }), { numRuns: 100 * fuzzMultiplier() });
    });

    it('LENGTH returns every payload for every header size and byte order, truncated tails included', () => {
      const settings = fc.tuple(fc.constantFrom(1, 2, 4), fc.boolean());
      const payloads = fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 30 });
      fc.assert(fc.property(origin, chunks, settings, payloads, fc.nat(3), (o, sizes, [bytes, le], frames, cut) => {
        const encoded = frames.map((p) => {
          const hdr = Buffer.alloc(bytes);
          hdr.writeUIntBE(p.length, 0, bytes);
          if (le) hdr.reverse();
          return Buffer.concat([hdr, p]);
        });
        let stream = Buffer.concat(encoded);
        const expected: Array<string | number> = frames.map(latin1);
        if (cut > 0 && encoded.length > 0) {
          // Cut the last frame short: it ends the stream truncated.
          const lastLength = encoded[encoded.length - 1]!.length;
          stream = stream.subarray(0, stream.length - Math.min(cut, lastLength));
          expected.pop();
          expected.push(K.ERR_FRAME_TRUNCATED);
        } else {
          expected.push(K.END_OF_STREAM);
        }
        if (expected.at(-1) === K.ERR_FRAME_TRUNCATED && stream.length === Buffer.concat(encoded.slice(0, -1)).length) {
          expected[expected.length - 1] = K.END_OF_STREAM; // the whole last frame was cut away
        }
        const c = client(o);
        c.length(bytes, le);
        expect(run(c, stream, sizes)).toEqual(expected);
      }), { numRuns: 100 * fuzzMultiplier() });
    });

    it('FIXED returns size-byte frames and a truncated remainder', () => {
      fc.assert(fc.property(origin, chunks, fc.integer({ min: 1, max: RX }), fc.uint8Array({ maxLength: 400 }), (o, sizes, size, stream) => {
        const expected: Array<string | number> = [];
        for (let i = 0; i + size <= stream.length; i += size) expected.push(latin1(stream.subarray(i, i + size)));
        expected.push(stream.length % size === 0 ? K.END_OF_STREAM : K.ERR_FRAME_TRUNCATED);
        const c = client(o);
        c.fixed(size);
        expect(run(c, stream, sizes)).toEqual(expected);
      }), { numRuns: 100 * fuzzMultiplier() });
    });
  });
});

describe.each(BUILDS)('receiveWindow (%s build)', (_build, debug) => {
  /** [address, length] unpacked from receiveWindow's length · 2^31 + address. */
  const unpack = (packed: number): [number, number] => {
    const length = Math.floor(packed / 2 ** 31);
    return [packed - length * 2 ** 31, length];
  };

  it('is the ring at its tail when the span is all the room or at least minWindow, else staging sized to the room', () => {
    const c = new FramedClient(debug, 58);
    expect(c.push('XY')).toBe(2); // the ring's tail is now 4 bytes before its end
    const [ringAt, whole] = unpack(c.x.receiveWindow(c.h, 0));
    expect(whole).toBe(4);
    expect(unpack(c.x.receiveWindow(c.h, 4096))).toEqual([c.staging, RX - 2]);
    // What the kernel would write: 4 bytes into the ring span, then 10 at the ring's start.
    expect(unpack(c.x.receiveWindow(c.h, 0))).toEqual([ringAt, 4]);
    new Uint8Array(c.x.memory.buffer, ringAt, 4).set(Buffer.from('abcd'));
    expect(c.x.commit(c.h, 4, 1)).toBe(4);
    const [next, length] = unpack(c.x.receiveWindow(c.h, 4));
    expect([next, length]).toEqual([ringAt + 4 - RX, RX - 6]); // the ring's start: all the room left
    new Uint8Array(c.x.memory.buffer, next, 10).set(Buffer.from('efghijklmn'));
    expect(c.x.commit(c.h, 10, 1)).toBe(10);
    expect(c.read(64)).toBe('XYabcdefghijklmn');
  });

  it('is staging for an empty ring (no buffer is lent for a read that may come much later), and for a ring holding fewer than minWindow bytes', () => {
    const c = new FramedClient(debug);
    expect(unpack(c.x.receiveWindow(c.h, 4))).toEqual([c.staging, RX]);
    expect(c.x.statRingsInUse()).toBe(0);
    c.push('abc');
    expect(unpack(c.x.receiveWindow(c.h, 4))).toEqual([c.staging, RX - 3]);
    c.push('d');
    expect(unpack(c.x.receiveWindow(c.h, 4))[0]).not.toBe(c.staging);
  });

  it('answers 0 for a full ring and ERR_CLOSED after eof or close', () => {
    const c = new FramedClient(debug);
    expect(c.push('f'.repeat(RX))).toBe(RX);
    expect(c.x.receiveWindow(c.h, 0)).toBe(0);
    c.read(1);
    expect(unpack(c.x.receiveWindow(c.h, 0))[1]).toBe(1);
    c.x.eof(c.h);
    expect(c.x.receiveWindow(c.h, 0)).toBe(K.ERR_CLOSED);
    const d = new FramedClient(debug);
    d.x.close(d.h);
    expect(d.x.receiveWindow(d.h, 0)).toBe(K.ERR_CLOSED);
  });

  it('caps a window at 2 MiB so the packing stays exact', () => {
    const c = new FramedClient(debug, 0, 2 ** 22);
    c.push('a'); // a ring window needs a buffer lent to the slot
    const [address, length] = unpack(c.x.receiveWindow(c.h, 0));
    expect(length).toBe(2 ** 21);
    expect(Number.isInteger(address) && address > 0 && address + length <= c.x.memory.buffer.byteLength).toBe(true);
  });
});

// ── Ring pool ────────────────────────────────────────────────────────────────
// Rings are lent from a pool (assembly/pool.ts): a slot holds a buffer only while its ring has
// bytes or a window is out on it, and an emptied ring's buffer is the next one lent.

/** A core of `sockets` slots with RX-byte rings, every client open, and where its buffers start. */
class PoolCore {
  readonly x: CoreExports;
  readonly staging: number;
  readonly handles: number[];
  /** Address of buffer 0: the rings section sits right before the event queue and staging. */
  readonly ringsStart: number;

  constructor(debug: boolean, readonly sockets: number, ringOrigin = 0) {
    this.x = instantiateRaw(debug);
    expect(this.x.init(sockets, sockets, RX, (RX * 3) / 4, RX / 4, 1024, ringOrigin | 0)).toBe(K.OK);
    this.staging = this.x.stagingPtr();
    const events = Math.ceil((8 * 2 ** Math.ceil(Math.log2(4 * sockets))) / 64) * 64;
    this.ringsStart = this.staging - events - sockets * RX;
    this.handles = Array.from({ length: sockets }, () => this.x.open(0));
    drainRaw(this.x);
  }

  push(handle: number, data: Uint8Array | string): number {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    new Uint8Array(this.x.memory.buffer, this.staging, bytes.length).set(bytes);
    return this.x.push(handle, this.staging, bytes.length, 1);
  }

  read(handle: number, max = 1024): string | number {
    const n = this.x.read(handle, this.staging, max);
    return n <= 0 ? n : Buffer.from(this.x.memory.buffer, this.staging, n).toString('latin1');
  }

  frame(handle: number): string | number {
    const n = this.x.readFrame(handle, this.staging, 1024);
    return n < 0 ? n : Buffer.from(this.x.memory.buffer, this.staging, n).toString('latin1');
  }

  /** The buffer (0 … sockets − 1) whose bytes readSpan shows for `handle`, or undefined for an empty ring. */
  bufferOf(handle: number): number | undefined {
    if (this.x.readSpan(handle) <= 0) return undefined;
    const buffer = Math.floor((this.x.spanPtr() - this.ringsStart) / RX);
    expect(buffer >= 0 && buffer < this.sockets).toBe(true);
    return buffer;
  }
}

describe.each(BUILDS)('ring pool (%s build)', (_build, debug) => {
  it('lends a buffer to a ring only while it holds bytes: rings in use go back to 0 once every ring is empty', () => {
    const p = new PoolCore(debug, 4);
    const [a, b, c, d] = p.handles as [number, number, number, number];
    expect(p.x.statRingsInUse()).toBe(0);
    p.push(a, 'aa');
    p.push(b, 'bbb');
    p.push(c, 'cccc');
    p.push(d, 'ddddd');
    expect(p.x.statRingsInUse()).toBe(4);
    expect(new Set(p.handles.map((h) => p.bufferOf(h))).size).toBe(4);
    // Each way a ring can drain: read, readSpan + consume, readFrame, skipFrame.
    expect(p.read(a)).toBe('aa');
    expect(p.x.statRingsInUse()).toBe(3);
    expect(p.x.readSpan(b)).toBe(3);
    expect(p.x.consume(b, 2)).toBe(2);
    expect(p.x.statRingsInUse()).toBe(3); // one byte still buffered
    expect(p.x.consume(b, 1)).toBe(1);
    expect(p.x.statRingsInUse()).toBe(2);
    expect(p.x.setFraming(c, MODE.fixed, 4, 0, 4)).toBe(K.OK);
    expect(p.frame(c)).toBe('cccc');
    expect(p.x.setFraming(d, MODE.fixed, 5, 0, 5)).toBe(K.OK);
    expect(p.x.skipFrame(d)).toBe(5);
    expect(p.x.statRingsInUse()).toBe(0);
    expect(p.handles.map((h) => p.bufferOf(h))).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('gives a closed ring its buffer back once read empty, and drops unread bytes on release', () => {
    const p = new PoolCore(debug, 2);
    const [a, b] = p.handles as [number, number];
    p.push(a, 'kept');
    p.push(b, 'dropped');
    expect(p.x.close(a)).toBe(K.OK);
    expect(p.x.close(b)).toBe(K.OK);
    expect(p.x.statRingsInUse()).toBe(2); // closed clients keep their unread bytes
    expect(p.read(a)).toBe('kept');
    expect(p.x.statRingsInUse()).toBe(1);
    expect(p.read(a)).toBe(K.END_OF_STREAM);
    drainRaw(p.x);
    expect(p.x.release(b)).toBe(K.OK);
    expect(p.x.statRingsInUse()).toBe(0);
    // The released buffer starts clean for its next client.
    const fresh = p.x.open(2);
    p.push(fresh, 'new');
    expect(p.read(fresh)).toBe('new');
  });

  it('lends the buffer the last client emptied to the next one, from the same offset (two clients alternating)', () => {
    for (const origin of [0, 2 ** 32 - 3]) {
      const p = new PoolCore(debug, 8, origin);
      const [a, b] = p.handles as [number, number];
      p.push(a, 'first');
      p.x.readSpan(a);
      const at = p.x.spanPtr();
      for (let round = 0; round < 20; round++) {
        const [who, other] = round % 2 === 0 ? [a, b] : [b, a];
        if (round > 0) p.push(who, `round ${round}`);
        expect(p.x.readSpan(who)).toBeGreaterThan(0);
        expect(p.x.spanPtr()).toBe(at);
        expect(p.bufferOf(other)).toBeUndefined();
        expect(p.read(who)).toBe(round === 0 ? 'first' : `round ${round}`);
        expect(p.x.statRingsInUse()).toBe(0);
      }
    }
  });

  it('keeps the buffer a ring window is out on (the read lands later), and gives it back when that window ends', () => {
    // minWindow 4 and 4 bytes buffered: a ring window at the tail.
    const ended: Array<[string, (p: PoolCore, h: number) => void]> = [
      ['commit 0', (p, h) => expect(p.x.commit(h, 0, 1)).toBe(0)],
      ['a staging window replacing it', (p, h) => expect(p.x.receiveWindow(h, 4096) % 2 ** 31).toBe(p.staging)],
      ['eof', (p, h) => expect(p.x.eof(h)).toBe(K.OK)],
      ['close', (p, h) => expect(p.x.close(h)).toBe(K.OK)],
    ];
    for (const [name, end] of ended) {
      const p = new PoolCore(debug, 3);
      const [h] = p.handles as [number];
      p.push(h, 'wxyz');
      const window = p.x.receiveWindow(h, 4);
      const address = window % 2 ** 31;
      expect(address, name).not.toBe(p.staging);
      expect(p.read(h)).toBe('wxyz');
      expect(p.x.statRingsInUse(), name).toBe(1); // pinned: the kernel may still write there
      end(p, h);
      expect(p.x.statRingsInUse(), name).toBe(0);
    }
  });

  it('lands a read in a window kept across the app draining the ring, with no other slot lent that buffer', () => {
    const p = new PoolCore(debug, 3);
    const [a, b] = p.handles as [number, number];
    p.push(a, 'head');
    const window = p.x.receiveWindow(a, 4);
    const address = window % 2 ** 31;
    const length = Math.floor(window / 2 ** 31);
    expect(p.read(a)).toBe('head');
    p.push(b, 'other client'); // must not get a's pinned buffer
    expect(p.bufferOf(b)).not.toBe(Math.floor((address - p.ringsStart) / RX));
    new Uint8Array(p.x.memory.buffer, address, Math.min(length, 5)).set(Buffer.from('later'));
    expect(p.x.commit(a, 5, 2)).toBe(5);
    expect(p.read(a)).toBe('later');
    expect(p.read(b)).toBe('other client');
    expect(p.x.statRingsInUse()).toBe(0);
  });

  it('returns the buffer of an abandoned writeSpan (opened on an empty ring) on every way a window can end', () => {
    const ends: Array<[string, (p: PoolCore, h: number) => unknown]> = [
      ['commit 0', (p, h) => p.x.commit(h, 0, 1)],
      ['receiveWindow (staging)', (p, h) => p.x.receiveWindow(h, 4096)],
      ['eof', (p, h) => p.x.eof(h)],
      ['close', (p, h) => p.x.close(h)],
      ['close + release', (p, h) => {
        p.x.close(h);
        drainRaw(p.x);
        return p.x.release(h);
      }],
    ];
    for (const [name, end] of ends) {
      const p = new PoolCore(debug, 2);
      const [h] = p.handles as [number];
      expect(p.x.writeSpan(h)).toBe(RX);
      expect(p.x.statRingsInUse(), name).toBe(1);
      expect(p.read(h)).toBe(0); // reading an empty ring ends nothing
      expect(p.x.statRingsInUse(), name).toBe(1);
      end(p, h);
      expect(p.x.statRingsInUse(), name).toBe(0);
    }
    // Release after close with the window still out (close alone already gave it back here: the
    // ring was empty); a window on a ring with bytes is dropped by release with its bytes.
    const p = new PoolCore(debug, 2);
    const [h] = p.handles as [number];
    p.push(h, 'abcd');
    p.x.receiveWindow(h, 0);
    p.x.close(h);
    expect(p.x.statRingsInUse()).toBe(1);
    drainRaw(p.x);
    expect(p.x.release(h)).toBe(K.OK);
    expect(p.x.statRingsInUse()).toBe(0);
  });

  it('refuses to commit bytes when no window is out on a buffer (there was nowhere to write them)', () => {
    const p = new PoolCore(debug, 2);
    const [h] = p.handles as [number];
    expect(p.x.commit(h, 1, 1)).toBe(K.ERR_RANGE);
    expect(p.x.commit(h, 0, 1)).toBe(0);
    expect(p.x.statRingsInUse()).toBe(0);
    expect(p.read(h)).toBe(0);
  });

  it('cuts frames in every mode across rings emptied and lent again, two clients interleaved', () => {
    const hdr = (n: number): Buffer => Buffer.of(n);
    const modes: Array<[string, (p: PoolCore, h: number) => void, (payload: string) => Buffer]> = [
      ['LINE', (p, h) => p.x.setFraming(h, MODE.line, 0, 0, RX), (t) => Buffer.from(`${t}\r\n`, 'latin1')],
      ['DELIMITER', (p, h) => {
        new Uint8Array(p.x.memory.buffer, p.staging, 3).set(Buffer.from('<|>'));
        p.x.setFraming(h, MODE.delimiter, p.staging, 3, RX);
      }, (t) => Buffer.from(`${t}<|>`, 'latin1')],
      ['LENGTH', (p, h) => p.x.setFraming(h, MODE.length, 1, 0, RX), (t) => Buffer.concat([hdr(t.length), Buffer.from(t, 'latin1')])],
      ['FIXED', (p, h) => p.x.setFraming(h, MODE.fixed, 6, 0, 6), (t) => Buffer.from(t.padEnd(6, '.').slice(0, 6), 'latin1')],
    ];
    for (const [name, setMode, encode] of modes) {
      for (const origin of [0, 2 ** 32 - 5, 61]) {
        const p = new PoolCore(debug, 4, origin);
        const [a, b] = p.handles as [number, number];
        setMode(p, a);
        setMode(p, b);
        const got: Record<number, Array<string | number>> = { [a]: [], [b]: [] };
        const sent: Record<number, string[]> = { [a]: [], [b]: [] };
        for (let i = 0; i < 12; i++) {
          const who = i % 3 === 0 ? b : a;
          const text = name === 'FIXED' ? `f${i}`.padEnd(6, '.') : `m${i}-${'z'.repeat(i % 5)}`;
          sent[who]!.push(text);
          const bytes = encode(text);
          // Split each frame in two pushes, so a scan or header is left half-done across them.
          const cut = 1 + (i % (bytes.length - 1));
          expect(p.push(who, bytes.subarray(0, cut))).toBe(cut);
          expect(p.frame(who), `${name} ${origin} ${i}`).toBe(K.FRAME_PENDING);
          expect(p.push(who, bytes.subarray(cut))).toBe(bytes.length - cut);
          got[who]!.push(p.frame(who));
          expect(p.frame(who)).toBe(K.FRAME_PENDING);
          expect(p.x.statRingsInUse(), `${name}: every ring emptied`).toBe(0);
        }
        expect(got[a]).toEqual(sent[a]);
        expect(got[b]).toEqual(sent[b]);
      }
    }
  });

  it('never lends one buffer to two slots: random operations on several clients keep every byte', () => {
    const SOCKETS = 3;
    // Weighted towards what can go wrong: windows left out while rings drain and others refill.
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), who: fc.nat(SOCKETS - 1), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
      fc.record({ kind: fc.constant('read' as const), who: fc.nat(SOCKETS - 1), max: fc.integer({ min: 1, max: 70 }) }),
      fc.record({ kind: fc.constant('consume' as const), who: fc.nat(SOCKETS - 1), max: fc.integer({ min: 1, max: 70 }) }),
      fc.record({ kind: fc.constant('window' as const), who: fc.nat(SOCKETS - 1), min: fc.constantFrom(-1, 0, 4, 16, 4096),
        bytes: fc.uint8Array({ maxLength: 40 }) }),
      { arbitrary: fc.record({ kind: fc.constant('windowLater' as const), who: fc.nat(SOCKETS - 1), min: fc.constantFrom(0, 4) }), weight: 3 },
      { arbitrary: fc.record({ kind: fc.constant('land' as const), who: fc.nat(SOCKETS - 1), bytes: fc.uint8Array({ maxLength: 40 }) }), weight: 3 },
      fc.record({ kind: fc.constant('writeSpan' as const), who: fc.nat(SOCKETS - 1), bytes: fc.uint8Array({ maxLength: 40 }) }),
      fc.record({ kind: fc.constant('reopen' as const), who: fc.nat(SOCKETS - 1), eofFirst: fc.boolean() }),
    );
    fc.assert(fc.property(fc.integer({ min: 2 ** 32 - 100, max: 2 ** 32 + 100 }), fc.array(op, { maxLength: 150 }), (origin, ops) => {
      const p = new PoolCore(debug, SOCKETS, origin);
      const handles = [...p.handles];
      const expected: number[][] = handles.map(() => []);
      /** A ring window handed out and not yet written: where the "kernel" will write. */
      const pending: Array<{ address: number; length: number } | undefined> = handles.map(() => undefined);
      /** A window is out on the slot's buffer (the core keeps it lent until the window ends). */
      const pinned: boolean[] = handles.map(() => false);
      const mem = (): Uint8Array => new Uint8Array(p.x.memory.buffer);
      const take = (i: number, bytes: Uint8Array): void => {
        expected[i]!.push(...bytes);
      };
      const drop = (i: number, n: number): number[] => expected[i]!.splice(0, n);
      /** Writes into a window as the kernel would and hands the bytes over as the binding does. */
      const landIn = (i: number, address: number, length: number, bytes: Uint8Array): void => {
        const n = Math.min(length, bytes.length);
        mem().set(bytes.subarray(0, n), address);
        const h = handles[i]!;
        const taken = address === p.staging ? p.x.push(h, p.staging, n, 1) : p.x.commit(h, n, 1);
        expect(taken).toBe(n);
        take(i, bytes.subarray(0, n));
      };
      for (const o of ops) {
        const i = o.who;
        const h = handles[i]!;
        switch (o.kind) {
          case 'push': {
            const n = p.push(h, o.bytes);
            expect(n).toBeGreaterThanOrEqual(0);
            take(i, o.bytes.subarray(0, n));
            pending[i] = undefined; // a push moves the tail: writing an older window is the binding's bug, not tested here
            break;
          }
          case 'read': {
            const got = p.x.read(h, p.staging, o.max);
            const bytes = got > 0 ? [...mem().subarray(p.staging, p.staging + got)] : [];
            expect(bytes).toEqual(drop(i, bytes.length));
            if (got <= 0) expect(expected[i]).toEqual([]);
            break;
          }
          case 'consume': {
            const ready = p.x.readSpan(h);
            if (ready <= 0) {
              expect(expected[i]).toEqual([]);
              break;
            }
            const n = Math.min(ready, o.max);
            const at = p.x.spanPtr();
            expect([...mem().subarray(at, at + n)]).toEqual(drop(i, n));
            expect(p.x.consume(h, n)).toBe(n);
            break;
          }
          case 'window': {
            const w = p.x.receiveWindow(h, o.min);
            pending[i] = undefined;
            pinned[i] = false; // replaced, and a ring window is committed right away
            if (w <= 0) break;
            const length = Math.floor(w / 2 ** 31);
            landIn(i, w - length * 2 ** 31, length, o.bytes);
            break;
          }
          case 'windowLater': {
            const w = p.x.receiveWindow(h, o.min);
            const length = w > 0 ? Math.floor(w / 2 ** 31) : 0;
            const address = w - length * 2 ** 31;
            // Staging windows are filled and pushed at once by the binding; keep only ring windows.
            pending[i] = w > 0 && address !== p.staging ? { address, length } : undefined;
            pinned[i] = pending[i] !== undefined;
            break;
          }
          case 'land': {
            const w = pending[i];
            if (w === undefined) break;
            pending[i] = undefined;
            pinned[i] = false;
            landIn(i, w.address, w.length, o.bytes);
            break;
          }
          case 'writeSpan': {
            const room = p.x.writeSpan(h);
            pending[i] = undefined;
            pinned[i] = false; // committed right below
            if (room < 0) break;
            const n = Math.min(room, o.bytes.length);
            mem().set(o.bytes.subarray(0, n), p.x.spanPtr());
            expect(p.x.commit(h, n, 1)).toBe(n);
            take(i, o.bytes.subarray(0, n));
            break;
          }
          case 'reopen': {
            if (o.eofFirst) expect(p.x.eof(h)).toBe(K.OK);
            expect(p.x.close(h)).toBe(K.OK);
            drainRaw(p.x);
            expect(p.x.release(h)).toBe(K.OK);
            handles[i] = p.x.open(3);
            expect(handles[i]).toBeGreaterThan(0);
            expected[i] = [];
            pending[i] = undefined;
            pinned[i] = false;
            break;
          }
        }
        drainRaw(p.x);
        // Every ring with bytes has a buffer of its own, and pinned windows lie outside all of them.
        const buffers = handles.map((hh) => p.bufferOf(hh));
        const lent = buffers.filter((b) => b !== undefined);
        expect(new Set(lent).size).toBe(lent.length);
        for (const [j, w] of pending.entries()) {
          if (w === undefined) continue;
          const buffer = Math.floor((w.address - p.ringsStart) / RX);
          for (const [k, b] of buffers.entries()) if (k !== j) expect(b).not.toBe(buffer);
        }
        expect(p.x.statRingsInUse()).toBeGreaterThanOrEqual(lent.length);
        expect(p.x.statRingsInUse()).toBeLessThanOrEqual(lent.length + pinned.filter(Boolean).length);
        for (const [j, hh] of handles.entries()) {
          expect(p.x.inspect(hh)).toBe(K.OK);
          expect(p.x.infoRxUsed()).toBe(expected[j]!.length);
        }
      }
      // Drain everything: every byte as expected, every buffer back.
      for (const [j, hh] of handles.entries()) {
        const n = expected[j]!.length > 0 ? p.x.read(hh, p.staging, 1024) : 0;
        expect([...mem().subarray(p.staging, p.staging + Math.max(n, 0))]).toEqual(expected[j]);
        expect(p.x.commit(hh, 0, 1)).toBe(0); // ends any window still out
      }
      expect(p.x.statRingsInUse()).toBe(0);
    }), { numRuns: 300 * fuzzMultiplier() });
  });
});

describe('debug build', () => {
  /**
   * Breaks an invariant behind the core's back — slot 0 marked paused while the paused counter
   * stays 0 — so the next resume would take the counter below zero.
   */
  function corruptedCore(debug: boolean): FramedClient {
    const c = new FramedClient(debug);
    c.push('abc');
    expect(c.x.readSpan(c.h)).toBe(3);
    // Slot 0's ring starts at its first byte (ringOrigin 0); the table's 128-byte slots end
    // where the rings begin. A slot's `flags` is its third u32.
    const flags = c.x.spanPtr() - 2 * 128 + 8;
    new Uint32Array(c.x.memory.buffer, flags, 1)[0]! |= K.FLAG_PAUSED;
    expect(c.x.inspect(c.h)).toBe(K.OK);
    expect(c.x.infoFlags() & K.FLAG_PAUSED).toBe(K.FLAG_PAUSED);
    expect(c.x.statPaused()).toBe(0);
    return c;
  }

  it('throws an Error naming the broken invariant and where it is checked', () => {
    const c = corruptedCore(true);
    expect(() => c.x.read(c.h, c.staging, 3)).toThrow(/^core assertion failed: paused count negative at assembly\/events\.ts:\d+:\d+$/);
  });

  describe('ring pool invariants', () => {
    /** Slot 0's `ring` field (offset 96 of its 128-byte record; the table ends where the rings begin). */
    const ringField = (p: PoolCore): Int32Array => new Int32Array(p.x.memory.buffer, p.ringsStart - p.sockets * 128 + 96, 1);

    it('a slot with bytes and no buffer', () => {
      const p = new PoolCore(true, 2);
      const [h] = p.handles as [number];
      p.push(h, 'abc');
      ringField(p)[0] = -1;
      expect(() => p.x.receiveWindow(h, 0)).toThrow(/^core assertion failed: bytes buffered without a ring at assembly\/pool\.ts:\d+:\d+$/);
    });

    it('a buffer given back twice', () => {
      const p = new PoolCore(true, 2);
      const [h] = p.handles as [number];
      p.push(h, 'abc');
      ringField(p)[0] = -1;
      expect(() => p.x.read(h, p.staging, 3)).toThrow(/^core assertion failed: ring given back twice at assembly\/pool\.ts:\d+:\d+$/);
    });

    it('an empty slot holding a buffer with no window out on it', () => {
      const p = new PoolCore(true, 2);
      const [h] = p.handles as [number];
      ringField(p)[0] = 1; // a free buffer, claimed behind the pool's back
      expect(() => p.x.writeSpan(h)).not.toThrow(); // a window makes holding it legal…
      // …and ending it gives back a buffer the pool never lent.
      expect(() => p.x.commit(h, 0, 1)).toThrow(/^core assertion failed: rings in use negative at assembly\/pool\.ts:\d+:\d+$/);
    });
  });

  it('has no counterpart in the release build, where the counter wraps', () => {
    const c = corruptedCore(false);
    expect(c.x.read(c.h, c.staging, 3)).toBe(3);
    expect(c.x.statPaused()).toBe(-1); // the u32 counter wrapped: exactly what the assert guards
  });
});
