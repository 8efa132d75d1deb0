/**
 * Slow and hostile peers: flooding without reading, never reading our sends, resets in the
 * middle of transfers, half-closes, and arbitrary bytes in arbitrary chunks.
 */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, SendTimeoutError, WAIT_FOREVER, type Client } from '../src/index.js';
import { adoptSocket } from '../src/server.js';
import { delay, destroyAll, randomBytes, sha256, startServer, waitFor } from './support/helpers.js';
import { FixtureChild, killChildren, until } from './support/child.js';
import { destroyPeers, guard, openPeer, receivedAtLeast, startEchoServer, writeInPieces } from './support/peers.js';
import { FakeSocket } from './support/socket-double.js';
import { watchTimers } from './support/timers.js';

afterEach(async () => {
  destroyPeers();
  await destroyAll();
  await killChildren();
});

describe('a peer that sends without ever reading', () => {
  it('costs bounded server memory, is blocked by flow control, and does not slow other clients', async () => {
    const rxBufferSize = 4096;
    const { server, port, clients } = await startEchoServer({ rxBufferSize });
    const flooder = await openPeer(port, { collect: false });
    flooder.socket.pause(); // never reads the echo
    await waitFor(() => clients.size === 1, 'the flooder to be accepted');
    const flooded = clients.get(flooder.socket.localPort!)!;

    let maxBuffered = 0;
    const sample = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, flooded.stats.rxBuffered);
    }, 5);

    // Flood with 64 KiB writes, honouring the peer socket's own backpressure. The server must
    // stop the flood long before 64 MiB: the peer is blocked once its writes queue, no 'drain'
    // comes for 500 ms and the server has paused reading (a slow machine just waits longer).
    const chunk = randomBytes(65536, 1);
    const limit = 64 * 1024 * 1024;
    let written = 0;
    let sawWriteFalse = false;
    const blocked = (async () => {
      while (written < limit) {
        written += chunk.length;
        if (flooder.socket.write(chunk)) continue;
        sawWriteFalse = true;
        for (;;) {
          const drain = new Promise<boolean>((resolve) => flooder.socket.once('drain', () => resolve(true)));
          if (await Promise.race([drain, delay(500).then(() => false)])) break;
          if (flooded.stats.paused) return true;
        }
      }
      return false;
    })();

    // Meanwhile a well-behaved client keeps getting its echoes.
    const polite = await openPeer(port);
    for (let i = 0; i < 20; i++) {
      const payload = randomBytes(1000 + i * 50, 100 + i);
      const before = polite.received().length;
      polite.socket.write(payload);
      const echoed = (await receivedAtLeast(polite, before + payload.length)).subarray(before);
      expect(sha256(echoed)).toBe(sha256(payload));
    }

    expect(await guard(blocked, 'the flood to block', 60_000)).toBe(true);
    clearInterval(sample);
    maxBuffered = Math.max(maxBuffered, flooded.stats.rxBuffered);
    expect(sawWriteFalse).toBe(true);
    expect(written).toBeLessThan(limit);
    expect(flooder.socket.writableLength).toBeGreaterThan(0);
    expect(flooded.stats.paused).toBe(true);
    expect(server.stats().paused).toBe(1);
    expect(maxBuffered).toBeLessThanOrEqual(rxBufferSize + 65536);
    expect(flooded.stats.rxBuffered).toBeLessThanOrEqual(rxBufferSize + 65536);
    expect(flooder.isClosed()).toBe(false);
  });
});

