// A stand-in for `tcpserver echo` (packages/cli), used by the bench while the CLI is not
// built: the same flags the bench passes, the same output contract, on @tcpserv/node.
//
//   node standin-echo.js echo --host 127.0.0.1 --port 5000 [--max-clients N]
//                             [--log-level LEVEL] [--log-format text|json]
//
// stdout: `listening on HOST:PORT` once listening; on SIGUSR2 the stats line; on
// SIGTERM/SIGINT the stats line, then exit 0. The stats line is
// `stats opened=<n> rejected=<n> closed=<n> bytesIn=<n> bytesOut=<n>`, or with
// --log-format json `{"msg":"stats","opened":<n>,…}`.
import { parseArgs } from 'node:util';
import { TcpEvent, createServer } from '@tcpserv/node';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '5000' },
    'max-clients': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    'log-format': { type: 'string', default: 'text' },
  },
});
if (positionals[0] !== 'echo') {
  process.stderr.write('usage: standin-echo.js echo --host H --port P [--max-clients N] [--log-level L] [--log-format text|json]\n');
  process.exit(2);
}
const json = values['log-format'] === 'json';
const maxClients = values['max-clients'] === undefined ? undefined : Number(values['max-clients']);

const server = await createServer({
  host: values.host,
  port: Number(values.port),
  ...(maxClients === undefined ? {} : { maxClients }),
  debug: values['log-level'] === 'debug',
});

// Echo through the notify callback. A client is read only while no echo of it is in
// flight: read what is buffered, send a copy, wait until the kernel has it, read again.
// Backpressure thus reaches the peer through the core's ring and the socket's pause.
const scratch = Buffer.allocUnsafe(65536);
const inFlight = new Set();
function pump(client) {
  for (;;) {
    let n;
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
    return;
  }
}
server.setNotifyCallback((client, event) => {
  if (event === TcpEvent.RECV && !inFlight.has(client)) pump(client);
});

function statsLine() {
  const s = server.stats();
  const fields = { opened: s.opened, rejected: s.rejected, closed: s.closed, bytesIn: s.bytesIn, bytesOut: s.bytesOut };
  return json
    ? `${JSON.stringify({ msg: 'stats', ...fields })}\n`
    : `stats ${Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(' ')}\n`;
}

const { address, port } = server.address();
process.stdout.write(json
  ? `${JSON.stringify({ msg: 'listening', host: address, port })}\n`
  : `listening on ${address}:${port}\n`);

process.on('SIGUSR2', () => process.stdout.write(statsLine()));
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.destroy().then(() => process.stdout.write(statsLine(), () => process.exit(0)));
  });
}
