export { createServer, TcpServer } from './server.js';
export type { ServerStats, ServerAddress, BroadcastOptions, BroadcastResult } from './server.js';
export { TcpEvent } from './notify.js';
export type { NotifyCallback, ErrorHandler } from './notify.js';
export { Client } from './client.js';
export type { ClientStats, CloseReason } from './client.js';
export type { ServerOptions } from './options.js';
export type { Framing } from './framing.js';
export type { TlsOptions, TlsMaterial, SniCallback, SecureContextFields } from './tls-options.js';
export type { TlsInfo, TlsPeerCertificate } from './tls-stage.js';
export type { ProxyInfo } from './proxy-stage.js';
export { METRIC_NAMES } from './metrics.js';
export type { ProxyEndpoint, ProxySsl, ProxyTlvs } from './proxy-protocol.js';
export { DEFAULTS, LIMITS } from './defaults.js';
export { WAIT_FOREVER, MAX_TIMEOUT } from './validate.js';
export { formatHostPort } from './address.js';
export {
  TcpServError,
  InvalidArgumentError,
  ServerDestroyedError,
  ClientClosedError,
  SendTimeoutError,
  SendQueueFullError,
  AbortError,
  ListenError,
  FrameError,
  FrameTooLargeError,
  InternalError,
  CoreConfigError,
  CoreOutOfMemoryError,
} from './errors.js';
