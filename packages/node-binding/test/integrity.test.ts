/**
 * Nothing lost, nothing duplicated: echo servers written with the public API, in every style,
 * against peers that read late, slowly, in bursts — big transfers, small and large rings,
 * every byte compared, the server's FIN awaited with a deadline; 100 concurrent clients;
 * garbage in every chunking (real sockets, and the socket double for exact chunks); forwardTo
 * between two clients.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { ClientClosedError, TcpEvent, WAIT_FOREVER, type Client, type TcpServer } from '../src/index.js';
import { adoptSocket } from '../src/server.js';
import { runSlowPeer, type ReadStyle } from '@tcpserv/test-support/slow-peer';
import { cleanUp } from './support/cleanup.js';
import { dial, randomBytes, readAll, sha256, startServer, waitFor } from './support/helpers.js';
import { guard, openPeer, receivedAtLeast, startEchoServer, writeInPieces } from './support/peers.js';
import { FakeSocket } from './support/socket-double.js';

afterEach(cleanUp);

/**
 * The callback style, as the README shows it: one shared buffer, tryRecv until 0/null, and
 * when the kernel did not take a send at once, wait for it before reading that client again.
 */
async function callbackEcho(rxBufferSize: number): Promise<TcpServer> {
  const shared = Buffer.allocUnsafe(16384);
  const busy = new Set<Client>();
  const pump = (client: Client): void => {
    for (;;) {
      if (!client.writable) return;
      const n = client.tryRecv(shared);
      if (!n) return;
      const sent = client.send(Buffer.from(shared.subarray(0, n)));
      if (client.bufferedAmount > 0) {
        busy.add(client);
        sent.then(() => {
          busy.delete(client);
          pump(client);
        }, () => busy.delete(client));
        return;
      }
    }
  };
  const server = await startServer({
    rxBufferSize,
    notify: (client, event) => {
      if (event === TcpEvent.RECV && !busy.has(client)) pump(client);
    },
  });
  return server;
}

/** The blocking style: accept, then recv/await send in a loop per client. */
async function blockingEcho(rxBufferSize: number): Promise<TcpServer> {
  const server = await startServer({ rxBufferSize });
  void (async () => {
    for await (const client of server) {
      void (async () => {
        const buf = Buffer.allocUnsafe(8192);
        try {
          for (;;) {
            const n = await client.recv(buf, WAIT_FOREVER);
            if (n === null) return;
            await client.send(buf.subarray(0, n));
          }
        } catch (error) {
          if (!(error instanceof ClientClosedError)) throw error;
        }
      })();
    }
  })();
  return server;
}

/** The zero-copy style: forwardTo sends straight from the receive ring. */
async function forwardEcho(rxBufferSize: number): Promise<TcpServer> {
  const server = await startServer({
    rxBufferSize,
    notify: (client, event) => {
      if (event === TcpEvent.RECV) while (client.writable && client.forwardTo(client));
    },
  });
  return server;
}

const STYLES = { callback: callbackEcho, blocking: blockingEcho, forward: forwardEcho } as const;
const MiB = 1024 * 1024;

interface Case {
  rx: number;
  total: number;
  read: ReadStyle;
  fin: boolean;
}

const CASES: Case[] = [
  { rx: 64, total: 8 * MiB, read: 'late', fin: true },
  { rx: 1024, total: 8 * MiB, read: 'throttled', fin: true },
  { rx: 16384, total: 8 * MiB, read: 'late', fin: true },
  { rx: 16384, total: 32 * MiB, read: 'bursts', fin: true },
  { rx: MiB, total: 8 * MiB, read: 'late', fin: true },
  { rx: MiB, total: 64 * MiB, read: 'eager', fin: true },
  { rx: 1024, total: 8 * MiB, read: 'bursts', fin: false },
];

// The suite runs twice in `npm test`: over the onread path (the default) and again with
// TCPSERV_READ_PATH=stream (the 'data' fallback). Pin which one this run exercises.
describe('read path', () => {
  it('uses the path this run asks for', async () => {
    const expected = process.env.TCPSERV_READ_PATH === 'stream' ? 'stream' : 'onread';
    const server = await startServer();
    const { port } = server.address() as { port: number };
    const peer = connect({ host: '127.0.0.1', port });
    peer.on('error', () => {});
    try {
      const client = await server.accept(5000);
      expect(client?.readPath).toBe(expected);
    } finally {
      peer.destroy();
    }
  });
});

