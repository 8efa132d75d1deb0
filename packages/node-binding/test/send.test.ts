/**
 * Sending: a send is confirmed only when the kernel took every byte; what it resolves with,
 * bufferedAmount and call order; timeouts report bytesSent and bytesQueued and leave no timer
 * or listener behind (socket double, and a real socket in a child process); the connection's
 * end fails every unfinished send with the bytes that really went out; outgoing memory is
 * bounded by maxSendQueue; detached buffers are refused.
 */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AbortError, ClientClosedError, InvalidArgumentError, SendQueueFullError, SendTimeoutError, WAIT_FOREVER,
} from '../src/index.js';
import { adoptSocket } from '../src/server.js';
import { FixtureChild, until } from './support/child.js';
import { cleanUp } from './support/cleanup.js';
import {
  delay, pair, pairWithPausedPeer, randomBytes, readExactly, sha256, startServer, waitFor,
} from './support/helpers.js';
import { openPeer } from './support/peers.js';
import { FakeSocket } from './support/socket-double.js';
import { watchTimers } from './support/timers.js';

afterEach(cleanUp);

/** Settles every promise; resolves with the outcomes in order. */
function outcomes(promises: Array<Promise<number>>): Promise<Array<PromiseSettledResult<number>>> {
  return Promise.allSettled(promises);
}

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

describe('batching small sends', () => {
  it('sends queued in one synchronous run go out in one write, in order, each confirmed (socket double)', async () => {
    const server = await startServer();
    const socket = new FakeSocket();
    server[adoptSocket](socket as never);
    const client = (await server.accept(1000))!;
    const before = socket.written.length;
    const messages = Array.from({ length: 16 }, (_, i) => Buffer.from(`message ${i}\n`));
    const sends = messages.map((m) => client.send(m));
    expect(socket.written.length).toBe(before); // nothing written inside the caller's run
    expect(await Promise.all(sends)).toEqual(messages.map((m) => m.length));
    expect(socket.written.length).toBe(before + 1);
    expect(socket.writtenBytes().subarray(-Buffer.concat(messages).length)).toEqual(Buffer.concat(messages));
    expect(client.stats.bytesOut).toBe(Buffer.concat(messages).length);
  });

  it('send(data, 0) is not deferred: it still tells at once whether the kernel took it', async () => {
    const server = await startServer();
    const socket = new FakeSocket();
    server[adoptSocket](socket as never);
    const client = (await server.accept(1000))!;
    const before = socket.written.length;
    await expect(client.send('now', 0)).resolves.toBe(3);
    expect(socket.written.length).toBe(before + 1);
  });
});

