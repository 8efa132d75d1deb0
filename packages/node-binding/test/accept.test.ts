import { afterEach, describe, expect, it } from 'vitest';
import {
  AbortError, ClientClosedError, ListenError, ServerDestroyedError, TcpEvent, WAIT_FOREVER,
  createServer, type Client,
} from '../src/index.js';
import { addr, delay, destroyAll, dial, ipv6Available, readAll, readExactly, startServer, waitFor } from './support/helpers.js';

afterEach(destroyAll);

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

describe('#accept', () => {
  it('resolves null after the timeout when nobody connects', async () => {
    const server = await startServer();
    expect(await server.accept(30)).toBeNull();
  });

  it('polls with timeout 0: null at once, a client once one waits', async () => {
    const server = await startServer();
    expect(await server.accept(0)).toBeNull();
    await dial(server);
    await waitFor(() => server.stats().pendingAccept === 1, 'the client to be queued');
    const client = await server.accept(0);
    expect(client?.id).toBe(1);
    expect(server.stats().pendingAccept).toBe(0);
  });

  it('waits forever until a client connects, in FIFO order', async () => {
    const server = await startServer();
    const first = server.accept(WAIT_FOREVER);
    const second = server.accept();
    await dial(server);
    await dial(server);
    expect((await first)?.id).toBe(1);
    expect((await second)?.id).toBe(2);
  });

  it('skips a client that disconnected before it was accepted', async () => {
    const server = await startServer();
    const gone = await dial(server);
    await waitFor(() => server.stats().pendingAccept === 1, 'first client queued');
    gone.resetAndDestroy(); // a FIN alone would leave it queued: the peer may still read
    await waitFor(() => server.stats().pendingAccept === 0, 'first client to leave the queue');
    await dial(server);
    expect((await server.accept(2000))?.id).toBe(2);
  });

  it('rejects with AbortError when the signal fires, and leaves the queue intact', async () => {
    const server = await startServer();
    const controller = new AbortController();
    const pending = server.accept(WAIT_FOREVER, controller.signal);
    controller.abort(new Error('stop'));
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).code).toBe('ABORT_ERR');
    await dial(server);
    expect((await server.accept(2000))?.id).toBe(1);
  });

  it('rejects pending and later accepts with ServerDestroyedError after destroy', async () => {
    const server = await startServer({ name: 'srv' });
    const pending = server.accept().catch((e: unknown) => e);
    await server.destroy();
    expect(await pending).toBeInstanceOf(ServerDestroyedError);
    await expect(server.accept(0)).rejects.toMatchObject({
      code: 'ERR_TCPSERV_SERVER_DESTROYED',
      message: 'server "srv" has been destroyed',
    });
  });

  it('iterates clients with for await until the server is destroyed', async () => {
    const server = await startServer();
    const ids: number[] = [];
    const loop = (async () => {
      for await (const client of server) {
        ids.push(client.id);
        if (ids.length === 3) void server.destroy();
      }
    })();
    for (let i = 0; i < 3; i++) await dial(server);
    await loop;
    expect(ids).toEqual([1, 2, 3]);
  });
});

describe('maxClients', () => {
  it('admits maxClients, closes the extra connection at once and counts it, keeps serving', async () => {
    const server = await startServer({ maxClients: 2, rejectMessage: 'server full\n' });
    const a = await dial(server);
    const b = await dial(server);
    await waitFor(() => server.stats().live === 2, 'two clients admitted');
    const extra = await dial(server);
    expect((await readAll(extra)).toString()).toBe('server full\n');
    expect(server.stats()).toMatchObject({ live: 2, rejected: 1, opened: 2 });

    const client = (await server.accept(1000))!;
    a.write('ping');
    const buf = Buffer.alloc(16);
    expect(await client.recv(buf, 2000)).toBe(4);
    b.resetAndDestroy();
    await waitFor(() => server.stats().live === 1, 'the slot to be freed');
    await dial(server);
    await waitFor(() => server.stats().live === 2, 'the freed slot to be reused');
    expect(server.stats().rejected).toBe(1);
  });

  it('can be changed at run time without dropping connected clients', async () => {
    const server = await startServer({ maxClients: 3 });
    for (let i = 0; i < 3; i++) await dial(server);
    await waitFor(() => server.stats().live === 3, 'three clients');
    server.setMaxClients(1);
    expect(server.stats()).toMatchObject({ live: 3, maxClients: 1 });
    const extra = await dial(server);
    await readAll(extra);
    expect(server.stats().rejected).toBe(1);
  });

  it('limits clients per remote address with maxClientsPerAddress', async () => {
    const server = await startServer({ maxClientsPerAddress: 1 });
    await dial(server, '127.0.0.1');
    await waitFor(() => server.stats().live === 1, 'first client');
    const extra = await dial(server, '127.0.0.1');
    await readAll(extra);
    expect(server.stats()).toMatchObject({ live: 1, rejected: 1 });
  });
});

