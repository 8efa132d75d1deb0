export { main, run, VERSION } from './main.js';
export { attachEcho } from './echo-service.js';
export type { EchoHooks } from './echo-service.js';
export { UsageError } from './flags.js';
