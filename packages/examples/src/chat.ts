// chat: every line a client sends goes to every other client, as "<id>: <line>".
// Shows line framing in the callback style, fan-out with server.broadcast, and what to do
// with a client that does not read: past maxSendQueue its sends are refused, and with
// sendQueueFull: 'close' it is disconnected as too slow.
//
//   npx nx run examples:chat                     # 127.0.0.1:5005
//   nc 127.0.0.1 5005    (in two or more terminals)
import { createServer, TcpEvent, type Client } from '@tcpserv/node';
import { announce, endpoint, stopOnSignals } from './shared.js';

const members = new Set<Client>();

/**
 * Sends `text` to every client but `from` with server.broadcast: the bytes are held once, and a
 * slow reader never delays the others (past maxSendQueue it is dropped, see below).
 */
function broadcast(text: string, from?: Client): void {
  server.broadcast(text, { except: from === undefined ? [] : from }).catch(() => {}); // rejects only once the server is gone
}

const { host, port } = endpoint(5005);
const server = await createServer({
  host, port,
  framing: { type: 'line', maxFrameSize: 1024 }, // a "line" without end is not a chat client
  maxSendQueue: 64 * 1024,                       // bytes waiting for one reader, at most
  sendQueueFull: 'close',                        // … past that it is dropped as too slow
  // Given at creation, so that even the first clients get their CONNECT.
  notify: (client, event) => {
    if (event === TcpEvent.CONNECT) {
      broadcast(`* ${client.id} joined\n`, client);
      client.send(`* you are ${client.id}; ${members.size} other(s) here\n`).catch(() => {});
      members.add(client);
    } else if (event === TcpEvent.RECV) {
      // RECV is coalesced: take every whole line waiting (undefined = none left, null = end).
      for (let line = client.tryRecvFrame(); line; line = client.tryRecvFrame()) {
        broadcast(`${client.id}: ${line.toString('utf8')}\n`, client);
      }
    } else if (members.delete(client)) {
      broadcast(`* ${client.id} left\n`);
    }
  },
});

announce(server);
stopOnSignals([server]);
