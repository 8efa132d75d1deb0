// line-protocol: a tiny request/response protocol on top of a byte stream.
//
//   PING → PONG      TIME → the server's time (ISO 8601)      QUIT → BYE, then close
//   anything else → ERR unknown command                       a line over 1024 bytes closes the client
//
// TCP hands out whatever bytes arrived: half a command, or several at once. With
// `framing: 'line'` the core cuts them into whole lines before the code sees them.
//
//   npx nx run examples:line-protocol            # 127.0.0.1:5006
//   nc -C 127.0.0.1 5006                         # type PING, TIME, QUIT
import { ClientClosedError, FrameTooLargeError, createServer, type Client } from '@tcpserv/node';
import { announce, endpoint, stopOnSignals } from './shared.js';

const { host, port } = endpoint(5006);
const server = await createServer({ host, port, framing: { type: 'line', maxFrameSize: 1024 } });
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
  try {
    // Whole lines, "\r\n" or "\n" removed; at end of stream a last unterminated line too.
    for await (const request of client.frames()) {
      if (request.length === 0) continue;
      const [reply, close] = answer(request.toString('utf8'));
      await client.sendFrame(reply);
      if (close) break; // leaving the loop closes the client (the reply is flushed first)
    }
  } catch (error) {
    // A line over maxFrameSize: the library already closed this client, nobody else noticed.
    if (!(error instanceof ClientClosedError) && !(error instanceof FrameTooLargeError)) {
      console.error(`client ${client.id}:`, error);
    }
  }
}

for await (const client of server) void serve(client);
