/**
 * Which core a server runs on, chosen by the TCPSERV_CORE environment variable so that the
 * binding's own tests can run over each build, as es-module-lexer runs one test file over its
 * JS and WASM builds:
 *   unset, '' or 'wasm' — the WebAssembly core (its debug build when TCPSERV_CORE_DEBUG=1);
 *   'debug'             — the WebAssembly core's debug build (every invariant an assert);
 *   'model'             — the TypeScript reference model (@tcpserv/core-wasm/reference-model).
 * The binding depends on CoreApi only, so all three are interchangeable.
 */
import { createCore, type CoreApi, type CoreConfig } from '@tcpserv/core-wasm';
import { createReferenceCore } from '@tcpserv/core-wasm/reference-model';
import { InvalidArgumentError } from './errors.js';

const CORES: Readonly<Record<string, (config: CoreConfig) => CoreApi>> = {
  wasm: (config) => createCore(config),
  debug: (config) => createCore({ ...config, debug: true }),
  model: (config) => createReferenceCore(config),
};

/** The core for a new server; throws InvalidArgumentError for a TCPSERV_CORE it does not know. */
export function createServerCore(config: CoreConfig, choice = process.env['TCPSERV_CORE'] || 'wasm'): CoreApi {
  const create = Object.hasOwn(CORES, choice) ? CORES[choice] : undefined;
  if (!create) throw new InvalidArgumentError('TCPSERV_CORE', `one of ${Object.keys(CORES).map((name) => `'${name}'`).join(', ')} or unset`, choice);
  return create(config);
}