describe('send to a peer that never reads', () => {
  it('rejects on timeout with bytesSent and leaves no timer or listener behind (socket double)', async () => {
    const server = await startServer();
    const socket = new FakeSocket({ kernelCapacity: 1000 });
    server[adoptSocket](socket as never);
    const client = (await server.accept(1000))!;
    expect(client).not.toBeNull();
    const events = ['data', 'end', 'drain', 'error', 'close', 'finish'] as const;
    const listenersBefore = events.map((e) => socket.listenerCount(e));
    const timers = watchTimers();
    try {
      const data = randomBytes(100_000, 1);
      const expected: Buffer[] = [];
      let sentTotal = 0;
      for (const [i, timeout] of [0, 1, 5, 20, 0, 3].entries()) {
        const writtenBefore = socket.writtenBytes().length;
        const error = await client.send(data, timeout).catch((e: unknown) => e);
        expect(error, `send ${i}`).toBeInstanceOf(SendTimeoutError);
        const { bytesSent, bytesQueued, code } = error as SendTimeoutError;
        expect(code).toBe('ERR_TCPSERV_SEND_TIMEOUT');
        // bytesSent went to the kernel, bytesQueued are in the socket and still go out: together
        // exactly what the socket was handed, never the whole send.
        expect(bytesSent + bytesQueued).toBe(socket.writtenBytes().length - writtenBefore);
        expect(bytesSent + bytesQueued).toBeLessThan(data.length);
        expected.push(data.subarray(0, bytesSent + bytesQueued));
        sentTotal += bytesSent + bytesQueued;
        if (i % 2 === 1) socket.peerRead(20_000); // the peer reads a little now and then
        await delay(1);
      }
      expect(sentTotal).toBeGreaterThan(0);
      // The peer takes everything (its kernel holds 1000 bytes at a time): the queued pieces
      // complete and are counted then.
      for (let i = 0; i < 2000 && server.stats().bytesOut < sentTotal; i++) {
        socket.peerRead();
        await delay(0);
      }
      expect(server.stats().bytesOut).toBe(sentTotal);
      expect(sha256(socket.writtenBytes())).toBe(sha256(Buffer.concat(expected)));

      // Aborted send and recv remove their abort listeners; timed-out recv leaves no timer.
      const controller = new AbortController();
      const aborted = client.send(data, WAIT_FOREVER, controller.signal).catch((e: unknown) => e);
      const abortedRecv = client.recv(Buffer.alloc(10), WAIT_FOREVER, controller.signal).catch((e: unknown) => e);
      expect(getEventListeners(controller.signal, 'abort').length).toBeGreaterThan(0);
      controller.abort();
      expect(await aborted).toBeInstanceOf(AbortError);
      expect(await abortedRecv).toBeInstanceOf(AbortError);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      const other = new AbortController();
      expect(await client.recv(Buffer.alloc(10), 3, other.signal)).toBe(0);
      expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
      await expect(client.send(data, 2, other.signal)).rejects.toBeInstanceOf(SendTimeoutError);
      expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);

      await delay(5);
      expect(timers.created()).toBeGreaterThan(0);
      expect(timers.armed()).toEqual([]);
      expect(events.map((e) => socket.listenerCount(e))).toEqual(listenersBefore);

      // The client stays usable: once the peer reads, a send goes through.
      socket.peerRead();
      const drainer = setInterval(() => socket.peerRead(), 1);
      try {
        expect(await client.send('still usable', 5000)).toBe(12);
      } finally {
        clearInterval(drainer);
      }
      expect(socket.writtenBytes().subarray(-12).toString()).toBe('still usable');
      expect(socket.misuse).toEqual([]);
    } finally {
      timers.restore();
    }
  });

  it('rejects on timeout with bytesSent and leaves no Timeout handle behind (real socket, child process)', async () => {
    // A queue big enough for every 8 MiB send (the default maxSendQueue would refuse them).
    const child = FixtureChild.start({ mode: 'idle', options: { maxSendQueue: 64 * 1024 * 1024 } });
    const { port } = await child.ready;
    const peer = await openPeer(port, { collect: false });
    peer.socket.pause(); // never reads
    await until(async () => (await child.request<{ clients: unknown[] }>('clients')).clients.length === 1, 'the client');
    const reply = await child.request<{
      results: Array<{ name: string; code: string; bytesSent: number }>;
      timeoutsBefore: number;
      timeoutsAfter: number;
      bytesOut: number;
    }>('sendTimeout', { port: peer.socket.localPort, size: 8 * 1024 * 1024, timeout: 100, times: 4 });
    expect(reply.results.map((r) => r.name)).toEqual(Array(4).fill('SendTimeoutError'));
    expect(reply.results.map((r) => r.code)).toEqual(Array(4).fill('ERR_TCPSERV_SEND_TIMEOUT'));
    expect(reply.results[0]!.bytesSent).toBeGreaterThan(0);
    expect(reply.results.reduce((n, r) => n + r.bytesSent, 0)).toBe(reply.bytesOut);
    expect(reply.timeoutsAfter).toBe(reply.timeoutsBefore);
    const { resources } = await child.request<{ resources: string[] }>('resources');
    expect(resources.filter((r) => r === 'Timeout')).toEqual([]);
  });
});

