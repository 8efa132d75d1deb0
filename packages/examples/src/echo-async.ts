// echo-async: the same echo server in blocking style, as a thread per client would be
// written in C: an accept loop with a timeout, and one recv loop per client.
//
//   npx nx run examples:echo-async               # 127.0.0.1:5002
//   nc 127.0.0.1 5002
import { ClientClosedError, createServer, formatHostPort, ServerDestroyedError, type Client } from '@tcpserv/node';
import { announce, endpoint, stopOnSignals } from './shared.js';

const IDLE_MS = 60_000;

const { host, port } = endpoint(5002);
const server = await createServer({ host, port });
announce(server);
stopOnSignals([server]);

/** One client's life: receive, send back, until end of stream, idle time or close. */
async function serve(client: Client): Promise<void> {
  console.log(`client connect:${client.id} ${formatHostPort(client.remoteAddress, client.remotePort)}`);
  const buf = Buffer.allocUnsafe(4096);
  try {
    for (;;) {
      const n = await client.recv(buf, IDLE_MS);
      if (n === null) break; // the peer closed its side and we have read everything
      if (n === 0) {
        // recv timed out: 0 is "nothing yet", distinct from end of stream.
        await client.send(`idle for ${IDLE_MS / 1000} s, bye\n`, 1000);
        break;
      }
      // Awaiting the send before the next recv is what keeps memory bounded.
      await client.send(buf.subarray(0, n), 10_000);
    }
  } catch (error) {
    if (!(error instanceof ClientClosedError)) console.error(`client ${client.id}:`, error);
  } finally {
    await client.close(); // flushes what was sent, then FIN; a no-op if already closed
    console.log(`client disconnect:${client.id}`);
  }
}

// The seed's tcpserver_accept(server, timeout) loop. A timeout returns null, which is the
// place for periodic work; destroy() (on SIGINT/SIGTERM) ends the loop.
for (;;) {
  let client: Client | null;
  try {
    client = await server.accept(1000);
  } catch (error) {
    if (error instanceof ServerDestroyedError) break;
    throw error;
  }
  if (client) void serve(client);
}
