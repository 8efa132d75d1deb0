/**
 * What the primary of `tcpserver echo --workers N` and its workers say to each other over
 * node:cluster's IPC channel, and how the service's limits are split between them.
 */
import type { ServerStats } from '@tcpserv/node';
import { statsFields } from './format.js';

/** Set in a worker's environment: its number, 1…N (a restarted worker keeps its number). */
export const WORKER_ENV = 'TCPSERVER_WORKER';
/** Set in a worker's environment once the port is known (with --port 0, worker 1 picked it). */
export const WORKER_PORT_ENV = 'TCPSERVER_WORKER_PORT';

export type Counters = ReturnType<typeof statsFields>;

export type ToWorker =
  | { readonly type: 'stats'; readonly request: number }
  | { readonly type: 'stop' };

export type ToPrimary =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'stats'; readonly request: number; readonly stats: Counters }
  | { readonly type: 'stopped'; readonly stats: Counters };

export function isToPrimary(message: unknown): message is ToPrimary {
  const type = (message as { type?: unknown } | null)?.type;
  return type === 'listening' || type === 'stats' || type === 'stopped';
}

export function isToWorker(message: unknown): message is ToWorker {
  const type = (message as { type?: unknown } | null)?.type;
  return type === 'stats' || type === 'stop';
}

/**
 * Worker `index`'s part (1-based) of a service-wide client limit: the limit split as evenly
 * as whole numbers allow, so the parts add up to exactly `total` and the service as a whole
 * never serves more. (The primary refuses more workers than `total`.)
 */
export function clientShare(total: number, workers: number, index: number): number {
  return Math.floor(total / workers) + (index <= total % workers ? 1 : 0);
}

/** The sum of the workers' counters (the aggregated stats line). */
export function sumCounters(list: readonly Counters[]): Counters {
  const total: Counters = { opened: 0, rejected: 0, closed: 0, bytesIn: 0, bytesOut: 0 };
  for (const c of list) {
    total.opened += c.opened;
    total.rejected += c.rejected;
    total.closed += c.closed;
    total.bytesIn += c.bytesIn;
    total.bytesOut += c.bytesOut;
  }
  return total;
}

export function countersOf(stats: ServerStats): Counters {
  return statsFields(stats);
}

/**
 * Whether this Node has `server.listen({ reusePort })` (SO_REUSEPORT: every worker its own
 * listening socket, the kernel spreads connections): Node 22.12+ / 23.1+, the rule
 * @tcpserv/node applies to its `reusePort` option.
 */
export function nodeHasReusePort(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}
