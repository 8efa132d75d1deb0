// chat: every line a client sends goes to every other client, as "<id>: <line>".
// Shows per-client framing (lines), fan-out sends, and what to do with a client that
// does not read: its unsent lines pile up, so past a limit it is disconnected.
//
//   npx nx run examples:chat                     # 127.0.0.1:5005
//   nc 127.0.0.1 5005    (in two or more terminals)
import { ClientClosedError, createServer, TcpEvent, type Client } from '@tcpserv/node';
import { announce, endpoint, LineSplitter, stopOnSignals } from './shared.js';

/** Lines queued to one client and not yet taken by the kernel; more means it is stuck. */
const MAX_BACKLOG = 256;

const { host, port } = endpoint(5005);
const server = await createServer({ host, port });

interface Member {
  readonly lines: LineSplitter;
  backlog: number;
}
const members = new Map<Client, Member>();

/** Sends `text` to every member but `from`; a member too far behind is dropped. */
function broadcast(text: string, from?: Client): void {
  for (const [client, member] of members) {
    if (client === from) continue;
    if (member.backlog >= MAX_BACKLOG) {
      void client.abort(); // DISCONNECT follows and removes it
      continue;
    }
    member.backlog++;
    client.send(text).then(
      () => member.backlog--,
      (error: unknown) => { if (!(error instanceof ClientClosedError)) console.error(error); },
    );
  }
}

server.setNotifyCallback((client, event) => {
  if (event === TcpEvent.CONNECT) {
    members.set(client, { lines: new LineSplitter(), backlog: 0 });
    broadcast(`* ${client.id} joined\n`, client);
    void client.send(`* you are ${client.id}; ${members.size - 1} other(s) here\n`).catch(() => {});
  } else if (event === TcpEvent.RECV) {
    const member = members.get(client);
    if (!member) return;
    const buf = Buffer.allocUnsafe(4096);
    try {
      // Read everything buffered (RECV is coalesced); null = end of stream, 0 = done for now.
      for (let n = client.tryRecv(buf); n; n = client.tryRecv(buf)) {
        for (const line of member.lines.push(buf.subarray(0, n))) broadcast(`${client.id}: ${line}\n`, client);
      }
    } catch (error) {
      if (error instanceof RangeError) void client.abort(); // a "line" without end: not a chat client
      else if (!(error instanceof ClientClosedError)) throw error;
    }
  } else if (members.delete(client)) {
    broadcast(`* ${client.id} left\n`);
  }
});

announce(server);
stopOnSignals([server]);
