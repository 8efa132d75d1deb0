// B for `len100p16`: a straightforward node:net length-prefixed echo — collect chunks, cut
// frames of a 4-byte big-endian length + payload, write each frame back whole (as
// ../shared/tools/echo-bench/node_len_echo.js does).
//
//   node dist/len-echo.js --host 127.0.0.1 --port 5000
import net from 'node:net';
import { listenAndAnnounce, peerOptions } from './peer-common.js';

const { host, port } = peerOptions();
const server = net.createServer((socket) => {
  socket.on('error', () => {});
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    while (pending.length - at >= 4) {
      const size = pending.readUInt32BE(at);
      if (pending.length - at - 4 < size) break;
      socket.write(pending.subarray(at, at + 4 + size));
      at += 4 + size;
    }
    pending = pending.subarray(at);
  });
});
listenAndAnnounce(server, host, port);
