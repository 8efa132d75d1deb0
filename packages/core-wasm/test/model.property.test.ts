// Model-checked random command sequences: the WASM core and the reference model run the
// same sequence side by side and must answer identically at every step, while the
// invariants in sequence-runner.ts hold throughout and the core ends as good as new.
//
// CORE_IMPL=wasm or =model runs the sequences on one implementation, checking the
// invariants only. CORE_FUZZ_RUNS=n runs n times as many sequences.

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { command, coreConfig } from './commands.js';
import { fuzzMultiplier, selectedImplementations } from './implementations.js';
import { SequenceRunner } from './sequence-runner.js';

const implementations = selectedImplementations();
const comparing = implementations.length > 1;
const multiplier = fuzzMultiplier();

/**
 * Sequences per ring origin. Lengths are drawn from 0..400 (about 190 on average; no
 * minimum, so that a failing sequence can shrink to a few commands), so the two suites run
 * about 2 × 350 × 190 + teardowns ≈ 135,000 model-checked operations.
 */
const RUNS = 350 * multiplier;
const MAX_COMMANDS = 400;
const REQUIRED_CHECKED_OPERATIONS = 100_000 * multiplier;
/**
 * Upper bound on one suite's time, shrinking included: about 3 s pass on a 2-core machine;
 * a failure is reported with the smallest sequence found when the bound is reached.
 */
const TIME_LIMIT_MS = 30_000 * multiplier;

let checkedOperations = 0;

function runSequences(ringOrigin: fc.Arbitrary<number>): void {
  fc.assert(
    fc.property(
      coreConfig(ringOrigin),
      fc.array(command, { maxLength: MAX_COMMANDS, size: 'max' }),
      (config, commands) => {
        const runner = new SequenceRunner(implementations, config);
        try {
          for (const c of commands) runner.run(c);
          runner.finish(implementations);
        } finally {
          checkedOperations += runner.checkedOperations;
        }
      },
    ),
    { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: true },
  );
}

describe(`command sequences on ${implementations.map((impl) => impl.name).join(' and ')}`, () => {
  it('agree and keep every invariant with rings starting at 0', () => {
    runSequences(fc.constant(0));
  }, 2 * TIME_LIMIT_MS);

  it('agree and keep every invariant with ring positions wrapping past 2^32', () => {
    // Rings start at most 8 KiB (two of the largest rings) below 2^32, so they wrap early.
    runSequences(fc.oneof(fc.constant(0xffff_ff00), fc.integer({ min: 2 ** 32 - 8192, max: 2 ** 32 - 1 })));
  }, 2 * TIME_LIMIT_MS);

  afterAll(() => {
    if (comparing) console.info(`model-checked operations: ${checkedOperations}`);
  });

  it.runIf(comparing)(`model-checked at least ${REQUIRED_CHECKED_OPERATIONS} operations`, () => {
    expect(checkedOperations).toBeGreaterThanOrEqual(REQUIRED_CHECKED_OPERATIONS);
  });
});
