// What every plain-Node peer server (B side) shares: its flags, the `listening on` line the
// bench waits for, and a clean exit on SIGTERM/SIGINT. Kept apart so that each peer file
// shows only the idiomatic server it stands for.
import type { Server } from 'node:net';
import { parseArgs } from 'node:util';

/** The flags of a peer: --host, --port and, for the TLS peer, --cert and --key files. */
export interface PeerOptions {
  host: string;
  port: number;
  cert?: string;
  key?: string;
  workers: number;
}

/** Parses the peer's argv; exits 2 naming the flag on a bad value. */
export function peerOptions(argv = process.argv.slice(2)): PeerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      cert: { type: 'string' },
      key: { type: 'string' },
      workers: { type: 'string', default: '2' },
    },
  });
  const port = Number(values.port);
  const workers = Number(values.workers);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be an integer 0..65535 (got "${values.port}")`);
  if (!Number.isInteger(workers) || workers < 1) fail(`--workers must be an integer ≥ 1 (got "${values.workers}")`);
  return { host: values.host, port, cert: values.cert, key: values.key, workers };
}

function fail(message: string): never {
  process.stderr.write(`${process.argv[1]}: ${message}\n`);
  process.exit(2);
}

/** Listens, prints `listening on HOST:PORT`, and exits 0 on SIGTERM/SIGINT. */
export function listenAndAnnounce(server: Server, host: string, port: number, announce = true): void {
  server.listen({ host, port }, () => {
    const a = server.address();
    if (announce && a && typeof a === 'object') process.stdout.write(`listening on ${a.address}:${a.port}\n`);
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
}
