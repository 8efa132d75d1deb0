// B: the plainest idiomatic node:net echo server — what a user would write instead of
// tcpserv. `socket.pipe(socket)` plus an error handler; every default kept (Nagle on,
// allowHalfOpen off, default backlog and highWaterMark).
//
//   node net-echo.js --host 127.0.0.1 --port 5000
//
// Prints `listening on HOST:PORT` once listening; SIGTERM/SIGINT exit 0 (so that
// `node --cpu-prof` can write its profile).
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' } },
});

const server = net.createServer((socket) => {
  socket.on('error', () => {}); // a peer's reset must not crash the server
  socket.pipe(socket);
});

server.listen({ host: values.host, port: Number(values.port) }, () => {
  const { address, port } = server.address();
  process.stdout.write(`listening on ${address}:${port}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
