/**
 * `tcpserver echo --proxy-protocol v1 [--trusted-proxy CIDR]`: a hand-written PROXY v1 header
 * from a Python peer makes the log show the real client's address (and the proxy it came
 * through); a connection without a header, or from an untrusted address, never becomes a client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runPeer, STATS, startEcho } from './helpers.js';

afterEach(killAll);

describe('tcpserver echo --proxy-protocol', () => {
  it('v1: logs the address from the header, echoes the bytes after it', async () => {
    const { server, port } = await startEcho(['--proxy-protocol', 'v1', '--trusted-proxy', '127.0.0.0/8']);
    const result = await runPeer<{ received: string; end: string }>(['proxy', '127.0.0.1', port, '203.0.113.7', 40_000]);
    expect(result).toEqual({ received: 'through the proxy\n', end: 'eof' });
    await server.waitForLine(/^client connect:1 203\.0\.113\.7:40000 via 127\.0\.0\.1:\d+$/);
    const v6 = await runPeer<{ received: string }>(['proxy', '127.0.0.1', port, '2001:db8::5', 41_000]);
    expect(v6.received).toBe('through the proxy\n');
    await server.waitForLine(/^client connect:2 \[2001:db8::5\]:41000 via 127\.0\.0\.1:\d+$/);
    server.signal('SIGTERM');
    expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
    expect(STATS.exec(server.lines.at(-1)!)!.slice(1).map(Number)).toEqual([2, 0, 2, 36, 36]);
  });

  it('a header from an address outside --trusted-proxy is refused: no client, nothing echoed', async () => {
    const { server, port } = await startEcho(['--proxy-protocol', 'v1', '--trusted-proxy', '10.0.0.0/8']);
    const result = await runPeer<{ received: string; end: string }>(['proxy', '127.0.0.1', port, '203.0.113.7', 40_000]);
    expect(result.received).toBe('');
    server.signal('SIGTERM');
    expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
    expect(server.lines.some((l) => l.startsWith('client connect:'))).toBe(false);
    expect(STATS.exec(server.lines.at(-1)!)!.slice(1, 4).map(Number)).toEqual([0, 0, 0]);
  });
});
