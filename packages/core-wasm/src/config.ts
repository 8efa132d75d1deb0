/**
 * A core's configuration: defaults, the integer checks done before the core sees it, the
 * sentence for every config status, and `layoutBytes` — the memory a config needs, as the
 * core itself computes it.
 */
import * as K from './constants.js';
import { CoreConfigError } from './errors.js';
import { layoutCalculator } from './module.js';

/** Configuration of one core. Sizes are bytes. */
export interface CoreConfig {
  /** Slots in the client table; sizes memory. 1…65536. */
  maxSockets: number;
  /** Admission limit, 1…maxSockets. Default: maxSockets. */
  maxClients?: number;
  /** Receive ring per client: a power of two, 64 B…64 MiB. Default 16384. */
  rxBufferSize?: number;
  /** Ring fill at which the client is paused. Default 3/4 of rxBufferSize. */
  highWatermark?: number;
  /** Ring fill at which a paused client resumes. Default 1/4 of rxBufferSize. */
  lowWatermark?: number;
  /** Bytes of the staging area chunks pass through: a multiple of 16, 1 KiB…16 MiB. Default 65536. */
  stagingSize?: number;
  /** Position rings start from (tests use values near 2^32 to cover wrap-around). Default 0. */
  ringOrigin?: number;
  /**
   * Run the debug build (core.debug.wasm): every "cannot happen" invariant is an assert that
   * throws. Default false, or true when TCPSERV_CORE_DEBUG=1. Tests use it.
   */
  debug?: boolean;
}

export const DEFAULT_RX_BUFFER_SIZE = 16384;
export const DEFAULT_STAGING_SIZE = 65536;

/** Config with every default filled in. */
export type ResolvedCoreConfig = Required<CoreConfig>;

export function resolveCoreConfig(config: CoreConfig): ResolvedCoreConfig {
  const rxBufferSize = config.rxBufferSize ?? DEFAULT_RX_BUFFER_SIZE;
  return {
    maxSockets: config.maxSockets,
    maxClients: config.maxClients ?? config.maxSockets,
    rxBufferSize,
    highWatermark: config.highWatermark ?? Math.floor((rxBufferSize * 3) / 4),
    lowWatermark: config.lowWatermark ?? Math.floor(rxBufferSize / 4),
    stagingSize: config.stagingSize ?? DEFAULT_STAGING_SIZE,
    ringOrigin: config.ringOrigin ?? 0,
    debug: config.debug ?? process.env.TCPSERV_CORE_DEBUG === '1',
  };
}

/** One sentence per config status, naming the setting and the rule. */
export function describeConfigStatus(status: number, config: ResolvedCoreConfig): string {
  switch (status) {
    case K.ERR_CONFIG_MAX_SOCKETS:
      return `maxSockets must be an integer from 1 to ${K.MAX_SOCKETS} (got ${config.maxSockets})`;
    case K.ERR_CONFIG_MAX_CLIENTS:
      return `maxClients must be an integer from 1 to maxSockets (${config.maxSockets}) (got ${config.maxClients})`;
    case K.ERR_CONFIG_RX_BUFFER:
      return `rxBufferSize must be a power of two from ${K.MIN_RX_BUFFER} to ${K.MAX_RX_BUFFER} (got ${config.rxBufferSize})`;
    case K.ERR_CONFIG_WATERMARKS:
      return `watermarks must satisfy 0 <= lowWatermark < highWatermark <= rxBufferSize (got low ${config.lowWatermark}, high ${config.highWatermark}, rxBufferSize ${config.rxBufferSize})`;
    case K.ERR_CONFIG_STAGING:
      return `stagingSize must be a multiple of 16 from ${K.MIN_STAGING} to ${K.MAX_STAGING} (got ${config.stagingSize})`;
    case K.ERR_CONFIG_TOO_LARGE:
      return `the config needs more than ${K.MAX_LAYOUT_BYTES} bytes of memory (maxSockets ${config.maxSockets} × rxBufferSize ${config.rxBufferSize}); lower one of them`;
    case K.ERR_OUT_OF_MEMORY:
      return `could not grow WebAssembly memory to the size the config needs`;
    case K.ERR_ALREADY_INIT:
      return `the core was already initialised`;
    default:
      return `the core refused the config (status ${status})`;
  }
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function isInt32(value: number): boolean {
  return Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX;
}

/** The status whose message states each setting's range. */
const RANGE_STATUS: Partial<Record<keyof ResolvedCoreConfig, number>> = {
  maxSockets: K.ERR_CONFIG_MAX_SOCKETS,
  maxClients: K.ERR_CONFIG_MAX_CLIENTS,
  rxBufferSize: K.ERR_CONFIG_RX_BUFFER,
  highWatermark: K.ERR_CONFIG_WATERMARKS,
  lowWatermark: K.ERR_CONFIG_WATERMARKS,
  stagingSize: K.ERR_CONFIG_STAGING,
};

/** The setting a config status is about. */
const SETTING_OF: Readonly<Record<number, string>> = {
  [K.ERR_CONFIG_MAX_SOCKETS]: 'maxSockets',
  [K.ERR_CONFIG_MAX_CLIENTS]: 'maxClients',
  [K.ERR_CONFIG_RX_BUFFER]: 'rxBufferSize',
  [K.ERR_CONFIG_WATERMARKS]: 'highWatermark',
  [K.ERR_CONFIG_STAGING]: 'stagingSize',
  [K.ERR_CONFIG_TOO_LARGE]: 'maxSockets',
};

/** The CoreConfigError for a config status, naming the setting and the rule. */
export function configError(status: number, config: ResolvedCoreConfig): CoreConfigError {
  return new CoreConfigError(status, SETTING_OF[status] ?? 'config', describeConfigStatus(status, config));
}

function checkConfigIntegers(config: ResolvedCoreConfig): void {
  for (const [name, value] of Object.entries(config) as Array<[keyof ResolvedCoreConfig, unknown]>) {
    if (name === 'debug') {
      if (typeof value !== 'boolean') throw new CoreConfigError(K.ERR_RANGE, 'debug', `debug must be a boolean (got ${String(value)})`);
    } else if (name === 'ringOrigin') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
        throw new CoreConfigError(K.ERR_RANGE, 'ringOrigin', `ringOrigin must be an integer from 0 to 4294967295 (got ${String(value)})`);
      }
    } else if (typeof value !== 'number' || !isInt32(value)) {
      throw configError(RANGE_STATUS[name]!, config);
    }
  }
}

/**
 * Bytes of memory `config` needs — the documented formula (it depends on maxSockets,
 * rxBufferSize and stagingSize only; maxClients and the watermarks are checked by createCore):
 *   base + header + maxSockets × (128 + rxBufferSize) + 8 × nextPow2(4 × maxSockets) + stagingSize
 * (base = the module's static data, sections 64-byte aligned), rounded up to 64 KiB pages
 * when the memory is created. Throws CoreConfigError for a config the core refuses.
 */
export function layoutBytes(config: CoreConfig): number {
  const resolved = checkedConfig(config);
  const bytes = layoutCalculator().layoutBytes(resolved.maxSockets, resolved.rxBufferSize, resolved.stagingSize);
  if (bytes < 0) throw configError(bytes, resolved);
  return bytes;
}

/** `config` with defaults filled in, every field checked to be an integer in its type's range. */
export function checkedConfig(config: CoreConfig): ResolvedCoreConfig {
  const resolved = resolveCoreConfig(config);
  checkConfigIntegers(resolved);
  return resolved;
}
