// A type test, checked by `tsc -p tsconfig.test.json` (npm test) and never run: it imports
// the package by its name, so it sees the published .d.ts (built with stripInternal), not the
// sources. Each @ts-expect-error fails the build if the line below it stops being an error,
// i.e. if an internal leaks into what users can call.
import { Client, TcpServer, createServer, DEFAULTS, LIMITS, MAX_TIMEOUT, WAIT_FOREVER } from '@tcpserv/node';

declare const client: Client;
declare const server: TcpServer;

// The public surface stays callable.
void createServer({ port: 0 });
void client.send(Buffer.alloc(1));
void client.bufferedAmount;
void client.writable;
void client.closed;
void server.destroyed;
void server.stats();
void [DEFAULTS.rxBufferSize, LIMITS.port.max, MAX_TIMEOUT, WAIT_FOREVER];

// @ts-expect-error servers come from createServer()
void new TcpServer();
// @ts-expect-error clients come from accept() or the notify callback
void new Client();
// @ts-expect-error internal: the server marks accepted clients
client.markAccepted();
// @ts-expect-error internal: the core's handle is not part of the API
void client.handle;
// @ts-expect-error internal
void client.hasUnread;
// @ts-expect-error internal: the server's sweep
client.expire('idle');
// @ts-expect-error internal: the server's destroy
void client.destroyForServer();
// @ts-expect-error internal: slot bookkeeping
client.releaseSlot();
// @ts-expect-error internal: event dispatch
client.onDisconnect();
// @ts-expect-error internal: the read path
client.receiveWindow();
