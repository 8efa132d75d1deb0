// B for `line100p16`: the plainest idiomatic node:net line echo — readline cuts lines and
// each is written back with its newline, exactly as issue 11 names it:
// `readline.createInterface({ input: socket, crlfDelay: Infinity }).on('line', (l) => socket.write(l + '\n'))`.
//
//   node dist/line-echo.js --host 127.0.0.1 --port 5000
import net from 'node:net';
import readline from 'node:readline';
import { listenAndAnnounce, peerOptions } from './peer-common.js';

const { host, port } = peerOptions();
const server = net.createServer((socket) => {
  socket.on('error', () => {});
  readline.createInterface({ input: socket, crlfDelay: Infinity })
    .on('line', (l) => socket.write(l + '\n'))
    .on('error', () => {}); // readline re-emits the socket's errors
});
listenAndAnnounce(server, host, port);
