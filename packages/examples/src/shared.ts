// Small helpers every example uses, so each example file shows only its own idea.
import { isIP } from 'node:net';
import { formatHostPort, type TcpServer } from '@tcpserv/node';

/**
 * Where to listen: `node example.js [host] [port]`, else TCPSERV_HOST / TCPSERV_PORT,
 * else 127.0.0.1 and the example's own default port. Port 0 picks a free port.
 */
export function endpoint(defaultPort: number): { host: string; port: number } {
  const [argHost, argPort] = process.argv.slice(2);
  const host = argHost ?? process.env.TCPSERV_HOST ?? '127.0.0.1';
  const rawPort = argPort ?? process.env.TCPSERV_PORT ?? String(defaultPort);
  const port = Number(rawPort);
  if (isIP(host) === 0 || !/^\d+$/.test(rawPort) || port > 65535) {
    console.error(`usage: ${process.argv[1]} [ip] [port] (got ${host} ${rawPort})`);
    process.exit(2);
  }
  return { host, port };
}


/** Prints `listening on HOST:PORT` with the real port (what the tests wait for). */
export function announce(server: TcpServer): void {
  const bound = server.address();
  if (typeof bound === 'string') throw new Error('the examples listen on TCP');
  const { address, port } = bound;
  console.log(`listening on ${formatHostPort(address, port)}`);
}

/** On SIGINT or SIGTERM: destroy the servers (closing every client), then exit 0. */
export function stopOnSignals(servers: readonly TcpServer[]): void {
  const stop = (): void => {
    void Promise.all(servers.map((server) => server.destroy())).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
