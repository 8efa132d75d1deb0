import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AbortError, ClientClosedError, SendTimeoutError, TcpEvent, WAIT_FOREVER, type Client, type TcpServer,
} from '../src/index.js';
import {
  delay, destroyAll, dial, randomBytes, readAll, readExactly, sha256, startServer, waitFor,
} from './support/helpers.js';

afterEach(destroyAll);

/** A server with one connected peer, accepted. */
async function pair(options: Parameters<typeof startServer>[0] = {}): Promise<{ server: TcpServer; peer: Socket; client: Client }> {
  const server = await startServer(options);
  const peer = await dial(server);
  const client = await server.accept(2000);
  if (!client) throw new Error('no client accepted');
  return { server, peer, client };
}

describe('#recv', () => {
  it('resolves 0 on timeout, n for data, null at end of stream (again on every later call)', async () => {
    const { peer, client } = await pair();
    const buf = Buffer.alloc(64);
    expect(await client.recv(buf, 20)).toBe(0);
    expect(await client.recv(buf, 0)).toBe(0);
    peer.write('hello');
    expect(await client.recv(buf, 2000)).toBe(5);
    expect(buf.toString('utf8', 0, 5)).toBe('hello');
    peer.end();
    expect(await client.recv(buf, 2000)).toBeNull();
    expect(await client.recv(buf, 0)).toBeNull();
    expect(client.tryRecv(buf)).toBeNull();
  });

  it('delivers bytes buffered before the peer closed, then null', async () => {
    const { server, peer, client } = await pair();
    peer.end('last words');
    await waitFor(() => server.stats().bytesIn === 10, 'the bytes');
    const buf = Buffer.alloc(4);
    const parts: string[] = [];
    for (let n = await client.recv(buf, 1000); n !== null; n = await client.recv(buf, 1000)) {
      parts.push(buf.toString('utf8', 0, n));
    }
    expect(parts.join('')).toBe('last words');
  });

  it('keeps an accepted client\'s bytes readable after a reset, then null', async () => {
    const { server, peer, client } = await pair();
    peer.write('before the reset');
    await waitFor(() => server.stats().bytesIn === 16, 'the bytes');
    peer.resetAndDestroy();
    await waitFor(() => client.disconnected, 'the disconnect');
    expect(client.closeReason).toBe('error');
    const buf = Buffer.alloc(64);
    expect(await client.recv(buf, 0)).toBe(16);
    expect(buf.toString('utf8', 0, 16)).toBe('before the reset');
    expect(await client.recv(buf, 0)).toBeNull();
    expect(server.stats().usedSlots).toBe(0);
  });

  it('wakes a waiting recv when data arrives and when the stream ends', async () => {
    const { peer, client } = await pair();
    const buf = Buffer.alloc(16);
    const first = client.recv(buf, WAIT_FOREVER);
    peer.write('x');
    expect(await first).toBe(1);
    const second = client.recv(buf, 5000);
    peer.end();
    expect(await second).toBeNull();
  });

  it('serves concurrent recv calls in call order', async () => {
    const { peer, client } = await pair();
    const a = Buffer.alloc(3);
    const b = Buffer.alloc(3);
    const first = client.recv(a, 2000);
    const second = client.recv(b, 2000);
    peer.write('abc');
    expect(await first).toBe(3);
    peer.write('def');
    expect(await second).toBe(3);
    expect(`${a}${b}`).toBe('abcdef');
  });

  it('rejects with AbortError when its signal fires, without losing bytes', async () => {
    const { peer, client } = await pair();
    const controller = new AbortController();
    const buf = Buffer.alloc(8);
    const pending = client.recv(buf, WAIT_FOREVER, controller.signal);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    peer.write('kept');
    expect(await client.recv(buf, 2000)).toBe(4);
  });

  it('iterates chunks with for await until end of stream', async () => {
    const { peer, client } = await pair();
    const payload = randomBytes(100_000, 7);
    peer.end(payload);
    const chunks: Buffer[] = [];
    for await (const chunk of client) chunks.push(chunk);
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(payload));
  });
});

