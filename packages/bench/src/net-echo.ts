// B: the plainest idiomatic node:net echo server — what a user would write instead of
// tcpserv. `socket.pipe(socket)` plus an error handler; every default kept (Nagle on,
// allowHalfOpen off, default backlog and highWaterMark).
//
//   node dist/net-echo.js --host 127.0.0.1 --port 5000
//
// Prints `listening on HOST:PORT` once listening; SIGTERM/SIGINT exit 0 (so that
// `node --cpu-prof` can write its profile).
import net from 'node:net';
import { listenAndAnnounce, peerOptions } from './peer-common.js';

const { host, port } = peerOptions();
const server = net.createServer((socket) => {
  socket.on('error', () => {}); // a peer's reset must not crash the server
  socket.pipe(socket);
});
listenAndAnnounce(server, host, port);
