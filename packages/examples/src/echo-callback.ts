// echo-callback: the RT-Thread tcpserver sample, callback style.
//
// The seed registers tcpserver_event_notify() and, on TCP_SERVER_EVENT_RECV, calls
// tcpserver_recv() then tcpserver_send(). Here the callback gets the same three events.
//
//   npx nx run examples:echo-callback            # 127.0.0.1:5001
//   nc 127.0.0.1 5001                            # type lines, they come back
import { ClientClosedError, createServer, formatHostPort, TcpEvent, type Client } from '@tcpserv/node';
import { announce, endpoint, stopOnSignals } from './shared.js';

const { host, port } = endpoint(5001);
const server = await createServer({ host, port });

// Clients whose echo loop is running. RECV can fire again while we wait for a send; a
// second loop for the same client would read more before the peer takes what we sent,
// so a busy client is left to its running loop (it reads the new bytes when its send is
// done). That is the backpressure: a peer that never reads gets no more reads from us.
const busy = new WeakSet<Client>();

async function echo(client: Client): Promise<void> {
  busy.add(client);
  const buf = Buffer.allocUnsafe(1024); // the seed's char buf[]; one per loop, never shared
  try {
    // recv(buf, 0) = "don't wait": n > 0 bytes, 0 when nothing is left, null at end of stream.
    for (let n = await client.recv(buf, 0); n; n = await client.recv(buf, 0)) {
      await client.send(buf.subarray(0, n)); // resolves once the kernel has the bytes
    }
  } catch (error) {
    if (!(error instanceof ClientClosedError)) throw error; // a rejection goes to onError
  } finally {
    busy.delete(client);
  }
}

server.setNotifyCallback((client, event) => {
  switch (event) {
    case TcpEvent.CONNECT:
      console.log(`client connect:${client.id} ${formatHostPort(client.remoteAddress, client.remotePort)}`);
      break;
    case TcpEvent.RECV:
      if (!busy.has(client)) return echo(client);
      break;
    case TcpEvent.DISCONNECT:
      console.log(`client disconnect:${client.id}`);
      break;
  }
  return undefined;
});

announce(server);
stopOnSignals([server]);