describe('resets in the middle of transfers', () => {
  it('100 clients reset both ways (peer RST, server abort): one DISCONNECT each, every pending call settled, table empty, descriptors at baseline', async () => {
    const count = 100;
    const upload = 32 * 1024;
    const child = FixtureChild.start({ mode: 'hold', recvSize: 16384, bigSendEvery: 5, bigSendBytes: 8 * 1024 * 1024 });
    const { port } = await child.ready;
    await child.request('stats');
    const baseline = child.fds();

    const peers = await Promise.all(Array.from({ length: count }, () => openPeer(port, { collect: false })));
    peers.forEach((peer, i) => {
      peer.socket.pause(); // the server's big sends stay in flight
      peer.socket.write(randomBytes(upload, i + 1));
    });
    // Every client has a pending recv and every 5th a pending 8 MiB send.
    interface Pending { pending: Record<string, number>; outcomes: Record<string, Record<string, number>>; bytesRead: number }
    await until(async () => {
      const r = await child.request<Pending>('pending');
      return r.bytesRead === count * upload && r.pending.recv === count && r.pending.send === count / 5 ? r : undefined;
    }, 'transfers in flight on every client');

    const { clients } = await child.request<{ clients: Array<{ remotePort: number }> }>('clients');
    expect(clients).toHaveLength(count);
    const byServer = peers.filter((_, i) => i % 2 === 1);
    const byPeer = peers.filter((_, i) => i % 2 === 0);
    const aborting = child.request('abort', { ports: byServer.map((p) => p.socket.localPort) });
    for (const peer of byPeer) peer.socket.resetAndDestroy();
    await aborting;
    // A paused socket whose read buffer is full no longer polls: it sees the RST once it reads.
    for (const peer of byServer) peer.socket.resume();

    const closed = await guard(Promise.all(peers.map((p) => p.closed)), 'every peer to close');
    // Aborted peers see the RST: ECONNRESET, or (Linux, with bytes still unread when the RST
    // came) a plain end after those bytes; either way not the rest of the 8 MiB in flight.
    byServer.forEach((peer, i) => {
      const { error } = closed[2 * i + 1]!;
      expect(error?.code === 'ECONNRESET' || peer.socket.bytesRead < 8 * 1024 * 1024, `aborted peer ${i}`).toBe(true);
    });

    await until(async () => {
      const { stats } = await child.request<{ stats: { live: number; usedSlots: number } }>('stats');
      return stats.live === 0 && stats.usedSlots === 0 && child.fds() <= baseline;
    }, 'an empty table and descriptors back to baseline');
    expect(child.fds()).toBe(baseline);

    const events = await child.request<{ clients: number; connects: number; disconnects: number; anomalies: unknown[] }>('events');
    expect(events).toMatchObject({ clients: count, connects: count, disconnects: count, anomalies: [] });

    const { pending, outcomes } = await child.request<Pending>('pending');
    expect(pending).toEqual({ accept: 1 }); // only the accept loop's next accept waits
    expect(Object.keys(outcomes.recv!).filter((o) => !['number', 'null', 'ClientClosedError'].includes(o))).toEqual([]);
    expect(outcomes.send).toEqual({ ClientClosedError: count / 5 });
    expect(outcomes.abort).toEqual({ undefined: count / 2 });
    // Aborted clients' pending recv rejected; reset ones saw end of stream.
    expect(outcomes.recv!.ClientClosedError).toBe(count / 2);
    expect(outcomes.recv!.null).toBe(count / 2);
    expect(child.stderr).toBe('');
  });
});

