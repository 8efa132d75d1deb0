import { isIP, type AddressInfo } from 'node:net';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ListenError, formatHostPort, type TcpServer } from '@tcpserv/node';
import type { Registry } from 'prom-client';
import { UsageError, type Flag } from './flags.js';
import type { Logger } from './log.js';

/** `--metrics HOST:PORT`: where the HTTP endpoint listens (`[::1]:9100` for IPv6). */
export interface MetricsAddress {
  readonly host: string;
  readonly port: number;
}

export function metricsFlag(description: string): Flag<MetricsAddress> {
  return {
    value: 'HOST:PORT', description,
    parse(raw, flag) {
      // IPv6 in brackets, IPv4 bare; port 0 picks a free one (printed).
      const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(raw) ?? /^([^:[\]]+):(\d{1,5})$/.exec(raw);
      const family = m ? isIP(m[1]!) : 0;
      const bracketed = raw.startsWith('[');
      if (!m || family === 0 || (family === 6) !== bracketed || Number(m[2]) > 65535) {
        throw new UsageError(`${flag} must be IP:PORT such as 127.0.0.1:9100 or [::1]:9100 (got ${JSON.stringify(raw)})`);
      }
      return { host: m[1]!, port: Number(m[2]) };
    },
  };
}

/** What the endpoint serves: the exposition text, and whether the service is up. */
export interface MetricsSource {
  /** Prometheus text exposition of every metric (aggregated over workers in cluster mode). */
  metrics(): Promise<string>;
  readonly contentType: string;
  /** True while every part of the service listens (false during start-up, a restart, or the stop). */
  healthy(): boolean;
}

/** The library's metrics of one server (`server.metricsRegistry`, a prom-client Registry labelled server=<name>). */
export function serverMetricsRegistry(server: TcpServer): Registry {
  const registry = (server as unknown as { metricsRegistry?: Registry }).metricsRegistry;
  if (!registry || typeof registry.metrics !== 'function') {
    throw new UsageError('--metrics needs a @tcpserv/node with server.metricsRegistry (Prometheus metrics), which this one lacks');
  }
  return registry;
}

/**
 * Serves `GET /metrics` (the text format) and `GET /healthz` (200 "ok" or 503 "unavailable")
 * on HOST:PORT; anything else is 404. Resolves once listening.
 */
export async function serveMetrics(at: MetricsAddress, source: MetricsSource, onError: (error: unknown) => void): Promise<Server> {
  const http = createServer((request, response) => {
    void respond(request, response, source).catch((error: unknown) => {
      onError(error);
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end('metrics failed\n');
    });
  });
  const where = `${formatHostPort(at.host, at.port)} (--metrics)`;
  await new Promise<void>((resolve, reject) => {
    http.once('error', (error: NodeJS.ErrnoException) => reject(new ListenError(error.code ?? 'ERR_LISTEN', where, error)));
    http.listen({ host: at.host, port: at.port }, resolve);
  });
  return http;
}

async function respond(request: IncomingMessage, response: ServerResponse, source: MetricsSource): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
  } else if (path === '/metrics') {
    const text = await source.metrics();
    response.writeHead(200, { 'content-type': source.contentType }).end(text);
  } else if (path === '/healthz') {
    const up = source.healthy();
    response.writeHead(up ? 200 : 503, { 'content-type': 'text/plain' }).end(up ? 'ok\n' : 'unavailable\n');
  } else {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  }
}

/** `metrics on http://127.0.0.1:9100/metrics` (the real port when 0 was asked for). */
export function logMetricsAddress(log: Logger, http: Server): void {
  const a = http.address() as AddressInfo;
  log.always(`metrics on http://${formatHostPort(a.address, a.port)}/metrics`, 'metrics', { host: a.address, port: a.port });
}

/** Closes the endpoint (and any scrape in progress). */
export function closeMetrics(http: Server): Promise<void> {
  return new Promise((resolve) => {
    http.close(() => resolve());
    http.closeAllConnections();
  });
}