describe.each(Object.entries(STYLES))('%s-style echo', (_style, start) => {
  it.each(CASES)('echoes $total bytes byte-exact to a $read reader (rx ring $rx B, FIN $fin)', async ({ rx, total, read, fin }) => {
    const server = await start(rx);
    const { port } = server.address() as { port: number };
    const result = await runSlowPeer({ port, total, seed: rx + total, read, fin, deadlineMs: 50_000 });
    expect(result.error).toBeUndefined();
    expect(result.firstMismatch).toBe(-1);
    expect(result.received).toBe(total);
    expect(result.fin).toBe(fin); // with FIN: the server half-closes after the echo; without: it waits
  });

  it('echoes four peers at once, each byte-exact, with a 1 KiB ring', async () => {
    const server = await start(1024);
    const { port } = server.address() as { port: number };
    const styles: ReadStyle[] = ['late', 'throttled', 'bursts', 'eager'];
    const results = await Promise.all(styles.map((read, i) => runSlowPeer({ port, total: 4 * MiB, seed: 7 + i, read })));
    for (const result of results) {
      expect(result).toEqual({ received: 4 * MiB, firstMismatch: -1, fin: true, error: undefined });
    }
  });
});

describe('forwardTo between two clients (a proxy)', () => {
  it('moves 16 MiB from one peer to another that reads late, byte-exact, with a 4 KiB ring', async () => {
    const total = 16 * MiB;
    const pending: Client[] = [];
    const server = await startServer({
      rxBufferSize: 4096,
      notify: (client, event) => {
        if (event === TcpEvent.CONNECT) pending.push(client);
        if (event === TcpEvent.RECV && pending.length === 2 && client === pending[0]) {
          while (pending[1]!.writable && client.forwardTo(pending[1]!));
        }
      },
    });
    const { port } = server.address() as { port: number };
    const { streamBytes, streamByte } = await import('@tcpserv/test-support/slow-peer');
    const reader = connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => reader.once('connect', resolve));
    while (pending.length < 1) await new Promise((r) => setTimeout(r, 5));
    reader.pause();
    const writer = connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => writer.once('connect', resolve));
    while (pending.length < 2) await new Promise((r) => setTimeout(r, 5));
    // pending[0] is the reader's client: swap so the writer's bytes go to the reader.
    pending.reverse();
    for (let at = 0; at < total; at += 65536) writer.write(streamBytes(3, at, 65536));
    writer.end();
    await new Promise((r) => setTimeout(r, 300)); // the reader reads late
    let received = 0;
    let mismatch = -1;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received} bytes within 30 s`)), 30_000);
      reader.on('data', (chunk: Buffer) => {
        for (let i = 0; i < chunk.length && mismatch < 0; i++) if (chunk[i] !== streamByte(3, received + i)) mismatch = received + i;
        received += chunk.length;
        if (received >= total) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    reader.resume();
    await done;
    expect(mismatch).toBe(-1);
    expect(received).toBe(total);
    reader.destroy();
    writer.destroy();
  });
});

describe('many clients', () => {
  it('exchanges random payloads with 100 concurrent clients, verified by hash', async () => {
    const server = await startServer({ maxClients: 100 });
    const echoLoops: Promise<void>[] = [];
    const serving = (async () => {
      for (let i = 0; i < 100; i++) {
        const client = await server.accept(10_000);
        if (!client) throw new Error('accept timed out');
        echoLoops.push((async () => {
          const buf = Buffer.alloc(4096);
          for (let n = await client.recv(buf); n !== null; n = await client.recv(buf)) {
            await client.send(buf.subarray(0, n));
          }
        })());
      }
    })();
    const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const peer = await dial(server);
      const payload = randomBytes(1000 + i * 937, i + 11);
      const echoed = readAll(peer, 20_000);
      // Random-sized writes so the server sees every kind of chunking.
      for (let at = 0, step = 1; at < payload.length; at += step, step = (step * 7 + i) % 3000 + 1) {
        peer.write(payload.subarray(at, at + step));
      }
      peer.end();
      return sha256(await echoed) === sha256(payload);
    }));
    await serving;
    await Promise.all(echoLoops);
    expect(results.every(Boolean)).toBe(true);
    await waitFor(() => server.stats().live === 0, 'every client to disconnect');
    expect(server.stats()).toMatchObject({ opened: 100, closed: 100, usedSlots: 0 });
    expect(server.stats().bytesIn).toBe(server.stats().bytesOut);
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
