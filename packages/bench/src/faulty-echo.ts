// A deliberately broken echo server for the self-test: it proves the bench's checks fail
// when they should. Speaks the same contract as `tcpserver echo` (listening line, stats
// line on SIGUSR2 and at SIGTERM).
//
//   node dist/faulty-echo.js --fault none|corrupt|drop|extra|stats --host H --port P [--framing MODE]
//
//   none     a correct echo (the control)
//   corrupt  flips one bit of the 1000th byte it echoes
//   drop     leaves out the 1000th byte it echoes
//   extra    echoes the 1000th byte twice
//   stats    echoes correctly but reports one byte too many in bytesIn
//
// --framing is accepted and ignored: a raw echo returns the same bytes as a frame echo
// for the bench's messages, so the framed cases' checks can be tested with it too.
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    fault: { type: 'string', default: 'none' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'max-clients': { type: 'string' },
    framing: { type: 'string' },
  },
});
const FAULTS: readonly string[] = ['none', 'corrupt', 'drop', 'extra', 'stats'];
if (!FAULTS.includes(values.fault)) {
  process.stderr.write(`faulty-echo: --fault must be one of ${FAULTS.join(', ')}\n`);
  process.exit(2);
}

const stats = { opened: 0, rejected: 0, closed: 0, bytesIn: 0, bytesOut: 0 };
const TARGET = 1000; // the byte (counted over the whole server) that gets the fault
let echoed = 0;

const server = net.createServer((socket) => {
  stats.opened++;
  socket.on('error', () => {});
  socket.on('close', () => stats.closed++);
  socket.on('data', (chunk: Buffer) => {
    stats.bytesIn += chunk.length;
    let out = chunk;
    const i = TARGET - echoed; // index of the target byte inside this chunk
    if (i >= 0 && i < chunk.length) {
      if (values.fault === 'corrupt') {
        out = Buffer.from(chunk);
        out[i] ^= 0x01;
      } else if (values.fault === 'drop') {
        out = Buffer.concat([chunk.subarray(0, i), chunk.subarray(i + 1)]);
      } else if (values.fault === 'extra') {
        out = Buffer.concat([chunk.subarray(0, i + 1), chunk.subarray(i)]);
      }
    }
    echoed += chunk.length;
    stats.bytesOut += out.length;
    socket.write(out);
  });
  socket.on('end', () => socket.end());
});

const line = () => {
  const bytesIn = stats.bytesIn + (values.fault === 'stats' ? 1 : 0);
  return `stats opened=${stats.opened} rejected=0 closed=${stats.closed} bytesIn=${bytesIn} bytesOut=${stats.bytesOut}\n`;
};
server.listen({ host: values.host, port: Number(values.port) }, () => {
  const { address, port } = server.address() as net.AddressInfo;
  process.stdout.write(`listening on ${address}:${port}\n`);
});
process.on('SIGUSR2', () => process.stdout.write(line()));
process.on('SIGTERM', () => process.stdout.write(line(), () => process.exit(0)));