describe('half-close', () => {
  const sizes = [0, 1, 2, 3, 100, 4095, 4096, 4097, 16383, 16384, 16385, 65535, 65536, 65537, 300_000, 1_048_579];

  it('a peer that writes then ends gets the full echo, then FIN (default policy), for many sizes', async () => {
    const { server, port, loops } = await startEchoServer({}, { recvSize: (i) => [1000, 4096, 65536][i % 3]! });
    const results = await Promise.all(sizes.map(async (size, i) => {
      const peer = await openPeer(port);
      const payload = randomBytes(size, i + 1);
      peer.socket.end(payload);
      const { fin, error } = await guard(peer.closed, `the echo of ${size} bytes`);
      return { size, fin, error: error?.code, same: sha256(peer.received()) === sha256(payload), got: peer.received().length };
    }));
    expect(results).toEqual(sizes.map((size) => ({ size, fin: true, error: undefined, same: true, got: size })));
    await waitFor(() => server.stats().live === 0 && server.stats().usedSlots === 0, 'every client to be gone');
    expect(await Promise.all(loops)).toEqual(sizes.map(() => 'eof'));
  });

  it('with allowHalfOpen the server keeps sending after the peer\'s FIN until close(), for many sizes', async () => {
    const trailer = (client: Client, i: number): string => `after FIN ${i} for client ${client.id}\n`;
    const { server, port, clients } = await startEchoServer({ allowHalfOpen: true }, {
      afterEnd: async (client) => {
        for (let i = 0; i < 3; i++) {
          await delay(5);
          await client.send(trailer(client, i));
        }
        expect(client.disconnected).toBe(false);
        await client.close();
      },
    });
    const results = await Promise.all(sizes.map(async (size, i) => {
      const peer = await openPeer(port);
      const payload = randomBytes(size, i + 50);
      const localPort = peer.socket.localPort!;
      peer.socket.end(payload);
      const { fin, error } = await guard(peer.closed, `the echo of ${size} bytes`);
      const client = clients.get(localPort)!;
      await guard(client.close(), 'the server side to close'); // resolves once the socket closed
      const tail = [0, 1, 2].map((n) => trailer(client, n)).join('');
      const got = peer.received();
      return {
        size, fin, error: error?.code,
        same: sha256(got.subarray(0, size)) === sha256(payload),
        tail: got.subarray(size).toString(),
        expectedTail: tail,
        reason: client.closeReason,
      };
    }));
    for (const r of results) {
      expect(r, `size ${r.size}`).toMatchObject({ fin: true, error: undefined, same: true, tail: r.expectedTail, reason: 'close' });
    }
    await waitFor(() => server.stats().usedSlots === 0, 'every slot to be released');
  });

  // The last bytes and the FIN arrive while the client's receive buffer is full and its socket
  // paused (an app busy elsewhere). node:net then emits 'end' right after the last chunk even
  // though the 'data' handler paused the socket, while part of that chunk still waits outside
  // the core's ring. Every byte must still reach the app before end of stream.
  it.each([
    { rxBufferSize: 4096, first: 8000, last: 8000 },
    { rxBufferSize: 1024, first: 3000, last: 12_000 },
    { rxBufferSize: 64, first: 500, last: 700 },
  ])('delivers every byte when the FIN arrives while the receive buffer is full (rxBufferSize $rxBufferSize, $first + $last bytes)', async ({ rxBufferSize, first, last }) => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const { port, clients, loops } = await startEchoServer({ rxBufferSize }, { gate });
    const peer = await openPeer(port);
    await waitFor(() => clients.size === 1, 'the client');
    const client = clients.get(peer.socket.localPort!)!;
    const a = randomBytes(first, 1);
    const b = randomBytes(last, 2);
    peer.socket.write(a);
    await waitFor(() => client.stats.paused, 'the receive buffer to fill');
    await new Promise<void>((resolve) => peer.socket.end(b, resolve));
    await delay(50); // let the last bytes and the FIN reach the paused server socket
    open();
    await guard(peer.closed, 'the echo').catch(() => undefined);
    const echoed = peer.received();
    expect({ length: echoed.length, hash: sha256(echoed) }).toEqual({ length: first + last, hash: sha256(Buffer.concat([a, b])) });
    expect(await guard(loops[0]!, 'the echo loop')).toBe('eof');
  });

  it('delivers every byte when the FIN follows the last chunk while paused (socket double, exact chunks)', async () => {
    const rxBufferSize = 64;
    const server = await startServer({ rxBufferSize });
    const socket = new FakeSocket();
    server[adoptSocket](socket as never);
    const client = (await server.accept(1000))!;
    const payload = randomBytes(1000, 7);
    socket.peerSend(payload.subarray(0, 300)); // more than the ring: the socket pauses
    await waitFor(() => client.stats.paused, 'the ring to fill');
    socket.peerSend(payload.subarray(300)); // arrives while paused …
    socket.peerEnd(); // … and so does the FIN
    const got: Buffer[] = [];
    const buf = Buffer.alloc(50);
    for (let i = 0; i < 1000; i++) {
      await new Promise((resolve) => setImmediate(resolve)); // an app doing other work between reads
      const n = await client.recv(buf, 1000);
      if (n === null) break;
      if (n === 0) throw new Error(`recv timed out after ${Buffer.concat(got).length} bytes`);
      got.push(Buffer.from(buf.subarray(0, n)));
    }
    expect({ length: Buffer.concat(got).length, unread: client.stats.rxBuffered }).toEqual({ length: payload.length, unread: 0 });
    expect(sha256(Buffer.concat(got))).toBe(sha256(payload));
  });
});

