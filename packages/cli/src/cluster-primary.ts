import cluster, { type Worker } from 'node:cluster';
import type { Server as HttpServer } from 'node:http';
import { formatHostPort } from '@tcpserv/node';
import { AggregatorRegistry } from 'prom-client';
import {
  WORKER_ENV, WORKER_PORT_ENV, clientShare, isToPrimary, sumCounters, type Counters, type ToPrimary, type ToWorker,
} from './cluster-protocol.js';
import { logStats } from './format.js';
import type { Logger } from './log.js';
import { closeMetrics, logMetricsAddress, serveMetrics, type MetricsAddress } from './metrics-http.js';
import { catchStopSignals } from './signals.js';

export interface PrimaryPlan {
  readonly workers: number;
  /** --max-clients for the whole service (split between the workers). */
  readonly maxClients: number;
  readonly host: string;
  readonly port: number;
  /** reusePort (the kernel spreads connections over the workers' own sockets) or cluster round-robin. */
  readonly reusePort: boolean;
  readonly metrics: MetricsAddress | undefined;
  readonly log: Logger;
}

/** How long a stopping worker may take (its destroy() is bounded by closeTimeout) before it is killed. */
const STOP_DEADLINE_MS = 15_000;

/** One worker number's current process. */
interface Slot {
  readonly index: number;
  worker: Worker;
  listening: boolean;
}

/**
 * The primary of `tcpserver echo --workers N`: forks the workers (node:cluster), restarts one
 * that dies, prints one aggregated stats line on SIGUSR2 and at the stop, and serves
 * --metrics aggregated over the workers. It serves no client itself. Resolves with the exit code.
 */