describe('#send', () => {
  it('resolves with the byte length once handed to the kernel; strings go as UTF-8', async () => {
    const { peer, client } = await pair();
    expect(await client.send('héllo')).toBe(6);
    expect(await client.send(new Uint8Array([1, 2, 3]), 1000)).toBe(3);
    expect(await client.send(Buffer.alloc(0))).toBe(0);
    expect(await readExactly(peer, 9)).toEqual(Buffer.concat([Buffer.from('héllo'), Buffer.from([1, 2, 3])]));
  });

  it('reports bytes not yet taken by the kernel in bufferedAmount', async () => {
    const { peer, client } = await pair();
    expect(client.bufferedAmount).toBe(0);
    await client.send('small');
    expect(client.bufferedAmount).toBe(0);
    peer.pause();
    const big = randomBytes(16 * 1024 * 1024, 4);
    const pending = client.send(big, 5000).catch((e: unknown) => e);
    await waitFor(() => client.bufferedAmount > 0, 'bytes to back up');
    expect(client.bufferedAmount).toBeLessThanOrEqual(big.length);
    peer.resume();
    peer.on('data', () => {});
    expect(await pending).toBe(big.length);
    expect(client.bufferedAmount).toBe(0);
  });

  it('keeps call order for large pipelined sends', async () => {
    const { peer, client } = await pair();
    const parts = Array.from({ length: 8 }, (_, i) => randomBytes(50_000 + i * 1000, i + 1));
    const all = Buffer.concat(parts);
    const received = readExactly(peer, all.length);
    const sent = await Promise.all(parts.map((p) => client.send(p)));
    expect(sent).toEqual(parts.map((p) => p.length));
    expect(sha256(await received)).toBe(sha256(all));
  });

  it('times out against a peer that never reads, reports bytesSent, and the client stays usable', async () => {
    const { server, peer, client } = await pair();
    peer.pause();
    const big = randomBytes(32 * 1024 * 1024, 3);
    const error = await client.send(big, 200).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendTimeoutError);
    const timeout = error as SendTimeoutError;
    expect(timeout.code).toBe('ERR_TCPSERV_SEND_TIMEOUT');
    expect(timeout.bytesSent).toBeGreaterThan(0);
    expect(timeout.bytesSent).toBeLessThan(big.length);
    const queued = timeout.bytesQueued > 0 ? ` and ${timeout.bytesQueued} still queued in the socket` : '';
    expect(timeout.message).toBe(`send to client 1 timed out after 200 ms with ${timeout.bytesSent} of ${big.length} bytes sent${queued}`);
    expect(server.stats().bytesOut).toBe(timeout.bytesSent);

    // The peer reads again: exactly bytesSent + bytesQueued bytes arrive, then a later send goes through.
    peer.resume();
    const tail = Buffer.from('after the timeout');
    const received = readExactly(peer, timeout.bytesSent + timeout.bytesQueued + tail.length, 20_000);
    expect(await client.send(tail, 10_000)).toBe(tail.length);
    const bytes = await received;
    const wentOut = timeout.bytesSent + timeout.bytesQueued;
    expect(sha256(bytes.subarray(0, wentOut))).toBe(sha256(big.subarray(0, wentOut)));
    expect(bytes.subarray(wentOut).toString()).toBe('after the timeout');
  });

  it('with timeout 0 sends only what the kernel takes at once and reports it in bytesSent', async () => {
    const { peer, client } = await pair();
    peer.pause();
    const big = randomBytes(8 * 1024 * 1024, 5);
    const error = await client.send(big, 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendTimeoutError);
    const { bytesSent } = error as SendTimeoutError;
    // Whatever the kernel took without waiting (loopback buffers are large), never all of it.
    expect(bytesSent).toBeGreaterThan(0);
    expect(bytesSent).toBeLessThan(big.length);
    peer.resume();
    const received = await readExactly(peer, bytesSent, 20_000);
    expect(sha256(received)).toBe(sha256(big.subarray(0, bytesSent)));
  });
});

