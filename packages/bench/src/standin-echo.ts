// A stand-in for `tcpserver echo` (packages/cli), used by the bench while the CLI is not
// built or (with --standin) to test the harness before the CLI has a flag: the same flags
// the bench passes, the same output contract, on @tcpserv/node where it can be.
//
//   node dist/standin-echo.js echo --host 127.0.0.1 --port 5000 [--max-clients N]
//        [--log-level LEVEL] [--log-format text|json]
//        [--framing line|length:4|…] [--tls-cert FILE --tls-key FILE] [--workers N]
//
// stdout: `listening on HOST:PORT` once listening; on SIGUSR2 the stats line; on
// SIGTERM/SIGINT the stats line, then exit 0. The stats line is
// `stats opened=<n> rejected=<n> closed=<n> bytesIn=<n> bytesOut=<n>`, or with
// --log-format json `{"msg":"stats","opened":<n>,…}`.
//
// What it is not (each said once on stderr when used):
// - --framing: the echo stays a raw byte echo through the core. For the bench's messages
//   (lines without '\r', 4-byte length frames) a frame echo returns the same bytes, so the
//   harness and its checks are exercised — but no frame is cut, so its numbers are not
//   framing's.
// - --tls-cert/--tls-key: node:tls terminates TLS and the cleartext is echoed and counted
//   in JavaScript, not through the core (@tcpserv/node has no TLS in this tree yet).
// - --workers N: node:cluster workers, each one stand-in; the primary sums their stats.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { TcpEvent, createServer, type Client } from '@tcpserv/node';

interface Stats {
  opened: number;
  rejected: number;
  closed: number;
  bytesIn: number;
  bytesOut: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '5000' },
    'max-clients': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    'log-format': { type: 'string', default: 'text' },
    framing: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    workers: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const USAGE = 'usage: standin-echo.js echo --host H --port P [--max-clients N] [--log-level L] [--log-format text|json]\n'
  + '       [--framing MODE] [--tls-cert FILE --tls-key FILE] [--workers N]\n';
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (positionals[0] !== 'echo') {
  process.stderr.write(USAGE);
  process.exit(2);
}
const json = values['log-format'] === 'json';
const workers = values.workers === undefined ? 0 : Number(values.workers);
if (!Number.isInteger(workers) || workers < 0) {
  process.stderr.write(`standin-echo: --workers must be an integer ≥ 0 (got "${values.workers}")\n`);
  process.exit(2);
}
if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
  process.stderr.write('standin-echo: --tls-cert and --tls-key go together\n');
  process.exit(2);
}
const note = (line: string): void => {
  if (cluster.isPrimary) process.stderr.write(`standin-echo: ${line}\n`);
};
if (values.framing !== undefined && values.framing !== 'raw') {
  note(`--framing ${values.framing}: stand-in echoes raw bytes through the core (the same bytes for these messages; no frames are cut)`);
}
if (values['tls-cert'] !== undefined) note('--tls-cert: stand-in terminates TLS with node:tls and counts cleartext in JS, not through the core');

function statsLine(s: Stats): string {
  const fields = { opened: s.opened, rejected: s.rejected, closed: s.closed, bytesIn: s.bytesIn, bytesOut: s.bytesOut };
  return json
    ? `${JSON.stringify({ msg: 'stats', ...fields })}\n`
    : `stats ${Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(' ')}\n`;
}

function announce(address: string, port: number): void {
  process.stdout.write(json ? `${JSON.stringify({ msg: 'listening', host: address, port })}\n` : `listening on ${address}:${port}\n`);
}

/** Echo through @tcpserv/node's notify callback; returns how to read its stats and stop it. */
async function coreEcho(): Promise<{ stats: () => Stats; stop: () => Promise<void>; address: string; port: number }> {
  const maxClients = values['max-clients'] === undefined ? undefined : Number(values['max-clients']);
  const server = await createServer({
    host: values.host,
    port: Number(values.port),
    ...(maxClients === undefined ? {} : { maxClients }),
    debug: values['log-level'] === 'debug',
  });
  // A client is read only while no echo of it is in flight: read what is buffered, send a
  // copy, wait until the kernel has it, read again. Backpressure thus reaches the peer
  // through the core's ring and the socket's pause.
  const scratch = Buffer.allocUnsafe(65536);
  const inFlight = new Set<Client>();
  const pump = (client: Client): void => {
    let n: number | null;
    try {
      n = client.tryRecv(scratch);
    } catch {
      return; // closed
    }
    if (!n) return; // 0: wait for the next RECV · null: end of stream (the binding closes)
    inFlight.add(client);
    client.send(Buffer.from(scratch.subarray(0, n))).then(
      () => {
        inFlight.delete(client);
        pump(client);
      },
      () => inFlight.delete(client),
    );
  };
  server.setNotifyCallback((client, event) => {
    if (event === TcpEvent.RECV && !inFlight.has(client)) pump(client);
  });
  const { address, port } = server.address() as { address: string; port: number };
  return { stats: () => server.stats(), stop: () => server.destroy(), address, port };
}

