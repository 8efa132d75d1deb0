/**
 * Half-close, the peer's FIN: by default our side closes once the app read to the end and its
 * sends flushed; with allowHalfOpen it stays open until close(). Every byte before the FIN
 * reaches the app, for many sizes and also when the FIN arrives while the receive buffer is
 * full (real sockets, and the socket double for exact chunks).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Client } from '../src/index.js';
import { adoptSocket } from '../src/server.js';
import { cleanUp } from './support/cleanup.js';
import { delay, pair, randomBytes, readAll, sha256, startServer, waitFor } from './support/helpers.js';
import { guard, openPeer, startEchoServer } from './support/peers.js';
import { FakeSocket } from './support/socket-double.js';

afterEach(cleanUp);

describe('half-close', () => {
  it('by default closes our side once the app read to the end and its sends flushed', async () => {
    const { peer, client } = await pair();
    const received = readAll(peer);
    peer.end('question');
    const buf = Buffer.alloc(64);
    const n = (await client.recv(buf, 2000))!;
    await client.send(`answer to ${buf.toString('utf8', 0, n)}`);
    expect(await client.recv(buf, 2000)).toBeNull();
    expect((await received).toString()).toBe('answer to question');
    await waitFor(() => client.disconnected, 'the disconnect');
  });

  it('with allowHalfOpen keeps our side open after the peer\'s FIN until close()', async () => {
    const { peer, client } = await pair({ allowHalfOpen: true });
    const received = readAll(peer);
    peer.end();
    const buf = Buffer.alloc(8);
    expect(await client.recv(buf, 2000)).toBeNull();
    await delay(30);
    expect(client.disconnected).toBe(false);
    await client.send('still here');
    await client.close();
    expect((await received).toString()).toBe('still here');
  });

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
