export * as constants from './constants.js';
export {
  createCore,
  instantiateRaw,
  layoutBytes,
  resolveCoreConfig,
  describeConfigStatus,
  CoreConfigError,
  WasmCore,
  DEFAULT_RX_BUFFER_SIZE,
  DEFAULT_STAGING_SIZE,
} from './core.js';
export type {
  CoreApi,
  CoreConfig,
  CoreExports,
  CoreStats,
  ClientInfo,
  ResolvedCoreConfig,
} from './core.js';
