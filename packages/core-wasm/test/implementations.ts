// Which implementations of CoreApi a test run covers, chosen like es-module-lexer chooses
// its JS or WASM build: CORE_IMPL=wasm | model | both (default both).

import { createCore, type CoreApi, type CoreConfig } from '@tcpserv/core-wasm';
import { createReferenceCore } from '@tcpserv/core-wasm/reference-model';

export interface Implementation {
  readonly name: 'wasm' | 'model';
  create(config: CoreConfig): CoreApi;
}

export const WASM: Implementation = { name: 'wasm', create: (config) => createCore(config) };
export const MODEL: Implementation = { name: 'model', create: (config) => createReferenceCore(config) };

const CHOICES: Record<string, readonly Implementation[]> = {
  wasm: [WASM],
  model: [MODEL],
  both: [WASM, MODEL],
};

/** The implementations named by CORE_IMPL; throws on a value it does not know. */
export function selectedImplementations(value = process.env['CORE_IMPL'] ?? 'both'): readonly Implementation[] {
  const chosen = CHOICES[value];
  if (!chosen) throw new Error(`CORE_IMPL must be one of ${Object.keys(CHOICES).join(', ')} (got ${value})`);
  return chosen;
}

/**
 * Multiplier for the randomized suites' run counts (CORE_FUZZ_RUNS=10 runs ten times as
 * many sequences; default 1).
 */
export function fuzzMultiplier(value = process.env['CORE_FUZZ_RUNS'] ?? '1'): number {
  const multiplier = Number(value);
  if (!Number.isInteger(multiplier) || multiplier < 1) {
    throw new Error(`CORE_FUZZ_RUNS must be a positive integer (got ${value})`);
  }
  return multiplier;
}
