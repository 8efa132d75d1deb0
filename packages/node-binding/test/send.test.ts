/**
 * A send is confirmed only when the kernel took every byte; the connection's end fails every
 * unfinished send with the bytes that really went out; outgoing memory is bounded.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientClosedError, InvalidArgumentError, SendQueueFullError, SendTimeoutError, TcpEvent, createServer,
  type Client, type TcpServer,
} from '../src/index.js';

const servers = new Set<TcpServer>();
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all([...servers].map((s) => s.destroy()));
  servers.clear();
});

async function serverAndClient(options: Record<string, unknown> = {}): Promise<{ server: TcpServer; client: Client; peer: Socket }> {
  const server = await createServer({ host: '127.0.0.1', port: 0, ...options });
  servers.add(server);
  const { port } = server.address() as { port: number };
  const peer = connect({ host: '127.0.0.1', port });
  peer.on('error', () => {});
  peer.pause(); // never reads unless a test says so
  sockets.add(peer);
  const client = await server.accept(5000);
  if (!client) throw new Error('no client within 5 s');
  return { server, client, peer };
}

/** Settles every promise; resolves with the outcomes in order. */
function outcomes(promises: Array<Promise<number>>): Promise<Array<PromiseSettledResult<number>>> {
  return Promise.allSettled(promises);
}

describe('send to a peer that resets', () => {
  it('rejects every queued send with ClientClosedError and counts only bytes the kernel took', async () => {
    const { server, client, peer } = await serverAndClient({ maxSendQueue: 64 * 1024 * 1024 });
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

describe('send timeouts', () => {
  it('send(data, 0) resolves when the kernel takes it all at once', async () => {
    const { client } = await serverAndClient();
    await expect(client.send(Buffer.alloc(1000, 1), 0)).resolves.toBe(1000);
  });

  it('send(data, 0) rejects with SendTimeoutError (bytesSent < length) when the kernel is full', async () => {
    const { client } = await serverAndClient({ maxSendQueue: 256 * 1024 * 1024 });
    const big = Buffer.alloc(32 * 1024 * 1024, 2);
    const error = await client.send(big, 0).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SendTimeoutError);
    const e = error as SendTimeoutError;
    expect(e.bytesSent).toBeLessThan(big.length);
    expect(e.bytesSent + e.bytesQueued).toBeLessThan(big.length);
    expect(client.writable).toBe(true);
  });

  it('a timed-out send reports what went out; the next send still works once the peer reads', async () => {
    const { client, peer } = await serverAndClient({ maxSendQueue: 256 * 1024 * 1024 });
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

describe('maxSendQueue', () => {
  it("'reject': a send past the limit is refused at once and queues nothing; memory stays bounded", async () => {
    const limit = 1024 * 1024;
    const { client } = await serverAndClient({ maxSendQueue: limit });
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
    const { server, client } = await serverAndClient({ maxSendQueue: 256 * 1024, sendQueueFull: 'close' });
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
    const { client, peer } = await serverAndClient({ maxSendQueue: 64 * 1024 });
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
    const { client } = await serverAndClient();
    const data = new Uint8Array(16);
    structuredClone(data.buffer, { transfer: [data.buffer] });
    expect(() => client.send(data)).toThrow(InvalidArgumentError);
    expect(client.stats.bytesOut).toBe(0);
  });

  it('recv into a buffer detached while waiting rejects with InvalidArgumentError; the bytes stay for the next recv', async () => {
    const { client, peer } = await serverAndClient();
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

describe('early clients', () => {
  it('50 clients connecting before createServer resolves all get CONNECT through the notify option', async () => {
    const connected = new Set<number>();
    const received: string[] = [];
    // Find a free port first, then race 50 connects against createServer on it.
    const probe = await createServer({ host: '127.0.0.1', port: 0 });
    const { port } = probe.address() as { port: number };
    await probe.destroy();
    const attempts: Array<Promise<void>> = [];
    const serverPromise = createServer({
      host: '127.0.0.1', port,
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
          sockets.add(s);
          s.on('error', () => (left > 0 ? setTimeout(() => tryConnect(left - 1), 5) : resolve()));
          s.on('connect', () => {
            s.write(`c${i}`);
            resolve();
          });
        };
        tryConnect(200);
      }));
    }
    const server = await serverPromise;
    servers.add(server);
    await Promise.all(attempts);
    const deadline = Date.now() + 5000;
    while ((connected.size < 50 || received.length < 50) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(connected.size).toBe(50);
    expect(received.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `c${i}`).sort());
  });
});

describe('leaving for await early', () => {
  it('closes the client, even after the peer sent FIN', async () => {
    const { server, client, peer } = await serverAndClient();
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
