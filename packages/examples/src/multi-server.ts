// multi-server: several servers in one process, each on its own address and port, each
// with its own clients. Two on 127.0.0.1 (ports P and P+1), one on ::1 (port P) when the
// machine has IPv6. Each greets a client with its name and how many clients it has, then
// echoes. Uses the async iterators: `for await (client of server)`, `for await (chunk of client)`.
//
//   npx nx run examples:multi-server             # 127.0.0.1:5003, 127.0.0.1:5004, [::1]:5003
//   nc 127.0.0.1 5003   nc 127.0.0.1 5004   nc ::1 5003
import { ClientClosedError, createServer, ListenError, type Client, type TcpServer } from '@tcpserv/node';
import { announce, endpoint, stopOnSignals } from './shared.js';

const { host, port } = endpoint(5003);
const plan = [
  { name: 'alpha', host, port },
  { name: 'beta', host, port: port === 0 ? 0 : port + 1 },
  { name: 'gamma', host: '::1', port },
];

const servers: TcpServer[] = [];
for (const spec of plan) {
  try {
    servers.push(await createServer(spec));
  } catch (error) {
    // No IPv6 loopback (a container without it): carry on with the others.
    if (error instanceof ListenError && spec.host === '::1') {
      console.log(`skipping ${spec.name} on [::1]: ${error.code}`);
      continue;
    }
    throw error;
  }
}

async function serve(server: TcpServer, client: Client): Promise<void> {
  const live = server.stats().live; // this server's clients only
  try {
    await client.send(`welcome to ${server.name}: you are client ${client.id}, ${live} connected here\n`);
    for await (const chunk of client) await client.send(chunk);
  } catch (error) {
    if (!(error instanceof ClientClosedError)) console.error(`${server.name} client ${client.id}:`, error);
  }
}

for (const server of servers) {
  announce(server);
  void (async () => {
    for await (const client of server) void serve(server, client); // ends when destroyed
  })();
}

stopOnSignals(servers);
