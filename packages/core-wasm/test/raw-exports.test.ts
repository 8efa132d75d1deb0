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