describe('send timeouts', () => {
  it('send(data, 0) resolves when the kernel takes it all at once', async () => {
    const { client } = await pairWithPausedPeer();
    await expect(client.send(Buffer.alloc(1000, 1), 0)).resolves.toBe(1000);
  });

  it('send(data, 0) rejects with SendTimeoutError (bytesSent < length) when the kernel is full', async () => {
    const { client } = await pairWithPausedPeer({ maxSendQueue: 256 * 1024 * 1024 });
    const big = Buffer.alloc(32 * 1024 * 1024, 2);
    const error = await client.send(big, 0).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SendTimeoutError);
    const e = error as SendTimeoutError;
    expect(e.bytesSent).toBeLessThan(big.length);
    expect(e.bytesSent + e.bytesQueued).toBeLessThan(big.length);
    expect(client.writable).toBe(true);
  });

  it('a timed-out send reports what went out; the next send still works once the peer reads', async () => {
    const { client, peer } = await pairWithPausedPeer({ maxSendQueue: 256 * 1024 * 1024 });
    const big = Buffer.alloc(16 * 1024 * 1024, 3);
    const error = await client.send(big, 100).then(() => undefined, (e: unknown) => e) as SendTimeoutError;
    expect(error).toBeInstanceOf(SendTimeoutError);
    expect(error.bytesSent).toBeLessThan(big.length);
    let got = 0;
    peer.on('data', (c: Buffer) => {
      got += c.length;
    });
    peer.resume();
    await expect(client.send('tail')).resolves.toBe(4);
    // The peer gets what went out (bytesSent + bytesQueued) and then the tail, nothing else.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(got).toBe(error.bytesSent + error.bytesQueued + 4);
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

describe('send to a peer that resets', () => {
  it('rejects every queued send with ClientClosedError and counts only bytes the kernel took', async () => {
    const { server, client, peer } = await pairWithPausedPeer({ maxSendQueue: 64 * 1024 * 1024 });
    const chunk = Buffer.alloc(64 * 1024, 7);
    const sends = Array.from({ length: 200 }, () => client.send(chunk));
    // Let the kernel buffers fill, then reset from the peer.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const queuedBefore = client.bufferedAmount;
    expect(queuedBefore).toBeGreaterThan(0);
    peer.resetAndDestroy();
    const results = await outcomes(sends);
    const resolved = results.filter((r) => r.status === 'fulfilled').length;
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ClientClosedError);
      expect((r as PromiseRejectedResult).reason.bytesSent).toBeLessThan(chunk.length);
    }
    // Whatever resolved was in the kernel; bytesOut counts exactly those plus partial pieces.
    const bytesOut = client.stats.bytesOut;
    const partial = rejected.reduce((sum, r) => sum + (r as PromiseRejectedResult).reason.bytesSent, 0);
    expect(bytesOut).toBe(resolved * chunk.length + partial);
    expect(server.stats().bytesOut).toBe(bytesOut);
    expect(client.bufferedAmount).toBe(0);
  });
});

describe('maxSendQueue', () => {
  it("'reject': a send past the limit is refused at once and queues nothing; memory stays bounded", async () => {
    const limit = 1024 * 1024;
    const { client } = await pairWithPausedPeer({ maxSendQueue: limit });
    const chunk = Buffer.alloc(64 * 1024, 5);
    const rssBefore = process.memoryUsage().rss;
    const accepted: Array<Promise<number>> = [];
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const p = client.send(chunk);
      p.catch(() => {});
      accepted.push(p);
      if (client.bufferedAmount > limit + chunk.length) throw new Error(`queued ${client.bufferedAmount} bytes`);
    }
    const results = await Promise.race([
      outcomes(accepted.slice(-100)),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 500)),
    ]);
    if (results) {
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(SendQueueFullError);
        refused++;
      }
    }
    expect(refused).toBe(100);
    expect(client.bufferedAmount).toBeLessThanOrEqual(limit + chunk.length);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    const error = (await client.send(chunk).catch((e: unknown) => e)) as SendQueueFullError;
    expect(error.code).toBe('ERR_TCPSERV_SEND_QUEUE_FULL');
    expect(client.closed).toBe(false);
  });

  it("'close': the slow client is aborted (closeReason 'slow', stats().slowClosed)", async () => {
    const { server, client } = await pairWithPausedPeer({ maxSendQueue: 256 * 1024, sendQueueFull: 'close' });
    const chunk = Buffer.alloc(64 * 1024, 6);
    const sends: Array<Promise<number>> = [];
    for (let i = 0; i < 200 && !client.closed; i++) sends.push(client.send(chunk));
    const results = await outcomes(sends);
    expect(results.some((r) => r.status === 'rejected' && r.reason instanceof SendQueueFullError)).toBe(true);
    await client.close();
    expect(client.closeReason).toBe('slow');
    expect(server.stats().slowClosed).toBe(1);
  });

  it('an awaited send larger than the limit still goes out whole, piece by piece', async () => {
    const { client, peer } = await pairWithPausedPeer({ maxSendQueue: 64 * 1024 });
    const big = Buffer.alloc(4 * 1024 * 1024, 9);
    let got = 0;
    peer.on('data', (c: Buffer) => {
      got += c.length;
    });
    peer.resume();
    await expect(client.send(big)).resolves.toBe(big.length);
    expect(client.stats.bytesOut).toBe(big.length);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(got).toBe(big.length);
  });
});

describe('detached and resized buffers', () => {
  it('send of a detached buffer throws InvalidArgumentError and sends nothing', async () => {
    const { client } = await pairWithPausedPeer();
    const data = new Uint8Array(16);
    structuredClone(data.buffer, { transfer: [data.buffer] });
    expect(() => client.send(data)).toThrow(InvalidArgumentError);
    expect(client.stats.bytesOut).toBe(0);
  });
});