describe('#setNotifyCallback', () => {
  it('delivers CONNECT once, RECV for data and DISCONNECT once, in order', async () => {
    const server = await startServer();
    const events: string[] = [];
    const received: string[] = [];
    const buf = Buffer.alloc(64);
    server.setNotifyCallback((client, event) => {
      events.push(`${client.id}:${event}`);
      if (event === TcpEvent.RECV) {
        for (let n = client.tryRecv(buf); n; n = client.tryRecv(buf)) received.push(buf.toString('utf8', 0, n));
      }
    });
    const socket = await dial(server);
    socket.write('hello');
    await waitFor(() => received.join('') === 'hello', 'the bytes');
    socket.destroy();
    await waitFor(() => events.includes('1:DISCONNECT'), 'DISCONNECT');
    await delay(20);
    expect(events[0]).toBe('1:CONNECT');
    expect(events.at(-1)).toBe('1:DISCONNECT');
    expect(events.filter((e) => e === '1:CONNECT')).toHaveLength(1);
    expect(events.filter((e) => e === '1:DISCONNECT')).toHaveLength(1);
  });

  it('works alongside accept on the same server', async () => {
    const server = await startServer();
    const connected: number[] = [];
    server.setNotifyCallback((client, event) => {
      if (event === TcpEvent.CONNECT) connected.push(client.id);
    });
    await dial(server);
    const client = await server.accept(2000);
    expect(client?.id).toBe(1);
    expect(connected).toEqual([1]);
  });

  it('passes a throwing or rejecting callback to onError and keeps serving', async () => {
    const errors: unknown[] = [];
    const server = await startServer({ onError: (error) => errors.push(error) });
    server.setNotifyCallback((_client, event) => {
      if (event === TcpEvent.CONNECT) throw new Error('sync boom');
      if (event === TcpEvent.RECV) return Promise.reject(new Error('async boom'));
      return undefined;
    });
    const socket = await dial(server);
    socket.write('x');
    await waitFor(() => errors.length === 2, 'both errors');
    expect((errors as Error[]).map((e) => e.message).sort()).toEqual(['async boom', 'sync boom']);
    expect(server.stats().live).toBe(1);
  });

  it('keeps an unaccepted client\'s leftover bytes readable inside its DISCONNECT callback', async () => {
    const server = await startServer();
    let leftover = '';
    server.setNotifyCallback(async (client, event) => {
      if (event !== TcpEvent.DISCONNECT) return;
      const buf = Buffer.alloc(3);
      for (let n = await client.recv(buf, 0); n; n = await client.recv(buf, 0)) leftover += buf.toString('utf8', 0, n);
    });
    const socket = await dial(server);
    socket.write('bytes before the end');
    await waitFor(() => server.stats().bytesIn === 20, 'the bytes to arrive');
    socket.resetAndDestroy();
    await waitFor(() => server.stats().closed === 1, 'the disconnect');
    // The client was never accepted and the callback read during DISCONNECT only.
    await waitFor(() => leftover === 'bytes before the end', 'the leftover bytes');
    await waitFor(() => server.stats().usedSlots === 0, 'the slot to be released');
  });
});

describe('#destroy', () => {
  it('closes every client with one DISCONNECT each and settles every pending call', async () => {
    const server = await startServer();
    const disconnects = new Map<number, number>();
    server.setNotifyCallback((client, event) => {
      if (event === TcpEvent.DISCONNECT) disconnects.set(client.id, (disconnects.get(client.id) ?? 0) + 1);
    });
    const peers = await Promise.all(Array.from({ length: 5 }, () => dial(server)));
    const clients: Client[] = [];
    for (let i = 0; i < 5; i++) clients.push((await server.accept(2000))!);
    const recvs = clients.map((c) => c.recv(Buffer.alloc(8)).catch((e: unknown) => e));
    const acceptPending = server.accept().catch((e: unknown) => e);
    const ended = peers.map((p) => readAll(p));
    await server.destroy();
    for (const r of recvs) expect(await r).toBeInstanceOf(ClientClosedError);
    expect(await acceptPending).toBeInstanceOf(ServerDestroyedError);
    await Promise.all(ended);
    expect([...disconnects.values()]).toEqual([1, 1, 1, 1, 1]);
    expect(server.stats()).toMatchObject({ live: 0, usedSlots: 0 });
    await expect(server.destroy()).resolves.toBeUndefined();
  });
});

describe('#clients and #stats', () => {
  it('lists connected clients and counts bytes both ways', async () => {
    const server = await startServer();
    const socket = await dial(server);
    const client = (await server.accept(2000))!;
    socket.write('12345');
    const buf = Buffer.alloc(16);
    expect(await client.recv(buf, 2000)).toBe(5);
    await client.send('abc');
    await readExactly(socket, 3);
    expect([...server.clients()].map((c) => c.id)).toEqual([1]);
    expect(server.stats()).toMatchObject({ live: 1, opened: 1, bytesIn: 5, bytesOut: 3 });
    expect(client.stats).toMatchObject({ bytesIn: 5, bytesOut: 3, rxBuffered: 0, paused: false });
  });
});

describe('#shutdown', () => {
  it('stops accepting, lets connected clients finish, then resolves destroyed', async () => {
    const server = await startServer();
    const peer = await dial(server);
    const client = (await server.accept(2000))!;
    const pendingAccept = server.accept().catch((e: unknown) => e);
    const stopped = server.shutdown(10_000);
    expect(await pendingAccept).toBeInstanceOf(ServerDestroyedError);
    const refused = await dial(server).catch((e: NodeJS.ErrnoException) => e.code);
    expect(refused).toBe('ECONNREFUSED');

    // The connected client is still served while the shutdown waits.
    peer.write('in flight');
    const buf = Buffer.alloc(32);
    const n = (await client.recv(buf, 2000))!;
    await client.send(buf.subarray(0, n));
    expect((await readExactly(peer, n)).toString()).toBe('in flight');
    expect(server.destroyed).toBe(false);

    peer.end();
    expect(await client.recv(buf, 2000)).toBeNull();
    await stopped;
    expect(server.destroyed).toBe(true);
    expect(server.stats().live).toBe(0);
  });

  it('destroys the clients still connected at the deadline', async () => {
    const server = await startServer();
    const peer = await dial(server);
    const ended = readAll(peer);
    await waitFor(() => server.stats().live === 1, 'the client');
    await server.shutdown(50);
    await ended;
    expect(server.stats()).toMatchObject({ live: 0, closed: 1 });
  });
});
