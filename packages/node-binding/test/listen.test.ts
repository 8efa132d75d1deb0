/**
 * Listening: the address and real port createServer() reports, servers side by side on
 * 127.0.0.1, 127.0.0.2 and ::1, a port already taken (ListenError), and the port free again
 * after destroy().
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ListenError, createServer } from '../src/index.js';
import { cleanUp } from './support/cleanup.js';
import { addr, dial, ipv6Available, startServer, waitFor } from './support/helpers.js';

afterEach(cleanUp);

describe('createServer', () => {
  it('listens on the given IPv4 address and reports the real port for port 0', async () => {
    const server = await startServer({ host: '127.0.0.1', port: 0 });
    const address = addr(server);
    expect(address.address).toBe('127.0.0.1');
    expect(address.family).toBe('IPv4');
    expect(address.port).toBeGreaterThan(0);
    const socket = await dial(server);
    expect(socket.remotePort).toBe(address.port);
  });

  it('runs three servers at once on 127.0.0.1, 127.0.0.2 and ::1 with independent clients', async () => {
    const hosts = ['127.0.0.1', '127.0.0.2'];
    if (await ipv6Available()) hosts.push('::1');
    const servers = await Promise.all(hosts.map((host) => startServer({ host })));
    for (const [i, server] of servers.entries()) {
      expect(addr(server).address).toBe(hosts[i]);
      await dial(server);
      await dial(server);
    }
    const clients = await Promise.all(servers.map((s) => s.accept(2000)));
    for (const [i, client] of clients.entries()) {
      expect(client?.localAddress).toBe(hosts[i]);
      expect(client?.id).toBe(1);
    }
    await waitFor(() => servers.every((s) => s.stats().live === 2), 'two clients per server');
    await servers[0]!.destroy();
    for (const server of servers.slice(1)) expect(server.stats().live).toBe(2);
  });

  it('rejects with ListenError EADDRINUSE when the port is taken', async () => {
    const server = await startServer();
    const { port } = addr(server);
    const error = await createServer({ host: '127.0.0.1', port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ListenError);
    expect((error as ListenError).code).toBe('EADDRINUSE');
    expect((error as ListenError).message).toBe(`cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`);
  });

  it('frees the port on destroy so it can be bound again', async () => {
    const server = await startServer();
    const { port } = addr(server);
    await dial(server);
    await server.accept(1000);
    await server.destroy();
    const again = await startServer({ port });
    expect(addr(again).port).toBe(port);
  });
});
