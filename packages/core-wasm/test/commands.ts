// fast-check arbitraries for model-checked command sequences: configs, and commands that
// name their target client indirectly so that a shrunk sequence still makes sense.

import fc from 'fast-check';
import type { CoreConfig, CoreFraming } from '@tcpserv/core-wasm';

/**
 * Which client a command aims at. Handles do not exist when a sequence is generated, so
 * the target is resolved when the command runs: the index-th handle held at that moment
 * (open or closed, not freed), the index-th handle ever issued (often stale by then), or
 * a forged number.
 */
export type Target =
  | { readonly from: 'held'; readonly index: number }
  | { readonly from: 'issued'; readonly index: number }
  | { readonly from: 'forged'; readonly value: number };

/** `dt` advances the test clock (ms) before the command runs. */
export type Command =
  | { readonly op: 'open'; readonly dt: number }
  | { readonly op: 'close'; readonly target: Target }
  | { readonly op: 'release'; readonly target: Target }
  | { readonly op: 'eof'; readonly target: Target }
  | { readonly op: 'push'; readonly target: Target; readonly size: number; readonly seed: number; readonly dt: number }
  | { readonly op: 'read'; readonly target: Target; readonly size: number }
  /** receiveWindow, then `size` random bytes into it (at most its length) and received; `excess` claims one more. */
  | { readonly op: 'receive'; readonly target: Target; readonly size: number; readonly seed: number; readonly excess: boolean; readonly dt: number }
  /** readView, then consume 1 + size mod the view's length. */
  | { readonly op: 'view'; readonly target: Target; readonly size: number }
  /** consume with any count (mostly refused). */
  | { readonly op: 'consume'; readonly target: Target; readonly n: number }
  /** push these bytes (traffic shaped for a framing), whole or one push per byte. */
  | { readonly op: 'send'; readonly target: Target; readonly bytes: Uint8Array; readonly trickle: boolean; readonly dt: number }
  /** push these payloads encoded as frames of the client's framing when the command runs (whole or a byte a push). */
  | {
    readonly op: 'frames'; readonly target: Target; readonly payloads: readonly Uint8Array[]; readonly crlf: boolean;
    /**
     * Then one more payload of `delta` bytes more than the client's frame limit, or than what
     * fills the ring once framed: frames right at the limits.
     */
    readonly nearLimit: { readonly base: 'limit' | 'ring'; readonly delta: number } | null;
    /** The last frame goes out unfinished (no terminator, half a payload): what eof then finds. */
    readonly unfinished: boolean;
    readonly trickle: boolean; readonly dt: number;
  }
  /** `atRing`: the limit (maxFrameSize, or a fixed size) becomes rxBufferSize, @tcpserv/node's default. */
  | { readonly op: 'setFraming'; readonly target: Target; readonly framing: CoreFraming; readonly atRing: boolean }
  | { readonly op: 'nextFrameLength'; readonly target: Target }
  /** readFrame into a buffer of `room` bytes, or exactly the next frame's length ('fit'). */
  | { readonly op: 'readFrame'; readonly target: Target; readonly room: number | 'fit' }
  | { readonly op: 'drain'; readonly count: number }
  | { readonly op: 'accept' }
  | { readonly op: 'setMaxClients'; readonly value: number }
  | { readonly op: 'recordSent'; readonly target: Target; readonly bytes: number; readonly dt: number }
  | { readonly op: 'inspect'; readonly target: Target }
  | { readonly op: 'expired'; readonly idleMs: number; readonly lifetimeMs: number };

const target: fc.Arbitrary<Target> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ from: fc.constant('held' as const), index: fc.nat(15) }) },
  { weight: 2, arbitrary: fc.record({ from: fc.constant('issued' as const), index: fc.nat(400) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      from: fc.constant('forged' as const),
      value: fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -4, max: 200 })),
    }),
  },
);

/** Mostly small chunks, some up to a ring, a few larger than ring and staging area together. */
const chunkSize = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 16 }) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 9000 }) },
);
const dt = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1000 }));
const limitMs = fc.oneof(fc.constantFrom(0, -1), fc.integer({ min: 1, max: 20_000 }));

