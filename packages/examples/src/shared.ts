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
  const { address, port } = server.address();
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

/**
 * Cuts a byte stream into lines. TCP has no messages: one recv may hold half a line or
 * several lines, so bytes wait here until their newline arrives. Lines end with "\n"
 * (a "\r" before it is dropped, for telnet and `nc -C`); longer than `maxLine` bytes throws.
 */
export class LineSplitter {
  #pending: Buffer = Buffer.alloc(0);

  constructor(readonly maxLine = 1024) {}

  /** Adds received bytes; returns the lines they complete (possibly none). */
  push(bytes: Uint8Array): string[] {
    // Copy: the caller's receive buffer is reused for the next recv.
    const data = this.#pending.length > 0 ? Buffer.concat([this.#pending, bytes]) : Buffer.from(bytes);
    const lines: string[] = [];
    let start = 0;
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, start)) {
      const end = nl > start && data[nl - 1] === 13 ? nl - 1 : nl;
      if (end - start > this.maxLine) throw new RangeError(`line longer than ${this.maxLine} bytes`);
      lines.push(data.toString('utf8', start, end));
      start = nl + 1;
    }
    this.#pending = data.subarray(start);
    if (this.#pending.length > this.maxLine) throw new RangeError(`line longer than ${this.maxLine} bytes`);
    return lines;
  }
}
