/**
 * Receiving: recv() and tryRecv() (bytes, 0 on timeout, null at end of stream, again on every
 * later call), waiting and concurrent recv calls, abort signals, for await over a client and
 * leaving it early, buffers detached while waiting, and backpressure: a peer that floods
 * without reading our replies is paused at the ring's high watermark, costs bounded memory
 * and slows nobody else.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, InvalidArgumentError, WAIT_FOREVER } from '../src/index.js';
import { cleanUp } from './support/cleanup.js';
import { delay, pair, pairWithPausedPeer, randomBytes, sha256, waitFor } from './support/helpers.js';
import { guard, openPeer, receivedAtLeast, startEchoServer } from './support/peers.js';

afterEach(cleanUp);

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

describe('leaving for await early', () => {
  it('closes the client, even after the peer sent FIN', async () => {
    const { server, client, peer } = await pairWithPausedPeer();
    peer.resume();
    peer.end('one chunk');
    for await (const chunk of client) {
      expect(chunk.toString()).toBe('one chunk');
      break;
    }
    expect(client.closed).toBe(true);
    const deadline = Date.now() + 5000;
    while (server.stats().usedSlots > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(server.stats().usedSlots).toBe(0);
  });
});

describe('detached and resized buffers', () => {
  it('recv into a buffer detached while waiting rejects with InvalidArgumentError; the bytes stay for the next recv', async () => {
    const { client, peer } = await pairWithPausedPeer();
    const buf = new Uint8Array(64);
    const waiting = client.recv(buf);
    structuredClone(buf.buffer, { transfer: [buf.buffer] });
    peer.write('hello');
    await expect(waiting).rejects.toBeInstanceOf(InvalidArgumentError);
    const next = Buffer.alloc(64);
    expect(await client.recv(next, 2000)).toBe(5);
    expect(next.subarray(0, 5).toString()).toBe('hello');
    expect(client.closed).toBe(false);
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
