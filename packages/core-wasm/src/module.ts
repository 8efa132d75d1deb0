/**
 * core.wasm is compiled once per process (and its debug build once, if used); every core is a
 * cheap instance of it. Instantiation is where V8 reserves the memory's address space, so an
 * exhausted process shows up here, as CoreOutOfMemoryError.
 */
import { readFileSync } from 'node:fs';
import { CoreOutOfMemoryError } from './errors.js';
import type { CoreExports } from './exports.js';

const compiled: { release?: WebAssembly.Module; debug?: WebAssembly.Module } = {};
let calculator: CoreExports | undefined;

function coreModule(debug: boolean): WebAssembly.Module {
  const key = debug ? 'debug' : 'release';
  compiled[key] ??= new WebAssembly.Module(readFileSync(new URL(debug ? './core.debug.wasm' : './core.wasm', import.meta.url)));
  return compiled[key];
}

/** The debug build's assert: an Error naming the message and where it fired. */
function abortImport(memory: () => WebAssembly.Memory): Record<string, (...args: number[]) => void> {
  const text = (ptr: number): string => {
    if (ptr === 0) return '';
    const bytes = new Uint8Array(memory().buffer);
    const length = new Uint32Array(memory().buffer, ptr - 4, 1)[0]! >>> 1;
    return String.fromCharCode(...new Uint16Array(bytes.buffer, ptr, length));
  };
  return {
    abort: (message, file, line, column) => {
      throw new Error(`core assertion failed: ${text(message!) || 'assert'} at ${text(file!)}:${line}:${column}`);
    },
  };
}

/**
 * A fresh, uninitialised instance with its raw exports: for tests and tools that call exports
 * directly (hostile-input tests). Applications use `createCore`.
 */
export function instantiateRaw(debug = false): CoreExports {
  let instance: WebAssembly.Instance;
  try {
    let exports: CoreExports | undefined;
    instance = new WebAssembly.Instance(coreModule(debug), { env: abortImport(() => exports!.memory) });
    exports = instance.exports as unknown as CoreExports;
    return exports;
  } catch (error) {
    if (error instanceof RangeError && /memory/i.test(error.message)) throw new CoreOutOfMemoryError(error);
    throw error;
  }
}

/** One shared, never-initialised instance: `layoutBytes` is stateless and must not cost a reservation per call. */
export function layoutCalculator(): CoreExports {
  calculator ??= instantiateRaw();
  return calculator;
}
