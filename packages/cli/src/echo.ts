import cluster from 'node:cluster';
import type { Server as HttpServer } from 'node:http';
import { availableParallelism } from 'node:os';
import { DEFAULTS, LIMITS, type ServerOptions, type TcpServer } from '@tcpserv/node';
import { runPrimary } from './cluster-primary.js';
import { WORKER_ENV, WORKER_PORT_ENV, clientShare, nodeHasReusePort } from './cluster-protocol.js';
import { runWorker } from './cluster-worker.js';
import { UsageError, addressFlag, choiceFlag, describeFlags, integerFlag, parseCommandFlags, switchFlag, type Flag } from './flags.js';
import { logStats } from './format.js';
import { LOG_FORMATS, LOG_LEVELS, Logger } from './log.js';
import { closeMetrics, logMetricsAddress, metricsFlag, serveMetrics, serverMetricsRegistry, type MetricsAddress } from './metrics-http.js';
import { SERVER_FLAGS, serverOptions } from './server-flags.js';
import { logListening, startEchoServer } from './serve-echo.js';
import { catchStopSignals } from './signals.js';
import { unixFlag } from './unix-flag.js';

/** Most workers `--workers` takes (a process each). */
const MAX_WORKERS = 256;

/** `--workers N|auto`: auto is os.availableParallelism(). */
function workersFlag(): Flag<number> {
  const number = integerFlag('N', '', 1, MAX_WORKERS);
  return {
    value: 'N|auto',
    description: 'serve with N node:cluster worker processes (auto = one per CPU, os.availableParallelism()); '
      + '--max-clients is split between them so the service never serves more in total; SIGUSR2 and the stop print the sum',
    defaultText: 'one process, no workers',
    parse(raw, flag) {
      if (raw === 'auto') return availableParallelism();
      try {
        return number.parse(raw, flag);
      } catch {
        throw new UsageError(`${flag} must be auto or an integer from 1 to ${MAX_WORKERS} (got ${JSON.stringify(raw)})`);
      }
    },
  };
}

export const ECHO_FLAGS = {
  host: addressFlag('IP', 'address to listen on (IPv4 or IPv6)', '127.0.0.1'),
  port: integerFlag('PORT', 'TCP port; 0 picks a free one (printed)', LIMITS.port.min, LIMITS.port.max, '5000'),
  unix: unixFlag(),
  ...SERVER_FLAGS,
  workers: workersFlag(),
  metrics: metricsFlag('serve Prometheus metrics on http://HOST:PORT/metrics (summed over workers) and a health check on /healthz'),
  'log-level': choiceFlag('LEVEL', 'debug, info, warn or error; debug also turns on the library\'s debug log', LOG_LEVELS, 'info'),
  'log-format': choiceFlag('FORMAT', 'text or json (one object a line)', LOG_FORMATS, 'text'),
  help: switchFlag('show this help'),
} as const;

export const ECHO_HELP = `Usage: tcpserver echo [flags]

Echoes every byte back to its sender (the seed's echo sample), or with --framing every
frame. Prints "listening on HOST:PORT" (or the --unix path) when it serves, "client
connect:ID ADDRESS" and "client disconnect:ID" at info level, and on SIGINT/SIGTERM stops
(closing every client), prints "stats opened=N rejected=N closed=N bytesIn=N bytesOut=N"
and exits 0. SIGUSR2 prints the stats line without stopping.

With --workers N, the first line says how connections reach the workers (reusePort, or
node:cluster round-robin where this Node lacks it); client ids are WORKER.ID (2.5: client 5
of worker 2). --max-clients is for the whole service: it is split between the workers
(e.g. ${DEFAULTS.maxSockets} over 3 workers: ${[1, 2, 3].map((i) => clientShare(DEFAULTS.maxSockets, 3, i)).join(', ')}), so the total never exceeds it, and a worker that
is full refuses a connection even if another one has room. --max-clients-per-address
applies in each worker. The stats line is the sum over the workers; a worker that dies is
restarted (logged on stderr), and the counters it had are lost.

Flags:
${describeFlags(ECHO_FLAGS)}
`;

/** `tcpserver echo`: resolves with the exit code once stopped by a signal. */
export async function runEcho(argv: readonly string[]): Promise<number> {
  const flags = parseCommandFlags('echo', argv, ECHO_FLAGS, ECHO_HELP);
  if (!flags) return 0;
  const log = new Logger(flags['log-level'], flags['log-format']);
  if (flags.unix !== undefined && (flags.host !== undefined || flags.port !== undefined)) {
    throw new UsageError(`--unix listens on a socket file instead of a TCP address: give it without ${flags.host !== undefined ? '--host' : '--port'}`);
  }
  const host = flags.host ?? '127.0.0.1';
  const port = flags.port ?? 5000;
  const where: ServerOptions = flags.unix !== undefined ? { path: flags.unix } : { host, port };
  const options = serverOptions(flags, { ...where, debug: log.level === 'debug' });

  const workers = flags.workers;
  if (workers === undefined) return serveOneProcess(options, log, flags.metrics);
  if (flags.unix !== undefined) throw new UsageError('--workers serves a TCP port: it cannot be combined with --unix');
  // As in one process: --max-clients, else every slot of --max-sockets, else the library's default.
  const maxClients = flags['max-clients'] ?? flags['max-sockets'] ?? DEFAULTS.maxSockets;
  if (workers > maxClients) {
    throw new UsageError(`--workers must be at most --max-clients (${maxClients}): each worker serves at least one client (got "${workers}")`);
  }
  const reusePort = nodeHasReusePort();
  const index = Number(process.env[WORKER_ENV]);
  if (cluster.isWorker && Number.isInteger(index) && index >= 1) {
    const sharedPort = Number(process.env[WORKER_PORT_ENV] ?? port);
    return runWorker({
      index, log, metrics: flags.metrics !== undefined,
      options: { ...options, port: sharedPort, maxClients: clientShare(maxClients, workers, index), ...(reusePort ? { reusePort } : {}) },
    });
  }
  return runPrimary({ workers, maxClients, host, port, reusePort, metrics: flags.metrics, log });
}

/** One process serves every client (no --workers). */
async function serveOneProcess(options: ServerOptions, log: Logger, metrics: MetricsAddress | undefined): Promise<number> {
  let server: TcpServer | undefined;
  let stopping = false;
  const signals = catchStopSignals(() => server && logStats(log, server.stats()));
  let http: HttpServer | undefined;
  try {
    server = await startEchoServer(options, log);
    if (metrics) {
      const registry = serverMetricsRegistry(server);
      http = await serveMetrics(metrics, {
        metrics: () => registry.metrics(),
        contentType: registry.contentType,
        healthy: () => !stopping,
      }, (error) => log.error(`--metrics: ${error instanceof Error ? error.message : String(error)}`, 'metrics error'));
    }
    logListening(log, server.address());
    if (http) logMetricsAddress(log, http);
    await signals.stopped;
    stopping = true;
    await server.destroy();
    logStats(log, server.stats());
    return 0;
  } finally {
    signals.dispose();
    if (http) await closeMetrics(http);
    if (server && !server.destroyed) await server.destroy();
  }
}