/** TLS terminated by node:tls; cleartext echoed and counted here. */
async function tlsEcho(): Promise<{ stats: () => Stats; stop: () => Promise<void>; address: string; port: number }> {
  const s: Stats = { opened: 0, rejected: 0, closed: 0, bytesIn: 0, bytesOut: 0 };
  const server = tls.createServer({ cert: readFileSync(values['tls-cert']!), key: readFileSync(values['tls-key']!) }, (socket) => {
    s.opened++;
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => s.closed++);
    socket.on('data', (chunk: Buffer) => {
      s.bytesIn += chunk.length;
      s.bytesOut += chunk.length;
      socket.write(chunk);
    });
    socket.on('end', () => socket.end());
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen({ host: values.host, port: Number(values.port) }, resolve));
  const { address, port } = server.address() as { address: string; port: number };
  return {
    stats: () => ({ ...s }),
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      // close() waits for open connections; the bench sends SIGTERM only after its FINs
      setTimeout(resolve, 2000).unref();
    }),
    address,
    port,
  };
}

const sum = (list: Stats[]): Stats => list.reduce((t, x) => ({
  opened: t.opened + x.opened, rejected: t.rejected + x.rejected, closed: t.closed + x.closed,
  bytesIn: t.bytesIn + x.bytesIn, bytesOut: t.bytesOut + x.bytesOut,
}), { opened: 0, rejected: 0, closed: 0, bytesIn: 0, bytesOut: 0 });

if (workers > 0 && cluster.isPrimary) {
  // The primary serves nothing: it forks the workers, then sums what they report.
  note(`--workers ${workers}: node:cluster (${cluster.schedulingPolicy === cluster.SCHED_RR ? 'round-robin' : 'OS'} scheduling)`);
  const pool = Array.from({ length: workers }, () => cluster.fork());
  let listening = 0;
  let announced = false;
  for (const w of pool) {
    w.on('message', (m: { type: string; address?: string; port?: number }) => {
      if (m.type === 'listening' && ++listening === workers && !announced) {
        announced = true;
        announce(m.address!, m.port!);
      }
    });
  }
  const ask = (type: 'stats' | 'stop'): Promise<Stats[]> => Promise.all(pool.map((w) => new Promise<Stats>((resolve) => {
    const onMessage = (m: { type: string; stats?: Stats }): void => {
      if (m.type !== 'stats') return;
      w.off('message', onMessage);
      resolve(m.stats!);
    };
    w.on('message', onMessage);
    w.send({ type });
  })));
  process.on('SIGUSR2', () => {
    void ask('stats').then((list) => process.stdout.write(statsLine(sum(list))));
  });
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      void ask('stop').then((list) => {
        list.forEach((s, i) => process.stdout.write(`worker ${i + 1} pid ${pool[i].process.pid} clients opened=${s.opened}\n`));
        process.stdout.write(statsLine(sum(list)), () => process.exit(0));
      });
    });
  }
} else {
  const echo = values['tls-cert'] !== undefined ? await tlsEcho() : await coreEcho();
  if (cluster.isWorker) {
    // Signals go to the primary only; it asks over IPC.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => {});
    process.on('message', (m: { type: string }) => {
      if (m.type === 'stats') process.send!({ type: 'stats', stats: echo.stats() });
      if (m.type === 'stop') {
        void echo.stop().then(() => process.send!({ type: 'stats', stats: echo.stats() }, () => process.exit(0)));
      }
    });
    process.send!({ type: 'listening', address: echo.address, port: echo.port });
  } else {
    announce(echo.address, echo.port);
    process.on('SIGUSR2', () => process.stdout.write(statsLine(echo.stats())));
    let stopping = false;
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.on(signal, () => {
        if (stopping) return;
        stopping = true;
        void echo.stop().then(() => process.stdout.write(statsLine(echo.stats()), () => process.exit(0)));
      });
    }
  }
}
