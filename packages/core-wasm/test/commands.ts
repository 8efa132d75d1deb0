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
  | { readonly op: 'setFraming'; readonly target: Target; readonly framing: CoreFraming }
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
