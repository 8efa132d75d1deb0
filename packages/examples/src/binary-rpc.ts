// binary-rpc: request/response over length-prefixed binary frames.
//
// Every frame is a 4-byte big-endian length and that many bytes. A request's first byte is
// the operation, the rest its argument; a reply's first byte is 0 (ok) or 1 (error).
//
//   0x01 ECHO    bytes            → the same bytes
//   0x02 SUM     uint32 BE × n     → their sum as a uint64 BE
//   0x03 SHA256  bytes            → the 32-byte digest
//
//   npx nx run examples:binary-rpc               # 127.0.0.1:5008
import { createHash } from 'node:crypto';
import { createServer, TcpEvent, type Client } from '@tcpserv/node';
import { announce, endpoint, stopOnSignals } from './shared.js';

const OK = 0;
const ERROR = 1;

function reply(status: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.of(status), body]);
}

/** The reply frame to one request frame. */
function handle(request: Buffer): Buffer {
  const op = request[0];
  const arg = request.subarray(1);
  switch (op) {
    case 0x01:
      return reply(OK, arg);
    case 0x02: {
      if (arg.length % 4 !== 0) return reply(ERROR, Buffer.from('SUM takes uint32 values'));
      let sum = 0n;
      for (let i = 0; i < arg.length; i += 4) sum += BigInt(arg.readUInt32BE(i));
      const out = Buffer.alloc(8);
      out.writeBigUInt64BE(sum);
      return reply(OK, out);
    }
    case 0x03:
      return reply(OK, createHash('sha256').update(arg).digest());
    default:
      return reply(ERROR, Buffer.from(`unknown operation ${op ?? '(empty frame)'}`));
  }
}

/** Callback style: on RECV every whole request waiting is answered, in order. */
function onRecv(client: Client): void {
  for (let request = client.tryRecvFrame(); request; request = client.tryRecvFrame()) {
    client.sendFrame(handle(request)).catch(() => {}); // the client went away: nothing to answer
  }
}

const { host, port } = endpoint(5008);
const server = await createServer({
  host, port,
  framing: { type: 'length', headerBytes: 4, endian: 'be', maxFrameSize: 1024 * 1024 },
  rxBufferSize: 2 * 1024 * 1024, // a whole largest frame fits the receive ring
  maxSockets: 256,
  notify: (client, event) => {
    if (event === TcpEvent.RECV) onRecv(client);
  },
});
announce(server);
stopOnSignals([server]);