describe('garbage', () => {
  /** NUL runs, every byte value, invalid UTF-8 (overlong, surrogates, truncated, 0xF8+), random. */
  function garbage(length: number, seed: number): Buffer {
    const invalidUtf8 = Buffer.from([
      0xc0, 0x80, 0xc1, 0xbf, 0xed, 0xa0, 0x80, 0xed, 0xbf, 0xbf, 0xf8, 0x88, 0x80, 0x80, 0x80, 0xfc, 0x84, 0x80, 0x80, 0x80,
      0x80, 0xff, 0xfe, 0xfe, 0xff, 0x80, 0xbf, 0xe2, 0x82, 0xf0, 0x9f, 0x98, 0xf4, 0x90, 0x80, 0x80, 0x00,
    ]);
    const every = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 131 + seed) & 0xff).concat(Array.from({ length: 256 }, (_, i) => i)));
    const parts = [Buffer.alloc(300, 0), every, invalidUtf8, randomBytes(2000, seed), Buffer.alloc(17, 0), invalidUtf8.reverse()];
    const unit = Buffer.concat(parts);
    const out = Buffer.alloc(length);
    for (let at = 0; at < length; at += unit.length) unit.copy(out, at, 0, Math.min(unit.length, length - at));
    return out;
  }

  const fixed = [1, 2, 3, 7, 64, 1000, 4096, 16384, 65535, 65536];
  const mixes = [11, 22, 33].map((seed) => Array.from(randomBytes(24, seed), (b, i) => [1, 3, 7, 64, 1000, 4096, 16384, 65535, 65536][(b + i) % 9]!));
  const chunkings: Array<{ label: string; sizes: number[] }> = [
    ...fixed.map((size) => ({ label: `${size}-byte chunks`, sizes: [size] })),
    ...mixes.map((sizes, i) => ({ label: `random mix ${i + 1}`, sizes })),
  ];
  const lengthFor = (sizes: number[]): number => Math.min(256 * 1024, Math.max(8 * 1024, Math.max(...sizes) * 3));

  it('is echoed byte-identical through an echo loop for every chunking from 1 byte to 64 KiB (real sockets)', async () => {
    const { port, loops } = await startEchoServer({}, { recvSize: (i) => [7, 1000, 4096, 65536][i % 4]! });
    const results = await Promise.all(chunkings.map(async ({ label, sizes }, i) => {
      const peer = await openPeer(port);
      peer.socket.setNoDelay(true);
      const payload = garbage(lengthFor(sizes), i + 1);
      await writeInPieces(peer.socket, payload, sizes);
      const echoed = await receivedAtLeast(peer, payload.length, 30_000);
      peer.socket.end();
      await guard(peer.closed, label);
      return { label, same: sha256(echoed) === sha256(payload), length: echoed.length, expected: payload.length };
    }));
    for (const r of results) expect(r, r.label).toMatchObject({ same: true, length: r.expected });
    expect(await Promise.all(loops)).toEqual(chunkings.map(() => 'eof'));
  });

  it('is echoed byte-identical for every exact chunking, including chunks larger than the ring (socket double)', async () => {
    for (const rxBufferSize of [64, 16384]) {
      const server = await startServer({ rxBufferSize });
      for (const [i, { label, sizes }] of chunkings.entries()) {
        const socket = new FakeSocket({ kernelCapacity: 100_000, name: label });
        server[adoptSocket](socket as never);
        const client = (await server.accept(1000))!;
        const payload = garbage(lengthFor(sizes), i + 100);
        const loop = (async () => {
          const buf = Buffer.alloc([7, 1000, 65536][i % 3]!);
          for (let n = await client.recv(buf); n !== null; n = await client.recv(buf)) await client.send(buf.subarray(0, n));
        })();
        for (let at = 0, k = 0; at < payload.length; k++) {
          const size = sizes[k % sizes.length]!;
          socket.peerSend(payload.subarray(at, at + size));
          at += size;
          if (k % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
        }
        const reader = setInterval(() => socket.peerRead(), 1);
        try {
          await waitFor(() => socket.writtenBytes().length >= payload.length, `${label}: the echo`, 15_000);
        } finally {
          clearInterval(reader);
        }
        socket.peerRead();
        socket.peerEnd();
        await guard(loop, `${label}: the echo loop`);
        expect(sha256(socket.writtenBytes()), `${label}, rxBufferSize ${rxBufferSize}`).toBe(sha256(payload));
        expect(sha256(socket.emittedBytes())).toBe(sha256(payload));
        await waitFor(() => socket.closeEmitted, `${label}: the close`);
        expect(socket.finSent).toBe(true);
        expect(socket.misuse).toEqual([]);
      }
      await waitFor(() => server.stats().usedSlots === 0, 'every slot to be released');
    }
  });
});
