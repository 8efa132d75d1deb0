/**
 * Admission and limits: maxClients (also changed at run time), maxClientsPerAddress, connect
 * storms, descriptor exhaustion and the maxClients clamp to the open-files limit, and clients
 * that connect before createServer() resolved.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpEvent, createServer } from '../src/index.js';
import { FixtureChild, until } from './support/child.js';
import { cleanUp } from './support/cleanup.js';
import { destroyLater, dial, randomBytes, readAll, sha256, startServer, waitFor } from './support/helpers.js';
import { openPeer, receivedAtLeast, startEchoServer, type Peer } from './support/peers.js';

afterEach(cleanUp);

/** Writes a distinct payload through `peer` and checks the echo is byte-identical. */
async function expectEcho(peer: Peer, seed: number, length = 3000): Promise<void> {
  const payload = randomBytes(length, seed);
  const before = peer.chunks.reduce((n, c) => n + c.length, 0);
  peer.socket.write(payload);
  const echoed = (await receivedAtLeast(peer, before + length)).subarray(before);
  expect(sha256(echoed), `echo of ${length} bytes (seed ${seed})`).toBe(sha256(payload));
}

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

  it('admits exactly maxClients of 50 held connections, refuses the other 40 at once with the reject message, keeps echoing, and reuses freed slots at once', async () => {
    const { server, port, clients } = await startEchoServer({ maxClients: 10, rejectMessage: 'server full\n' });
    const peers = await Promise.all(Array.from({ length: 50 }, () => openPeer(port)));

    // The 40 refused peers read the line, then the connection ends; the 10 admitted stay open.
    await until(() => peers.filter((p) => p.isClosed()).length === 40, '40 refused peers to be closed');
    const refused = peers.filter((p) => p.isClosed());
    const admitted = peers.filter((p) => !p.isClosed());
    for (const peer of refused) {
      expect(peer.received().toString()).toBe('server full\n');
      expect((await peer.closed).fin).toBe(true);
    }
    await waitFor(() => clients.size === 10, 'the 10 admitted clients to be accepted');
    expect(server.stats()).toMatchObject({ live: 10, opened: 10, rejected: 40, maxClients: 10 });
    for (const peer of admitted) expect(peer.received().length).toBe(0);

    // The admitted ones all echo correctly, concurrently.
    await Promise.all(admitted.map((peer, i) => expectEcho(peer, i + 1)));

    // A slot closed by the server is reusable as soon as close() resolved.
    const closing = admitted[0]!;
    await clients.get(closing.socket.localPort!)!.close();
    expect(server.stats().live).toBe(9);
    const next = await openPeer(port);
    await expectEcho(next, 100);
    expect(server.stats()).toMatchObject({ live: 10, rejected: 40 });

    // A slot closed by the peer is reusable once the server saw the disconnect.
    admitted[1]!.socket.end();
    await admitted[1]!.closed;
    await waitFor(() => server.stats().live === 9, 'the peer\'s disconnect');
    const another = await openPeer(port);
    await expectEcho(another, 101);
    expect(server.stats()).toMatchObject({ live: 10, rejected: 40 });

    // Still full: one more is refused and counted.
    const extra = await openPeer(port);
    await extra.closed;
    expect(extra.received().toString()).toBe('server full\n');
    expect(server.stats()).toMatchObject({ live: 10, rejected: 41 });
  });
});

describe('maxClientsPerAddress', () => {
  it('caps clients from 127.0.0.1 while 127.0.0.2 is still admitted; extra ones are refused and counted', async () => {
    const { server, port, clients } = await startEchoServer({ maxClientsPerAddress: 3, rejectMessage: 'busy\n' });
    const fromOne = await Promise.all(Array.from({ length: 5 }, () => openPeer(port, { localAddress: '127.0.0.1' })));
    await until(() => fromOne.filter((p) => p.isClosed()).length === 2, 'two 127.0.0.1 peers to be refused');
    const fromTwo = await Promise.all(Array.from({ length: 4 }, () => openPeer(port, { localAddress: '127.0.0.2' })));
    await until(() => fromTwo.filter((p) => p.isClosed()).length === 1, 'one 127.0.0.2 peer to be refused');
    await waitFor(() => clients.size === 6, 'six clients accepted');

    expect(server.stats()).toMatchObject({ live: 6, rejected: 3 });
    const remote = [...clients.values()].map((c) => c.remoteAddress).sort();
    expect(remote).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.2', '127.0.0.2', '127.0.0.2']);
    for (const peer of [...fromOne, ...fromTwo].filter((p) => p.isClosed())) {
      expect(peer.received().toString()).toBe('busy\n');
    }
    const admittedOne = fromOne.filter((p) => !p.isClosed());
    const admittedTwo = fromTwo.filter((p) => !p.isClosed());
    await Promise.all([...admittedOne, ...admittedTwo].map((peer, i) => expectEcho(peer, 10 + i)));

    // Freeing a 127.0.0.1 slot admits one more from 127.0.0.1 only; 127.0.0.2 stays capped.
    admittedOne[0]!.socket.resetAndDestroy();
    await waitFor(() => server.stats().live === 5, 'the reset to be seen');
    const again = await openPeer(port, { localAddress: '127.0.0.1' });
    await expectEcho(again, 20);
    const stillCapped = await openPeer(port, { localAddress: '127.0.0.2' });
    await stillCapped.closed;
    expect(stillCapped.received().toString()).toBe('busy\n');
    expect(server.stats()).toMatchObject({ live: 6, rejected: 4 });
  });
});

