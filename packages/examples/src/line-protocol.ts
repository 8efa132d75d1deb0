// line-protocol: a tiny request/response protocol on top of a byte stream.
//
//   PING → PONG      TIME → the server's time (ISO 8601)      QUIT → BYE, then close
//   anything else → ERR unknown command                       over 1024 bytes → ERR line too long, close
//
// recv hands out whatever bytes arrived: half a command, or several at once. A LineSplitter
// keeps the partial line between reads and yields only complete ones.
//
//   npx nx run examples:line-protocol            # 127.0.0.1:5006
//   nc -C 127.0.0.1 5006                         # type PING, TIME, QUIT
import { ClientClosedError, createServer, type Client } from '@tcpserv/node';
import { announce, endpoint, LineSplitter, stopOnSignals } from './shared.js';

const { host, port } = endpoint(5006);
const server = await createServer({ host, port });
announce(server);
stopOnSignals([server]);

/** The answer to one request line, and whether to close after it. */
function answer(line: string): [reply: string, close: boolean] {
  switch (line.trim().toUpperCase()) {
    case 'PING': return ['PONG', false];
    case 'TIME': return [new Date().toISOString(), false];
    case 'QUIT': return ['BYE', true];
    default: return ['ERR unknown command', false];
  }
}

async function serve(client: Client): Promise<void> {
  const lines = new LineSplitter(1024);
  const buf = Buffer.allocUnsafe(4096);
  try {
    for (;;) {
      const n = await client.recv(buf);
      if (n === null) return; // end of stream: the library half-closes once replies flushed
      let requests: string[];
      try {
        requests = lines.push(buf.subarray(0, n));
      } catch {
        await client.send('ERR line too long\n');
        return;
      }
      for (const request of requests) {
        if (request === '') continue;
        const [reply, close] = answer(request);
        await client.send(`${reply}\n`);
        if (close) return;
      }
    }
  } catch (error) {
    if (!(error instanceof ClientClosedError)) console.error(`client ${client.id}:`, error);
  } finally {
    await client.close(); // after QUIT or an error: flush the reply, then FIN
  }
}

for await (const client of server) void serve(client);
