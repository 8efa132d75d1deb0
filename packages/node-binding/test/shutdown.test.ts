/**
 * Stopping a server: destroy() closes every client with one DISCONNECT each and settles every
 * pending call, also with 20 busy clients in a child process (port free, no handle left);
 * shutdown(timeout) stops accepting, lets connected clients finish and destroys those still
 * there at the deadline, also under echo load.
 */
import { createServer as createNetServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientClosedError, ServerDestroyedError, TcpEvent, type Client } from '../src/index.js';
import { FixtureChild, until } from './support/child.js';
import { cleanUp } from './support/cleanup.js';
import { delay, dial, randomBytes, readAll, readExactly, sha256, startServer, waitFor } from './support/helpers.js';
import { guard, openPeer, receivedAtLeast, startEchoServer, writeInPieces, type Peer } from './support/peers.js';

afterEach(cleanUp);

/** Binds `port` on 127.0.0.1 with plain node:net and closes it again. */
function bindOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

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

describe('#destroy with busy clients', () => {
  it('20 clients with transfers in flight: peers closed, pending accept/recv/send settled with typed errors, port free, no handle left, process exits by itself', async () => {
    const count = 20;
    const child = FixtureChild.start({ mode: 'hold', recvSize: 16384, bigSendEvery: 1, bigSendBytes: 8 * 1024 * 1024 });
    const { port } = await child.ready;
    const peers = await Promise.all(Array.from({ length: count }, () => openPeer(port, { collect: false })));
    for (const [i, peer] of peers.entries()) {
      peer.socket.pause(); // the 8 MiB sends stay in flight
      void writeInPieces(peer.socket, randomBytes(200_000, i + 1), [1000, 65536, 7]); // and so do uploads
    }
    interface Pending { pending: Record<string, number>; bytesRead: number }
    await until(async () => {
      const r = await child.request<Pending>('pending');
      return r.pending.accept === 1 && r.pending.recv === count && r.pending.send === count && r.bytesRead > 0;
    }, 'a pending accept, and a pending recv and send on every client');

    const reply = await child.request<{
      pending: Record<string, number>;
      outcomes: Record<string, Record<string, number>>;
      stats: { live: number; usedSlots: number; closed: number };
      events: { connects: number; disconnects: number; anomalies: unknown[] };
    }>('destroy', { exit: true });
    // The port is free at once.
    await bindOnce(port);

    expect(reply.pending).toEqual({});
    expect(reply.outcomes.accept).toEqual({ client: count, ServerDestroyedError: 1 });
    expect(reply.outcomes.send).toEqual({ ClientClosedError: count });
    expect(Object.keys(reply.outcomes.recv!).sort()).toEqual(['ClientClosedError', 'number']);
    expect(reply.outcomes.recv!.ClientClosedError).toBe(count);
    expect(reply.outcomes.destroy).toEqual({ undefined: 1 });
    expect(reply.stats).toMatchObject({ live: 0, usedSlots: 0, closed: count });
    expect(reply.events).toEqual({ clients: count, connects: count, disconnects: count, anomalies: [] });

    // Every peer sees the end of the connection (after the bytes already on their way).
    for (const peer of peers) peer.socket.resume();
    await guard(Promise.all(peers.map((p) => p.closed)), 'every peer to see FIN/RST');

    // Nothing but stdio is left alive, and the process exits on its own with code 0.
    const final = await guard(child.finalEvent, 'the fixture\'s final report');
    expect((final.resources as string[]).filter((r) => !['PipeWrap', 'TTYWrap'].includes(r))).toEqual([]);
    expect(await guard(child.exited, 'the fixture to exit by itself')).toEqual({ code: 0, signal: null });
    expect(child.stderr).toBe('');
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

describe('#shutdown under echo load', () => {
  it('lets in-flight echoes finish byte-identical, refuses new connections, and resolves once the last client left', async () => {
    const count = 20;
    const { server, port, tracker, loops, acceptLoop } = await startEchoServer({}, { recvSize: (i) => [1000, 16384][i % 2]! });
    const peers: Peer[] = await Promise.all(Array.from({ length: count }, () => openPeer(port)));
    await waitFor(() => server.stats().live === count, 'every client');
    const payloads = peers.map((_, i) => randomBytes(100_000 + i * 1111, i + 1));

    // Each peer sends its first part and waits for its echo: transfers are in flight when
    // the shutdown starts.
    await Promise.all(peers.map(async (peer, i) => {
      peer.socket.write(payloads[i]!.subarray(0, 10_000));
      await receivedAtLeast(peer, 10_000);
    }));
    let stopped = false;
    const stopping = server.shutdown(60_000).then(() => {
      stopped = true;
    });
    await expect(acceptLoop).resolves.toBeUndefined(); // the pending accept was rejected
    expect(await openPeer(port).catch((e: NodeJS.ErrnoException) => e.code)).toBe('ECONNREFUSED');

    // The rest of every payload goes through while the server is stopping.
    const results = await Promise.all(peers.map(async (peer, i) => {
      const payload = payloads[i]!;
      await writeInPieces(peer.socket, payload.subarray(10_000), [4096, 777, 65536]);
      const echoed = await receivedAtLeast(peer, payload.length, 30_000);
      expect(stopped).toBe(false);
      peer.socket.end();
      const { fin } = await guard(peer.closed, `peer ${i} to close`);
      return { same: sha256(echoed) === sha256(payload), fin };
    }));
    await guard(stopping, 'the shutdown');
    expect(results).toEqual(peers.map(() => ({ same: true, fin: true })));
    expect(server.destroyed).toBe(true);
    expect(server.stats()).toMatchObject({ live: 0, usedSlots: 0, opened: count, closed: count, rejected: 0 });
    expect(await Promise.all(loops)).toEqual(peers.map(() => 'eof'));
    expect(await tracker.settle()).toBe(0);
    expect(tracker.of('accept')).toEqual({ client: count, ServerDestroyedError: 1 });
  });

  it('destroys the clients still busy at the deadline; those that finished got their whole echo', async () => {
    const { server, port, tracker, loops } = await startEchoServer();
    const quick = await Promise.all([0, 1, 2, 3, 4].map(() => openPeer(port)));
    const stuck = await Promise.all([0, 1, 2, 3, 4].map(() => openPeer(port)));
    await waitFor(() => server.stats().live === 10, 'ten clients');

    // Stuck peers keep trickling bytes and never end; quick peers finish after the shutdown began.
    const trickle = setInterval(() => {
      for (const peer of stuck) if (!peer.socket.destroyed) peer.socket.write('.');
    }, 10);
    try {
      const stopping = server.shutdown(1500); // quick peers finish well before; stuck ones never do
      const quickResults = await Promise.all(quick.map(async (peer, i) => {
        const payload = randomBytes(50_000, i + 10);
        peer.socket.end(payload);
        await guard(peer.closed, `quick peer ${i}`);
        return sha256(peer.received()) === sha256(payload);
      }));
      expect(quickResults).toEqual([true, true, true, true, true]);
      await guard(stopping, 'the shutdown deadline');
      const stuckEnds = await guard(Promise.all(stuck.map((p) => p.closed)), 'the stuck peers to be closed');
      expect(stuckEnds).toHaveLength(5);
    } finally {
      clearInterval(trickle);
    }
    expect(server.destroyed).toBe(true);
    expect(server.stats()).toMatchObject({ live: 0, usedSlots: 0, closed: 10 });
    const ends = await Promise.all(loops);
    expect(ends.filter((e) => e === 'eof')).toHaveLength(5);
    expect(ends.filter((e) => e === 'closed')).toHaveLength(5);
    expect(await tracker.settle()).toBe(0);
    const accepts = tracker.of('accept');
    expect(accepts.ServerDestroyedError).toBe(1);
    await expect(server.accept(0)).rejects.toBeInstanceOf(ServerDestroyedError);
    await delay(1);
  });
});