describe('connect storm', () => {
  it('400 parallel connect/close cycles (FIN and RST mixed) leave the client table empty and the descriptors at baseline', async () => {
    const child = FixtureChild.start({ mode: 'echo', options: { maxClients: 1024 } });
    const { port } = await child.ready;
    // Baseline once the server is listening and idle (the accept loop is pending).
    await child.request('stats');
    const baseline = child.fds();

    const cycle = async (i: number): Promise<void> => {
      let peer: Peer;
      try {
        peer = await openPeer(port);
      } catch {
        return; // a connect error is a valid outcome of a storm; the server side is what we check
      }
      const { socket } = peer;
      switch (i % 5) {
        case 0: // RST at once
          socket.resetAndDestroy();
          break;
        case 1: // FIN at once
          socket.end();
          break;
        case 2: // one echo, then FIN
          socket.write('ping');
          await receivedAtLeast(peer, 4, 10_000).catch(() => undefined);
          socket.end();
          break;
        case 3: // bytes in flight, then RST without reading
          socket.write(randomBytes(20_000, i));
          socket.resetAndDestroy();
          break;
        default: // FIN with data, then RST before the echo is read
          socket.end(randomBytes(5000, i));
          setImmediate(() => socket.resetAndDestroy());
          break;
      }
      await peer.closed;
    };
    await Promise.all(Array.from({ length: 400 }, (_, i) => cycle(i)));

    const settled = await until(async () => {
      const { stats } = await child.request<{ stats: { live: number; usedSlots: number; pendingAccept: number } }>('stats');
      return stats.live === 0 && stats.usedSlots === 0 && stats.pendingAccept === 0 && child.fds() <= baseline ? stats : undefined;
    }, 'live 0, usedSlots 0 and descriptors back to baseline');
    expect(settled).toMatchObject({ live: 0, usedSlots: 0 });
    expect(child.fds()).toBe(baseline);

    const events = await child.request<{ connects: number; disconnects: number; anomalies: unknown[] }>('events');
    const { stats } = await child.request<{ stats: { opened: number; closed: number } }>('stats');
    expect(events.anomalies).toEqual([]);
    expect(events.connects).toBe(stats.opened);
    expect(events.disconnects).toBe(stats.opened);
    expect(stats.closed).toBe(stats.opened);
    expect(stats.opened).toBeGreaterThan(0);
    expect(child.stderr).toBe('');
    expect(child.alive).toBe(true);
  });
});

