import { createServer, formatHostPort, type Client, type ServerOptions, type TcpServer } from '@tcpserv/node';
import { attachEcho } from './echo-service.js';
import type { Fields, Logger } from './log.js';
import { asUsageError } from './server-flags.js';

/**
 * Starts an echo server on `options` that logs connects, disconnects and errors through
 * `log`. In a worker of --workers, `worker` is its number: a client is named `2.5` (client 5
 * of worker 2) in text lines and has a `worker` field in JSON ones. The library's refusal
 * of an option becomes a UsageError naming the flag.
 */
export async function startEchoServer(options: ServerOptions, log: Logger, worker?: number): Promise<TcpServer> {
  const label = (client: Client): string => (worker === undefined ? String(client.id) : `${worker}.${client.id}`);
  const ids = (client: Client): Fields => (worker === undefined ? { id: client.id } : { worker, id: client.id });
  const onError = (error: unknown, client?: Client): void => log.error(`${client ? `client ${label(client)}: ` : ''}${describe(error)}`,
    'error', { error: describe(error), ...(client ? ids(client) : {}) });
  let server: TcpServer;
  try {
    server = await createServer({ ...options, onError });
  } catch (error) {
    throw asUsageError(error);
  }
  attachEcho(server, {
    onConnect: (client) => {
      const proxy = relayedBy(client);
      log.info(`client connect:${label(client)} ${remoteOf(client)}${proxy ? ` via ${formatHostPort(proxy.address, proxy.port)}` : ''}`,
        'client connect', {
          ...ids(client), address: client.remoteAddress, port: client.remotePort,
          ...(proxy ? { proxyAddress: proxy.address, proxyPort: proxy.port } : {}),
        });
    },
    onDisconnect: (client) => log.info(`client disconnect:${label(client)}`, 'client disconnect', ids(client)),
    onError,
  });
  return server;
}

/**
 * The load balancer that relayed `client` with a PROXY header (--proxy-protocol), when the
 * header carried the real client's address; `client.remoteAddress` is then the real client's.
 */
function relayedBy(client: Client): { address: string; port: number } | undefined {
  const proxy = client.proxy as { address?: unknown; port?: unknown; relayed?: unknown } | undefined;
  if (!proxy || proxy.relayed !== true || typeof proxy.address !== 'string' || typeof proxy.port !== 'number') return undefined;
  return { address: proxy.address, port: proxy.port };
}

/** `127.0.0.1:53122`, `[::1]:53122`, or `unix` for a Unix socket peer (it has no address). */
export function remoteOf(client: Client): string {
  return client.remoteFamily === 'unix' ? 'unix' : formatHostPort(client.remoteAddress, client.remotePort);
}

/** `listening on 127.0.0.1:5000` or `listening on /run/echo.sock`, with the JSON fields. */
export function logListening(log: Logger, bound: ReturnType<TcpServer['address']>): void {
  if (typeof bound === 'string') log.always(`listening on ${bound}`, 'listening', { path: bound });
  else log.always(`listening on ${formatHostPort(bound.address, bound.port)}`, 'listening', { host: bound.address, port: bound.port });
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