export async function runPrimary(plan: PrimaryPlan): Promise<number> {
  const { log, workers } = plan;
  const balancing = plan.reusePort ? 'reusePort' : 'round-robin';
  log.always(plan.reusePort
    ? `workers ${workers}: reusePort (each worker listens on its own socket; the kernel spreads connections)`
    : `workers ${workers}: node:cluster round-robin (the primary accepts and hands connections out; `
      + `reusePort needs Node 22.12+ or 23.1+, this is ${process.versions.node})`,
  'workers', { workers, balancing, node: process.versions.node });

  const slots: Slot[] = [];
  let port = plan.port;
  let stopping = false;
  let nextRequest = 1;
  /** Every counter a stopped worker reported last; a worker that died reported nothing. */
  const finals = new Map<number, Counters>();

  const signals = catchStopSignals(() => {
    void ask().then((list) => logStats(log, sumCounters(list)));
  });
  /** Stats of every listening worker, now. */
  const ask = (): Promise<Counters[]> => Promise.all(slots.filter((s) => s.listening).map((slot) => {
    const request = nextRequest++;
    return new Promise<Counters>((resolve) => {
      const onMessage = (message: unknown): void => {
        if (!isToPrimary(message) || message.type !== 'stats' || message.request !== request) return;
        slot.worker.off('message', onMessage);
        slot.worker.off('exit', onExit);
        resolve(message.stats);
      };
      const onExit = (): void => {
        slot.worker.off('message', onMessage);
        resolve({ opened: 0, rejected: 0, closed: 0, bytesIn: 0, bytesOut: 0 });
      };
      slot.worker.on('message', onMessage);
      slot.worker.once('exit', onExit);
      tell(slot.worker, { type: 'stats', request });
    });
  }));

  /** Forks worker `index`; resolves when it listens, or with its exit code if it exits first. */
  const fork = (index: number): Promise<number | undefined> => {
    const env: Record<string, string> = { [WORKER_ENV]: String(index) };
    // reusePort: each worker binds the port itself, so --port 0 becomes worker 1's port. Round-robin:
    // the primary holds the socket, keyed by what the workers asked for (port 0 included).
    if (plan.reusePort && port !== 0) env[WORKER_PORT_ENV] = String(port);
    const worker = cluster.fork(env);
    const existing = slots[index - 1];
    const slot: Slot = existing ?? { index, worker, listening: false };
    slot.worker = worker;
    slot.listening = false;
    slots[index - 1] = slot;
    return new Promise((resolve) => {
      worker.on('message', (message: unknown) => {
        if (!isToPrimary(message)) return;
        onWorkerMessage(slot, worker, message);
        if (message.type === 'listening') resolve(undefined);
      });
      worker.once('exit', (code, signal) => {
        const wasListening = slot.listening && slot.worker === worker;
        if (slot.worker === worker) slot.listening = false;
        if (!wasListening) {
          resolve(code ?? 1);
          return;
        }
        if (stopping) return;
        log.warn(`worker ${index} pid ${worker.process.pid} died (${signal ?? `exit code ${code}`}); its counters are lost; starting a new one`,
          'worker died', { worker: index, pid: worker.process.pid ?? 0, ...(signal ? { signal } : { code: code ?? 0 }) });
        void fork(index).then((failed) => {
          if (failed !== undefined && !stopping) {
            log.error(`worker ${index} could not be restarted (exit code ${failed}); the service runs with one worker less`,
              'worker restart failed', { worker: index, code: failed });
          }
        });
      });
    });
  };

  const onWorkerMessage = (slot: Slot, worker: Worker, message: ToPrimary): void => {
    if (message.type === 'listening') {
      if (port === 0 || !plan.reusePort) port = message.port;
      slot.listening = true;
      const share = clientShare(plan.maxClients, workers, slot.index);
      log.info(`worker ${slot.index} pid ${worker.process.pid} listening, up to ${share} of --max-clients ${plan.maxClients}`,
        'worker listening', { worker: slot.index, pid: worker.process.pid ?? 0, maxClients: share });
    } else if (message.type === 'stopped') {
      finals.set(slot.index, message.stats);
    }
  };

  let http: HttpServer | undefined;
  try {
    if (plan.metrics) {
      const aggregator = new AggregatorRegistry();
      http = await serveMetrics(plan.metrics, {
        metrics: () => aggregator.clusterMetrics(),
        contentType: aggregator.contentType,
        healthy: () => !stopping && slots.length === workers && slots.every((s) => s.listening),
      }, (error) => log.error(`--metrics: ${error instanceof Error ? error.message : String(error)}`, 'metrics error'));
    }
    // Worker 1 first: with --port 0 it picks the port the others then share.
    const startup = (async (): Promise<number | undefined> => {
      const failed = await fork(1);
      if (failed !== undefined) return failed;
      if (stopping) return undefined; // a signal came while worker 1 started: start no more
      const rest = await Promise.all(Array.from({ length: workers - 1 }, (_, i) => fork(i + 2)));
      return rest.find((code) => code !== undefined);
    })();
    const first = await Promise.race([startup, signals.stopped.then(() => 'signal' as const)]);
    if (typeof first === 'number') {
      stopping = true;
      await stopWorkers(slots);
      return first === 0 ? 1 : first;
    }
    if (first !== 'signal') {
      log.always(`listening on ${formatHostPort(plan.host, port)}`, 'listening', { host: plan.host, port, workers });
      if (http) logMetricsAddress(log, http);
      await signals.stopped;
    }
    stopping = true;
    await stopWorkers(slots);
    for (const slot of slots) {
      const stats = finals.get(slot.index);
      if (!stats) log.warn(`worker ${slot.index} reported no final stats`, 'worker lost', { worker: slot.index });
    }
    logStats(log, sumCounters([...finals.values()]));
    return 0;
  } finally {
    signals.dispose();
    if (http) await closeMetrics(http);
  }
}

function tell(worker: Worker, message: ToWorker): void {
  if (worker.isConnected()) worker.send(message);
}

/** Asks every worker to stop and waits for them to exit (killing one that takes too long). */
async function stopWorkers(slots: readonly Slot[]): Promise<void> {
  await Promise.all(slots.map(({ worker }) => new Promise<void>((resolve) => {
    if (worker.isDead()) {
      resolve();
      return;
    }
    const timer = setTimeout(() => worker.process.kill('SIGKILL'), STOP_DEADLINE_MS);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    tell(worker, { type: 'stop' });
  })));
}