describe('open-files limit', () => {
  it('clamps maxClients above the open-files limit with a TCPSERV_MAX_CLIENTS_CLAMPED warning', async () => {
    const child = FixtureChild.start({ mode: 'echo', options: { maxClients: 1000 } }, { ulimit: 64 });
    await child.ready;
    expect(child.openFilesLimit()).toBe(64);
    const { stats } = await child.request<{ stats: { maxClients: number } }>('stats');
    expect(stats.maxClients).toBe(32);
    expect(child.stderr).toContain('TCPSERV_MAX_CLIENTS_CLAMPED');
    expect(child.stderr).toContain('maxClients 1000 exceeds what this process can hold open (open files limit 64');

    // setMaxClients goes through the same clamp.
    const before = child.stderr.split('TCPSERV_MAX_CLIENTS_CLAMPED').length;
    const after = await child.request<{ stats: { maxClients: number } }>('setMaxClients', { maxClients: 500 });
    expect(after.stats.maxClients).toBe(32);
    await until(() => child.stderr.split('TCPSERV_MAX_CLIENTS_CLAMPED').length > before, 'a second warning');
  });

  it('survives descriptor exhaustion (EMFILE): no crash, no spin, keeps serving, and recovers', async () => {
    const child = FixtureChild.start({ mode: 'echo', options: { maxClients: 1000 } }, { ulimit: 64 });
    const { port } = await child.ready;

    // Three clients connected before the descriptors run out.
    const existing = await Promise.all([0, 1, 2].map(() => openPeer(port)));
    await until(async () => (await child.request<{ stats: { live: number } }>('stats')).stats.live === 3, 'three clients');
    await Promise.all(existing.map((peer, i) => expectEcho(peer, 200 + i, 1000)));

    // Use up the descriptors (the process has other files open than sockets), leaving 3 free.
    const free = 3;
    const { hogged } = await child.request<{ hogged: number }>('hog', { count: child.openFilesLimit() - child.fds() - free });
    expect(hogged).toBeGreaterThan(0);

    // Connect far more than fit. Those the server cannot accept are closed (by libuv's EMFILE
    // handling) or refused; none may be left hanging.
    const burst = await Promise.all(Array.from({ length: 30 }, () => openPeer(port).catch(() => undefined)));
    const opened = burst.filter((p): p is Peer => p !== undefined);
    const admittedCount = async (): Promise<number> => (await child.request<{ stats: { live: number } }>('stats')).stats.live - 3;
    await until(async () => opened.filter((p) => p.isClosed()).length + (await admittedCount()) >= opened.length,
      'every burst connection to be admitted or closed');
    const admittedBurst = opened.filter((p) => !p.isClosed());
    expect(opened.filter((p) => p.isClosed()).length).toBeGreaterThan(0); // the limit was reached

    // No spin: over 2 s, with connection attempts still arriving, the server uses < 1 s of CPU.
    const cpuBefore = child.cpuSeconds();
    const spinProbe = await Promise.all(Array.from({ length: 10 }, () => openPeer(port).catch(() => undefined)));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const cpu = child.cpuSeconds() - cpuBefore;
    expect(cpu).toBeLessThan(1);
    expect(child.alive).toBe(true);

    // Existing clients are still served.
    await Promise.all(existing.map((peer, i) => expectEcho(peer, 300 + i, 1000)));

    // The failure is visible: accept errors counted, or maxClients was clamped with a warning.
    const { stats } = await child.request<{ stats: { acceptErrors: number } }>('stats');
    expect(stats.acceptErrors > 0 || child.stderr.includes('TCPSERV_MAX_CLIENTS_CLAMPED'),
      `acceptErrors ${stats.acceptErrors}, stderr: ${child.stderr}`).toBe(true);

    // Recovery: closing clients frees descriptors, and new connections are served again.
    for (const peer of [...admittedBurst, ...spinProbe.filter((p): p is Peer => p !== undefined)]) peer.socket.destroy();
    await until(async () => (await admittedCount()) === 0, 'the burst clients to be gone');
    const fresh = await openPeer(port);
    await expectEcho(fresh, 400, 1000);
    await child.request('unhog');
    const more = await Promise.all([0, 1, 2, 3].map(() => openPeer(port)));
    await Promise.all(more.map((peer, i) => expectEcho(peer, 500 + i, 1000)));
    expect(child.alive).toBe(true);
  });
});

describe('early clients', () => {
  it('50 clients connecting before createServer resolves all get CONNECT through the notify option', async () => {
    const connected = new Set<number>();
    const received: string[] = [];
    // Find a free port first, then race 50 connects against createServer on it.
    const probe = await createServer({ host: '127.0.0.1', port: 0 });
    const { port } = probe.address() as { port: number };
    await probe.destroy();
    const attempts: Array<Promise<void>> = [];
    const serverPromise = startServer({
      port,
      notify: (client, event) => {
        if (event === TcpEvent.CONNECT) connected.add(client.id);
        if (event === TcpEvent.RECV) {
          const buf = Buffer.alloc(16);
          const n = client.tryRecv(buf);
          if (n) received.push(buf.subarray(0, n).toString());
        }
      },
    });
    for (let i = 0; i < 50; i++) {
      attempts.push(new Promise((resolve) => {
        const tryConnect = (left: number): void => {
          const s = connect({ host: '127.0.0.1', port });
          destroyLater(s);
          s.on('error', () => (left > 0 ? setTimeout(() => tryConnect(left - 1), 5) : resolve()));
          s.on('connect', () => {
            s.write(`c${i}`);
            resolve();
          });
        };
        tryConnect(200);
      }));
    }
    await serverPromise;
    await Promise.all(attempts);
    const deadline = Date.now() + 5000;
    while ((connected.size < 50 || received.length < 50) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(connected.size).toBe(50);
    expect(received.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `c${i}`).sort());
  });
});
