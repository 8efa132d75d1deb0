export { createServer, TcpServer, TcpEvent } from './server.js';
export type { NotifyCallback, ServerStats, ServerAddress } from './server.js';
export { Client } from './client.js';
export type { ClientStats, CloseReason } from './client.js';
export type { ServerOptions, ErrorHandler } from './options.js';
export { WAIT_FOREVER, MAX_TIMEOUT } from './validate.js';
export {
  TcpServError,
  InvalidArgumentError,
  ServerDestroyedError,
  ClientClosedError,
  SendTimeoutError,
  AbortError,
  ListenError,
  formatHostPort,
} from './errors.js';
