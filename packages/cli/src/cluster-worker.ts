import type { ServerOptions, TcpServer } from '@tcpserv/node';
import { AggregatorRegistry } from 'prom-client';
import { countersOf, isToWorker, type ToPrimary } from './cluster-protocol.js';
import { statsText } from './format.js';
import type { Logger } from './log.js';
import { serverMetricsRegistry } from './metrics-http.js';
import { startEchoServer } from './serve-echo.js';

export interface WorkerPlan {
  /** This worker's number, 1…N. */
  readonly index: number;
  /** createServer options with this worker's share of --max-clients and the port to share. */
  readonly options: ServerOptions;
  /** Whether the primary serves --metrics (then this worker answers its aggregation requests). */
  readonly metrics: boolean;
  readonly log: Logger;
}

function send(message: ToPrimary): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) resolve();
    else process.send!(message, undefined, {}, () => resolve());
  });
}

/**
 * One worker of `tcpserver echo --workers N`: an echo server with its share of the clients.
 * Signals are the primary's business (a Ctrl-C reaches the whole process group): it asks for
 * stats and for the stop over IPC. If the primary goes away, the worker stops too.
 * Resolves with the exit code once stopped.
 */
export async function runWorker(plan: WorkerPlan): Promise<number> {
  const { index, log } = plan;
  const ignore = (): void => {};
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGUSR2'] as const) process.on(signal, ignore);
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = resolve;
  });
  let server: TcpServer | undefined;
  const onMessage = (message: unknown): void => {
    if (!isToWorker(message)) return;
    if (message.type === 'stop') requestStop();
    else if (server) void send({ type: 'stats', request: message.request, stats: countersOf(server.stats()) });
  };
  process.on('message', onMessage);
  process.once('disconnect', requestStop);
  try {
    server = await startEchoServer(plan.options, log, index);
    if (plan.metrics) {
      // prom-client's AggregatorRegistry in the primary asks every worker for the registries set
      // here; constructing one is what makes this worker answer (it adds the IPC listener).
      AggregatorRegistry.setRegistries([serverMetricsRegistry(server)]);
      new AggregatorRegistry();
    }
    const bound = server.address();
    await send({ type: 'listening', port: typeof bound === 'string' ? 0 : bound.port });
    await stopRequested;
    await server.destroy();
    const stats = countersOf(server.stats());
    log.info(`worker ${index} pid ${process.pid} stopped: stats ${statsText(stats)}`, 'worker stopped', { worker: index, pid: process.pid, ...stats });
    await send({ type: 'stopped', stats });
    return 0;
  } finally {
    process.off('message', onMessage);
  }
}