export const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ op: fc.constant('open' as const), dt }) },
  { weight: 7, arbitrary: fc.record({ op: fc.constant('close' as const), target }) },
  { weight: 7, arbitrary: fc.record({ op: fc.constant('release' as const), target }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('eof' as const), target }) },
  {
    weight: 18,
    arbitrary: fc.record({ op: fc.constant('push' as const), target, size: chunkSize, seed: fc.nat(), dt }),
  },
  { weight: 16, arbitrary: fc.record({ op: fc.constant('read' as const), target, size: chunkSize }) },
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('receive' as const), target, size: chunkSize, seed: fc.nat(), excess: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, fc.constant(true)), dt }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('view' as const), target, size: chunkSize }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('consume' as const), target, n: fc.integer({ min: -2, max: 5000 }) }) },
  {
    weight: 12,
    arbitrary: fc.record({ op: fc.constant('drain' as const), count: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(Infinity)) }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('accept' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('setMaxClients' as const), value: fc.integer({ min: -1, max: 11 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('recordSent' as const), target, bytes: fc.oneof(fc.integer({ min: -2, max: 5000 }), fc.constant(2 ** 31 - 1)), dt }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('inspect' as const), target }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('expired' as const), idleMs: limitMs, lifetimeMs: limitMs }) },
);

/**
 * Small tables (up to 300 slots, mostly 1–10), rings of 64 B–4 KiB with any legal
 * watermarks, staging areas smaller and larger than the rings.
 */
export function coreConfig(ringOrigin: fc.Arbitrary<number>): fc.Arbitrary<CoreConfig> {
  return fc
    .record({
      // Mostly tiny tables, so slots are reused and limits hit; some with more slot bits.
      maxSockets: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 10 }) }, fc.integer({ min: 11, max: 300 })),
      maxClients: fc.nat(),
      rxBits: fc.integer({ min: 6, max: 12 }),
      highWatermark: fc.nat(),
      lowWatermark: fc.nat(),
      stagingSize: fc.constantFrom(1024, 1040, 2048, 4096),
      ringOrigin,
    })
    .map(({ maxSockets, maxClients, rxBits, highWatermark, lowWatermark, stagingSize, ringOrigin }) => {
      const rxBufferSize = 2 ** rxBits;
      const high = 1 + (highWatermark % rxBufferSize);
      return {
        maxSockets,
        maxClients: 1 + (maxClients % maxSockets),
        rxBufferSize,
        highWatermark: high,
        lowWatermark: lowWatermark % high,
        stagingSize,
        ringOrigin,
      };
    });
}

// ── Framing-shaped sequences ─────────────────────────────────────────────────
// Fewer clients, smaller rings and traffic built from the bytes frames are cut at, so that
// frames complete, split, overflow, wrap the ring and end mid-frame often.

/** Bytes that end frames: '\n', '\r', and those the generated delimiters are made of. */
const FRAMING_BYTES = [0x0a, 0x0d, 0x7c, 0x00, 0x61, 0x62, 0xff];
const framingByte = fc.constantFrom(...FRAMING_BYTES);

/** Limits that are legal for some rings and too large for others, plus 0 (never legal). */
const frameLimit = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 48 }) },
  // Ring sizes and just below them (a frame at the limit then fills the ring), and 1 KiB and up.
  { weight: 6, arbitrary: fc.constantFrom(62, 63, 64, 65, 126, 127, 128, 254, 255, 256, 512, 1024, 2048) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 2049, 4096) },
);

export const framing: fc.Arbitrary<CoreFraming> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<CoreFraming>({ mode: 'raw' }) },
  { weight: 4, arbitrary: fc.record({ mode: fc.constant('line' as const), maxFrameSize: frameLimit }) },
  {
    weight: 4,
    arbitrary: fc.record({
      mode: fc.constant('delimiter' as const),
      delimiter: fc.oneof(
        {
          weight: 9,
          arbitrary: fc.oneof({ weight: 3, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 2 }) }, fc.uint8Array({ minLength: 3, maxLength: 4 }))
            .map((d) => d.map((b) => FRAMING_BYTES[b % FRAMING_BYTES.length]!)),
        },
        { weight: 1, arbitrary: fc.constantFrom(new Uint8Array(0), new Uint8Array(16).fill(0x7c), new Uint8Array(17).fill(0x7c)) },
      ),
      maxFrameSize: frameLimit,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      mode: fc.constant('length' as const),
      headerBytes: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(1 as const, 2 as const, 4 as const) }, fc.constant(3 as 1)),
      littleEndian: fc.boolean(),
      maxFrameSize: frameLimit,
    }),
  },
  { weight: 3, arbitrary: fc.record({ mode: fc.constant('fixed' as const), size: frameLimit }) },
);

/** A length header (1, 2 or 4 bytes, either byte order) announcing `length`, truncated to its width. */
function lengthHeader(headerBytes: 1 | 2 | 4, littleEndian: boolean, length: number): number[] {
  const header = Array.from({ length: headerBytes }, (_, i) => Math.floor(length / 256 ** (headerBytes - 1 - i)) % 256);
  return littleEndian ? header.reverse() : header;
}