describe('#close and #abort', () => {
  it('close sends FIN after queued sends flush; recv/send reject afterwards; a second close is a no-op', async () => {
    const { peer, client } = await pair();
    const ended = readAll(peer);
    const sent = client.send('goodbye');
    const closing = client.close();
    expect(client.close()).toBe(closing);
    await sent;
    await closing;
    expect((await ended).toString()).toBe('goodbye');
    await expect(client.recv(Buffer.alloc(1), 0)).rejects.toMatchObject({
      code: 'ERR_TCPSERV_CLIENT_CLOSED', message: 'client 1 is closed',
    });
    await expect(client.send('x')).rejects.toBeInstanceOf(ClientClosedError);
    expect(() => client.tryRecv(Buffer.alloc(1))).toThrow(ClientClosedError);
    expect(client.disconnected).toBe(true);
    expect(client.closeReason).toBe('close');
  });

  it('close rejects a pending recv with ClientClosedError', async () => {
    const { client } = await pair();
    const pending = client.recv(Buffer.alloc(4)).catch((e: unknown) => e);
    await client.close();
    expect(await pending).toBeInstanceOf(ClientClosedError);
  });

  it('abort resets the connection (the peer sees ECONNRESET)', async () => {
    const { peer, client } = await pair();
    const peerError = new Promise<NodeJS.ErrnoException>((resolve) => peer.once('error', resolve));
    peer.write('unread'); // unread bytes make the reset visible on every kernel
    await delay(20);
    await client.abort();
    await client.abort();
    expect((await peerError).code).toBe('ECONNRESET');
    expect(client.closeReason).toBe('abort');
  });

  it('never lets an old client object reach the client that reuses its slot', async () => {
    const { server, client: old } = await pair({ maxSockets: 1 });
    await old.close();
    const peer = await dial(server);
    const fresh = (await server.accept(2000))!;
    expect(fresh.id).toBe(2);
    peer.write('for the new client');
    await waitFor(() => server.stats().bytesIn === 18, 'the bytes');
    expect(() => old.tryRecv(Buffer.alloc(32))).toThrow(ClientClosedError);
    await expect(old.send('x')).rejects.toBeInstanceOf(ClientClosedError);
    expect(old.stats.bytesIn).toBe(0);
    expect(fresh.tryRecv(Buffer.alloc(32))).toBe(18);
  });

  it('keeps a frozen snapshot of the counters after the disconnect', async () => {
    const { peer, client } = await pair();
    peer.write('abc');
    await waitFor(() => client.stats.bytesIn === 3, 'the bytes');
    await client.send('de');
    await client.close();
    expect(client.stats).toMatchObject({ bytesIn: 3, bytesOut: 2 });
    expect(Object.isFrozen(client.stats)).toBe(true);
  });
});

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

describe('backpressure', () => {
  it('pauses a flooding peer at the ring\'s high watermark and delivers every byte in order once read', async () => {
    const rxBufferSize = 4096;
    const { server, peer, client } = await pair({ rxBufferSize });
    const payload = randomBytes(4 * 1024 * 1024, 9);
    let written = 0;
    const flood = (): void => {
      while (written < payload.length) {
        const piece = payload.subarray(written, written + 65536);
        written += piece.length;
        if (!peer.write(piece)) {
          peer.once('drain', flood);
          return;
        }
      }
      peer.end();
    };
    flood();
    await waitFor(() => client.stats.paused, 'the client to be paused');
    // Give the peer time to fill the kernel buffers; the ring must stay within its size.
    await delay(100);
    const stalled = client.stats;
    expect(stalled.paused).toBe(true);
    expect(server.stats().paused).toBe(1);
    expect(stalled.bytesIn).toBeLessThanOrEqual(rxBufferSize);
    expect(stalled.rxBuffered).toBeLessThanOrEqual(rxBufferSize + 65536);
    expect(written).toBeLessThan(payload.length); // the peer is blocked by TCP flow control

    const hash = createHash('sha256');
    const buf = Buffer.alloc(1000);
    let total = 0;
    let maxRing = 0;
    for (let n = await client.recv(buf, 5000); n !== null; n = await client.recv(buf, 5000)) {
      if (n === 0) throw new Error('recv timed out mid-stream');
      hash.update(buf.subarray(0, n));
      total += n;
      maxRing = Math.max(maxRing, client.stats.rxBuffered);
    }
    expect(total).toBe(payload.length);
    expect(hash.digest('hex')).toBe(sha256(payload));
    expect(maxRing).toBeLessThanOrEqual(rxBufferSize + 65536);
  });
});

describe('idle and lifetime limits', () => {
  it('closes a silent client after idleTimeout', async () => {
    const { peer, client } = await pair({ idleTimeout: 100 });
    const ended = readAll(peer, 3000);
    await ended;
    await waitFor(() => client.disconnected, 'the disconnect', 3000);
    expect(client.closeReason).toBe('idle');
  });

  it('closes a trickling client after maxLifetime even though it is never idle', async () => {
    const { server, peer, client } = await pair({ idleTimeout: 150, maxLifetime: 400 });
    const events: TcpEvent[] = [];
    server.setNotifyCallback((_c, e) => void events.push(e));
    const trickle = setInterval(() => peer.writable && peer.write('.'), 40);
    try {
      await waitFor(() => client.disconnected, 'the disconnect', 3000);
    } finally {
      clearInterval(trickle);
    }
    expect(client.closeReason).toBe('lifetime');
    expect(events.filter((e) => e === TcpEvent.DISCONNECT)).toHaveLength(1);
  });
});
