// kv-store: a line-protocol key-value store — framing does the splitting, so the code is
// just the protocol.
//
//   SET key value → OK      GET key → the value, or NIL      DEL key → 1 or 0
//   anything else → ERR usage: SET k v | GET k | DEL k
//
//   npx nx run examples:kv-store                 # 127.0.0.1:5007
//   nc -C 127.0.0.1 5007                         # type SET a 1, GET a, DEL a
import { createServer, type Client } from '@tcpserv/node';
import { announce, endpoint, stopOnSignals } from './shared.js';

const store = new Map<string, string>();

/** The reply to one request line. */
function execute(line: string): string {
  const [command = '', key, ...rest] = line.split(' ');
  switch (command.toUpperCase()) {
    case 'SET':
      if (!key || rest.length === 0) break;
      store.set(key, rest.join(' '));
      return 'OK';
    case 'GET':
      if (!key) break;
      return store.get(key) ?? 'NIL';
    case 'DEL':
      if (!key) break;
      return store.delete(key) ? '1' : '0';
  }
  return 'ERR usage: SET k v | GET k | DEL k';
}

async function serve(client: Client): Promise<void> {
  // Every frame is one whole line (without "\r\n"); the loop ends at end of stream.
  for await (const line of client.frames()) await client.sendFrame(execute(line.toString('utf8')));
}

const { host, port } = endpoint(5007);
// Lines of at most 4 KiB: a longer one closes that client, nothing else.
const server = await createServer({ host, port, framing: { type: 'line', maxFrameSize: 4096 } });
announce(server);
stopOnSignals([server]);
for await (const client of server) serve(client).catch(() => {}); // a client that vanished mid-reply