/** A piece of traffic: text over the framing bytes, a length-prefixed frame (maybe lying), or noise. */
const trafficPiece: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.oneof({ weight: 3, arbitrary: framingByte }, fc.nat(255)), { maxLength: 40 }) },
  {
    weight: 4,
    arbitrary: fc
      .record({
        headerBytes: fc.constantFrom(1 as const, 2 as const, 4 as const),
        littleEndian: fc.boolean(),
        length: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 40 }) }, fc.integer({ min: 0, max: 70_000 })),
        fill: fc.nat(255),
      })
      // The payload is cut at 60 bytes: longer announcements stay incomplete (or too large).
      .map(({ headerBytes, littleEndian, length, fill }) => [
        ...lengthHeader(headerBytes, littleEndian, length),
        ...Array.from({ length: Math.min(length, 60) }, (_, i) => (fill + i) & 0xff),
      ]),
  },
  { weight: 1, arbitrary: fc.array(fc.nat(255), { minLength: 41, maxLength: 600 }) },
);

const traffic: fc.Arbitrary<Uint8Array> = fc.array(trafficPiece, { maxLength: 4 }).map((pieces) => Uint8Array.from(pieces.flat()));

/** Mostly the first few held clients: framing state builds up on a client, not across many. */
const framingTarget: fc.Arbitrary<Target> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ from: fc.constant('held' as const), index: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ from: fc.constant('issued' as const), index: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ from: fc.constant('forged' as const), value: fc.integer({ min: -4, max: 40 }) }) },
);

export const framingCommand: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('open' as const), dt }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('close' as const), target: framingTarget }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('release' as const), target: framingTarget }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('eof' as const), target: framingTarget }) },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('send' as const), target: framingTarget, bytes: traffic,
      trickle: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, fc.constant(true)), dt,
    }),
  },
  {
    weight: 30,
    arbitrary: fc.record({
      op: fc.constant('frames' as const), target: framingTarget,
      payloads: fc.array(
        fc.oneof(
          { weight: 4, arbitrary: fc.uint8Array({ maxLength: 12 }) },
          { weight: 3, arbitrary: fc.array(framingByte, { maxLength: 30 }).map((b) => Uint8Array.from(b)) },
          { weight: 1, arbitrary: fc.uint8Array({ minLength: 13, maxLength: 300 }) },
        ),
        { maxLength: 4 },
      ),
      crlf: fc.boolean(),
      nearLimit: fc.oneof(fc.constant(null), fc.record({ base: fc.constantFrom('limit' as const, 'ring' as const), delta: fc.integer({ min: -2, max: 2 }) })),
      unfinished: fc.boolean(),
      trickle: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, fc.constant(true)),
      dt,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('receive' as const), target: framingTarget, size: chunkSize, seed: fc.nat(), excess: fc.constant(false), dt }),
  },
  {
    weight: 14,
    arbitrary: fc.record({
      op: fc.constant('setFraming' as const), target: framingTarget, framing,
      atRing: fc.oneof({ weight: 2, arbitrary: fc.constant(false) }, fc.constant(true)),
    }),
  },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('nextFrameLength' as const), target: framingTarget }) },
  {
    weight: 30,
    arbitrary: fc.record({
      op: fc.constant('readFrame' as const), target: framingTarget,
      room: fc.oneof({ weight: 7, arbitrary: fc.constant('fit' as const) }, fc.integer({ min: 0, max: 3000 })),
    }),
  },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('read' as const), target: framingTarget, size: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('view' as const), target: framingTarget, size: chunkSize }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('consume' as const), target: framingTarget, n: fc.integer({ min: -1, max: 100 }) }) },
  {
    weight: 14,
    arbitrary: fc.record({ op: fc.constant('drain' as const), count: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(Infinity)) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('accept' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('inspect' as const), target: framingTarget }) },
);

/**
 * 1–3 slots, rings of 64 B–2 KiB (so they fill, pause and wrap), staging of 1 KiB (smaller
 * than the largest rings, so frames longer than staging are read too).
 */
export function framingConfig(ringOrigin: fc.Arbitrary<number>): fc.Arbitrary<CoreConfig> {
  return fc
    .record({
      maxSockets: fc.integer({ min: 1, max: 3 }),
      rxBits: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 6, max: 8 }) }, fc.integer({ min: 9, max: 11 })),
      highWatermark: fc.nat(),
      lowWatermark: fc.nat(),
      stagingSize: fc.constantFrom(1024, 2048),
      ringOrigin,
    })
    .map(({ maxSockets, rxBits, highWatermark, lowWatermark, stagingSize, ringOrigin }) => {
      const rxBufferSize = 2 ** rxBits;
      const high = 1 + (highWatermark % rxBufferSize);
      return { maxSockets, rxBufferSize, highWatermark: high, lowWatermark: lowWatermark % high, stagingSize, ringOrigin };
    });
}
