// B for `tls100`: the plainest node:tls echo, `tls.createServer(opts, (s) => s.pipe(s))`.
//
//   node dist/tls-echo.js --host 127.0.0.1 --port 5000 --cert cert.pem --key key.pem
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { listenAndAnnounce, peerOptions } from './peer-common.js';

const { host, port, cert, key } = peerOptions();
if (!cert || !key) {
  process.stderr.write('tls-echo: --cert FILE and --key FILE are required\n');
  process.exit(2);
}
const opts = { cert: readFileSync(cert), key: readFileSync(key) };
const server = tls.createServer(opts, (s) => {
  s.on('error', () => {});
  s.pipe(s);
});
server.on('tlsClientError', () => {}); // a client that gives up mid-handshake is not our error
listenAndAnnounce(server, host, port);
