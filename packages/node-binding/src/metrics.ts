/**
 * Prometheus metrics of one server, built on prom-client (which writes the text exposition
 * format and lets a cluster primary aggregate workers with AggregatorRegistry). Nothing is
 * counted per message: every value is read from server.stats() when the registry is scraped,
 * one snapshot per scrape. Every metric carries the label server=<name>, so the registries of
 * several servers (or workers) can be aggregated side by side.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import type { CloseReason } from './client.js';
import type { ServerStats } from './server.js';

/** Names of the metrics, for dashboards and alert rules (docs/deploy.md lists what to alert on). */
export const METRIC_NAMES = Object.freeze({
  clientsLive: 'tcpserv_clients_live',
  clientsMax: 'tcpserv_clients_max',
  clientsOpened: 'tcpserv_clients_opened_total',
  clientsRejected: 'tcpserv_clients_rejected_total',
  clientsClosed: 'tcpserv_clients_closed_total',
  clientsPaused: 'tcpserv_clients_paused',
  acceptQueue: 'tcpserv_accept_queue_length',
  bytesIn: 'tcpserv_received_bytes_total',
  bytesOut: 'tcpserv_sent_bytes_total',
  sendQueueBytes: 'tcpserv_send_queue_bytes',
  slotsUsed: 'tcpserv_client_slots_used',
  frameErrors: 'tcpserv_frame_errors_total',
  tlsErrors: 'tcpserv_tls_errors_total',
  proxyErrors: 'tcpserv_proxy_errors_total',
  acceptErrors: 'tcpserv_accept_errors_total',
  eventLoopLag: 'tcpserv_event_loop_lag_seconds',
  eventLoopLagP99: 'tcpserv_event_loop_lag_p99_seconds',
  eventLoopLagMax: 'tcpserv_event_loop_lag_max_seconds',
});

/** Every CloseReason, so each `reason` label is present (at 0) from the first scrape on. */
const CLOSE_REASONS: readonly CloseReason[] = ['peer', 'error', 'close', 'abort', 'idle', 'lifetime', 'server', 'slow', 'frame'];

/** Event-loop delay resolution in ms (as prom-client's own nodejs_eventloop_lag_* metrics). */
const LAG_RESOLUTION_MS = 10;

/** The metrics of one server in their own prom-client Registry. */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly #stats: () => ServerStats;
  #snapshot: ServerStats | undefined;
  readonly #lag: IntervalHistogram;

  constructor(name: string, stats: () => ServerStats) {
    this.#stats = stats;
    this.#lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    this.#lag.enable();
    const labels = { server: name };
    const registers = [this.registry];
    const snapshot = (): ServerStats => this.#take();
    const gauge = (metric: string, help: string, read: (s: ServerStats) => number): void => {
      new Gauge({
        name: metric, help, labelNames: ['server'], registers,
        collect() {
          this.set(labels, read(snapshot()));
        },
      });
    };
    const counter = (metric: string, help: string, read: (s: ServerStats) => number): void => {
      new Counter({
        name: metric, help, labelNames: ['server'], registers,
        collect() {
          // The server's own counter is the truth: show it as it is now.
          this.reset();
          this.inc(labels, read(snapshot()));
        },
      });
    };
    const N = METRIC_NAMES;
    gauge(N.clientsLive, 'Clients connected now.', (s) => s.live);
    gauge(N.clientsMax, 'The admission limit (maxClients) now.', (s) => s.maxClients);
    counter(N.clientsOpened, 'Clients admitted since the server started.', (s) => s.opened);
    counter(N.clientsRejected, 'Connections refused by maxClients, maxClientsPerAddress or a full client table.', (s) => s.rejected);
    new Counter({
      name: N.clientsClosed, help: 'Clients disconnected, by reason (peer, error, close, abort, idle, lifetime, server, slow, frame).',
      labelNames: ['server', 'reason'], registers,
      collect() {
        const byReason = snapshot().closedByReason;
        this.reset();
        for (const reason of CLOSE_REASONS) this.inc({ server: name, reason }, byReason[reason]);
      },
    });
    gauge(N.clientsPaused, 'Clients whose reading is paused because their receive buffer is full.', (s) => s.paused);
    gauge(N.acceptQueue, 'Connected clients that accept() could still return.', (s) => s.pendingAccept);
    counter(N.bytesIn, 'Bytes received from all clients.', (s) => s.bytesIn);
    counter(N.bytesOut, 'Bytes the kernel took for all clients.', (s) => s.bytesOut);
    gauge(N.sendQueueBytes, 'Bytes accepted by send() and not yet taken by the kernel, over all clients.', (s) => s.sendQueueBytes);
    gauge(N.slotsUsed, 'Client table slots in use (clients plus disconnected ones with unread bytes).', (s) => s.usedSlots);
    counter(N.frameErrors, 'Clients closed for a frame larger than maxFrameSize.', (s) => s.frameErrors);
    counter(N.tlsErrors, 'Connections whose TLS handshake failed.', (s) => s.tlsErrors);
    counter(N.proxyErrors, 'Connections refused for a missing, malformed, oversized, late or untrusted PROXY header.', (s) => s.proxyErrors);
    counter(N.acceptErrors, 'accept() failures reported by the system (EMFILE, ENFILE, …).', (s) => s.acceptErrors);

    // Event-loop delay since the previous scrape; a cluster primary shows the worst worker.
    const lag = this.#lag;
    let p99 = 0;
    let max = 0;
    new Gauge({
      name: N.eventLoopLag, help: 'Mean event-loop delay since the previous scrape, in seconds.',
      labelNames: ['server'], registers, aggregator: 'max',
      collect() {
        const sampled = lag.count > 0;
        p99 = sampled ? lag.percentile(99) / 1e9 : 0;
        max = sampled ? lag.max / 1e9 : 0;
        this.set(labels, sampled ? lag.mean / 1e9 : 0);
        lag.reset();
      },
    });
    // Set by the mean's collect, which the registry runs first (registration order).
    new Gauge({
      name: N.eventLoopLagP99, help: '99th percentile of the event-loop delay since the previous scrape, in seconds.',
      labelNames: ['server'], registers, aggregator: 'max',
      collect() {
        this.set(labels, p99);
      },
    });
    new Gauge({
      name: N.eventLoopLagMax, help: 'Longest event-loop delay since the previous scrape, in seconds.',
      labelNames: ['server'], registers, aggregator: 'max',
      collect() {
        this.set(labels, max);
      },
    });
  }

  /** Stops the event-loop delay sampling (the server was destroyed). */
  close(): void {
    this.#lag.disable();
  }

  /**
   * One stats() per scrape: the registry runs every collect in the same synchronous pass, so
   * the values of one scrape agree with each other (and stats() walks the clients once).
   */
  #take(): ServerStats {
    if (this.#snapshot === undefined) {
      this.#snapshot = this.#stats();
      queueMicrotask(() => {
        this.#snapshot = undefined;
      });
    }
    return this.#snapshot;
  }
}
