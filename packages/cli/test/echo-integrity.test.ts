/**
 * `tcpserver echo` is byte-exact whatever the reader does: peers that write 8–64 MiB and
 * read late, throttled, in bursts (node:net) or late from a Python thread, with rings from
 * 64 B to 1 MiB. Every byte is compared and the server's FIN awaited with a deadline; after
 * the peers are gone the server holds no client.
 */
import { runSlowPeer, type ReadStyle } from '@tcpserv/test-support/slow-peer';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runPython, spawnCli, type Child, STATS } from './helpers.js';

const MiB = 1024 * 1024;

async function startEcho(args: string[]): Promise<{ server: Child; port: number }> {
  const server = spawnCli(['echo', '--port', '0', '--log-level', 'warn', ...args]);
  return { server, port: await server.listeningPort() };
}

/** Stops the server; its counters say every client was closed and every byte went back. */
async function stopAndCount(server: Child): Promise<{ opened: number; closed: number; bytesIn: number; bytesOut: number }> {
  server.signal('SIGTERM');
  expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
  const [opened, , closed, bytesIn, bytesOut] = STATS.exec(server.lines.at(-1) ?? '')!.slice(1).map(Number) as number[];
  return { opened: opened!, closed: closed!, bytesIn: bytesIn!, bytesOut: bytesOut! };
}

interface PeerCase {
  rx: string;
  total: number;
  read: ReadStyle;
}

const NODE_CASES: PeerCase[] = [
  { rx: '64', total: 8 * MiB, read: 'late' },
  { rx: '1024', total: 8 * MiB, read: 'throttled' },
  { rx: '16384', total: 8 * MiB, read: 'late' },
  { rx: '16384', total: 64 * MiB, read: 'throttled' },
  { rx: '16384', total: 16 * MiB, read: 'bursts' },
  { rx: '1048576', total: 8 * MiB, read: 'late' },
  { rx: '1048576', total: 32 * MiB, read: 'bursts' },
];

describe('tcpserver echo under slow readers', () => {
  afterEach(killAll);

  it.each(NODE_CASES)('echoes $total bytes byte-exact to a $read node:net reader (--rx-buffer $rx), then FIN', async ({ rx, total, read }) => {
    const { server, port } = await startEcho(['--rx-buffer', rx]);
    const result = await runSlowPeer({ port, total, seed: total + Number(rx), read, bytesPerTick: 512 * 1024, deadlineMs: 60_000 });
    expect(result).toEqual({ received: total, firstMismatch: -1, fin: true, error: undefined });
    const counts = await stopAndCount(server);
    expect(counts).toEqual({ opened: 1, closed: 1, bytesIn: total, bytesOut: total });
  });

  it.each(['64', '16384', '1048576'])('echoes 8 MiB to a Python peer that writes everything and FIN, waits 2 s, then reads (--rx-buffer %s)', async (rx) => {
    const { server, port } = await startEcho(['--rx-buffer', rx]);
    const result = await runPython<{ sent: number; received: number; sentSha256: string; receivedSha256: string; eof: boolean }>(
      ['late', '127.0.0.1', port, 8 * MiB, 2000, Number(rx)], 90_000);
    expect(result.received).toBe(result.sent);
    expect(result.receivedSha256).toBe(result.sentSha256);
    expect(result.eof).toBe(true);
    const counts = await stopAndCount(server);
    expect(counts.closed).toBe(1);
  });

  it('echoes six slow peers at once, each byte-exact, with a 1 KiB ring', async () => {
    const { server, port } = await startEcho(['--rx-buffer', '1024']);
    const reads: ReadStyle[] = ['late', 'throttled', 'bursts', 'eager', 'late', 'bursts'];
    const results = await Promise.all(reads.map((read, i) => runSlowPeer({ port, total: 4 * MiB, seed: 100 + i, read })));
    for (const result of results) expect(result).toEqual({ received: 4 * MiB, firstMismatch: -1, fin: true, error: undefined });
    const counts = await stopAndCount(server);
    expect(counts).toEqual({ opened: 6, closed: 6, bytesIn: 24 * MiB, bytesOut: 24 * MiB });
  });
});
