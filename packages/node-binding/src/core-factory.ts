/**
 * Which core a server runs on: the WebAssembly core (its debug build, every invariant
 * asserted, when TCPSERV_CORE_DEBUG=1), or — for the binding's own tests —
 * the TypeScript reference model (TCPSERV_CORE=model), as es-module-lexer runs one test file
 * over several builds.
 */
import { createCore, type CoreApi, type CoreConfig } from '@tcpserv/core-wasm';

export function createServerCore(config: CoreConfig): CoreApi {
  return createCore(config);
}
