// Model-checked framing: command sequences built around setFraming / nextFrameLength /
// readFrame (every mode, 1-byte chunks, chunks crossing the ring's wrap and the 2^32 wrap,
// headers split across chunks, mode switches mid-stream, oversize and lying headers, eof
// inside a frame, raw reads mixed with frame reads) run on the WASM core and the reference
// model side by side. Every answer, inspect(), stats(), each drained event and — in half of
// the sequences — every held client's nextFrameLength after every command must match.
//
// CORE_IMPL=wasm or =model runs the invariants on one implementation; CORE_FUZZ_RUNS=n runs
// n times as many sequences.

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { framingCommand, framingConfig } from './commands.js';
import { fuzzMultiplier, selectedImplementations } from './implementations.js';
import { SequenceRunner } from './sequence-runner.js';

const implementations = selectedImplementations();
const comparing = implementations.length > 1;
const multiplier = fuzzMultiplier();

/** Sequences per ring origin; lengths 0..200 (about 100 on average, shrinkable to a few). */
const RUNS = 600 * multiplier;
const MAX_COMMANDS = 200;
/** About 1,000,000 are checked per pass; the floor catches a generator that stopped reaching the core. */
const REQUIRED_CHECKED_OPERATIONS = 500_000 * multiplier;
/** Upper bound on one suite's time, shrinking included (a pass takes a few seconds). */
const TIME_LIMIT_MS = 25_000 * multiplier;

let checkedOperations = 0;
const frameOutcomes = new Map<string, number>();

function runSequences(ringOrigin: fc.Arbitrary<number>): void {
  fc.assert(
    fc.property(
      framingConfig(ringOrigin),
      fc.array(framingCommand, { maxLength: MAX_COMMANDS, size: 'max' }),
      fc.boolean(),
      (config, commands, probeFrames) => {
        const runner = new SequenceRunner(implementations, config, { probeFrames });
        try {
          for (const c of commands) runner.run(c);
          runner.finish(implementations);
        } finally {
          checkedOperations += runner.checkedOperations;
          for (const [outcome, count] of runner.frameOutcomes) frameOutcomes.set(outcome, (frameOutcomes.get(outcome) ?? 0) + count);
        }
      },
    ),
    { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: true },
  );
}

describe(`framed command sequences on ${implementations.map((impl) => impl.name).join(' and ')}`, () => {
  it('agree and keep every invariant with rings starting at 0', () => {
    runSequences(fc.constant(0));
  }, 2 * TIME_LIMIT_MS);

  it('agree and keep every invariant with ring positions wrapping past 2^32', () => {
    runSequences(fc.oneof(fc.constant(0xffff_ff00), fc.integer({ min: 2 ** 32 - 4096, max: 2 ** 32 - 1 })));
  }, 2 * TIME_LIMIT_MS);

  afterAll(() => {
    if (!comparing) return;
    console.info(`framing: model-checked operations: ${checkedOperations}`);
    console.info(`framing: readFrame outcomes: ${[...frameOutcomes].sort().map(([outcome, count]) => `${outcome} ${count}`).join(', ')}`);
  });

  it.runIf(comparing)(`model-checked at least ${REQUIRED_CHECKED_OPERATIONS} operations`, () => {
    expect(checkedOperations).toBeGreaterThanOrEqual(REQUIRED_CHECKED_OPERATIONS);
  });
});
