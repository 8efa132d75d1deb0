/**
 * Nothing lost, nothing duplicated: echo servers written with the public API, in both styles,
 * against peers that read late, slowly, in bursts — big transfers, small and large rings,
 * every byte compared, the server's FIN awaited with a deadline.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { ClientClosedError, TcpEvent, WAIT_FOREVER, createServer, type Client, type TcpServer } from '../src/index.js';
import { runSlowPeer, type ReadStyle } from '@tcpserv/test-support/slow-peer';

const servers = new Set<TcpServer>();
afterEach(async () => {
  await Promise.all([...servers].map((s) => s.destroy()));
  servers.clear();
});

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
  const server = await createServer({
    host: '127.0.0.1', port: 0, rxBufferSize,
    notify: (client, event) => {
      if (event === TcpEvent.RECV && !busy.has(client)) pump(client);
    },
  });
  servers.add(server);
  return server;
}

/** The blocking style: accept, then recv/await send in a loop per client. */
async function blockingEcho(rxBufferSize: number): Promise<TcpServer> {
  const server = await createServer({ host: '127.0.0.1', port: 0, rxBufferSize });
  servers.add(server);
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
  const server = await createServer({
    host: '127.0.0.1', port: 0, rxBufferSize,
    notify: (client, event) => {
      if (event === TcpEvent.RECV) while (client.writable && client.forwardTo(client));
    },
  });
  servers.add(server);
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
    const server = await createServer({ host: '127.0.0.1', port: 0 });
    servers.add(server);
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
    const server = await createServer({
      host: '127.0.0.1', port: 0, rxBufferSize: 4096,
      notify: (client, event) => {
        if (event === TcpEvent.CONNECT) pending.push(client);
        if (event === TcpEvent.RECV && pending.length === 2 && client === pending[0]) {
          while (pending[1]!.writable && client.forwardTo(pending[1]!));
        }
      },
    });
    servers.add(server);
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
