import { afterEach, describe, expect, it } from 'vitest';
import {
  HAS_IPV6, canListen, connect, echoThrough, killAll, payload, pythonEcho, readToEnd, runPython, sha256, spawnCli, startEcho, stopEcho,
} from './helpers.js';

describe('tcpserver echo', () => {
  afterEach(killAll);

  it('echoes 50 node:net clients at once byte for byte, each followed by FIN', async () => {
    const { server, port } = await startEcho();
    const sizes = Array.from({ length: 50 }, (_, i) => [0, 1, 255, 256, 65_536, 200_003][i % 6]! + i * 97);
    const payloads = sizes.map((size, i) => payload(size, i + 1));
    const results = await Promise.all(payloads.map((data, i) => echoThrough(port, data, 1000 + i)));
    results.forEach(({ data, ended }, i) => {
      expect(ended).toBe(true);
      expect(data.length).toBe(payloads[i]!.length);
      expect(sha256(data)).toBe(sha256(payloads[i]!));
    });
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(await stopEcho(server)).toEqual([50, 0, 50, total, total]);
  });

  it('echoes for concurrent Python clients (random chunks, half-close, read to EOF)', async () => {
    const { server, port } = await startEcho();
    const results = await pythonEcho('127.0.0.1', port, 8, 300_000, 42);
    for (const r of results) {
      expect(r.received).toBe(r.sent);
      expect(r.receivedSha256).toBe(r.sentSha256);
    }
    expect(await stopEcho(server)).toEqual([8, 0, 8, 8 * 300_000, 8 * 300_000]);
  });

  it('gives a client that half-closes its full echo, then FIN, and logs connect/disconnect with the client id', async () => {
    const { server, port } = await startEcho();
    const socket = await connect(port);
    const localPort = socket.localPort;
    const received = readToEnd(socket);
    socket.write('hello ');
    socket.end('world');
    expect(await received).toEqual({ data: Buffer.from('hello world'), ended: true });
    const connectLine = await server.waitForLine(/^client connect:(\d+) (\S+)$/);
    expect(connectLine[2]).toBe(`127.0.0.1:${localPort}`);
    await server.waitForLine(new RegExp(`^client disconnect:${connectLine[1]}$`));
  });

  it('on SIGTERM closes connected clients, prints bytesIn == bytesOut == bytes sent, exits 0 and frees the port', async () => {
    const { server, port } = await startEcho();
    const echoed = await echoThrough(port, payload(10_000, 9), 9);
    expect(echoed.data.length).toBe(10_000);
    const idle = await connect(port);
    const closed = readToEnd(idle);
    await server.waitForLine(/^client connect:2 /);
    expect(await stopEcho(server)).toEqual([2, 0, 2, 10_000, 10_000]);
    await closed; // the idle client was closed by the server
    expect(server.lines).toContain('client disconnect:2');
    expect(await canListen(port)).toBe(true);
  });

  it('prints the stats line on SIGUSR2 without stopping, and stops on SIGINT with exit code 0', async () => {
    const { server, port } = await startEcho();
    await echoThrough(port, Buffer.from('abc'), 1);
    await server.waitForLine(/^client disconnect:1$/);
    server.signal('SIGUSR2');
    await server.waitForLine(/^stats opened=1 rejected=0 closed=1 bytesIn=3 bytesOut=3$/);
    const again = await echoThrough(port, Buffer.from('still here'), 2);
    expect(again.data.toString()).toBe('still here');
    expect(await stopEcho(server, 'SIGINT')).toEqual([2, 0, 2, 13, 13]);
  });

  it('--log-format json prints one JSON object a line, with the stats keys as numbers', async () => {
    const server = spawnCli(['echo', '--port', '0', '--log-format', 'json']);
    const listening = JSON.parse((await server.waitForLine(/"msg":"listening"/)).input!) as Record<string, unknown>;
    expect(listening).toMatchObject({ level: 'info', msg: 'listening', host: '127.0.0.1' });
    const port = listening.port as number;
    await echoThrough(port, Buffer.from('12345'), 3);
    expect(JSON.parse((await server.waitForLine(/"msg":"client connect"/)).input!)).toMatchObject({ id: 1, address: '127.0.0.1' });
    await server.waitForLine(/"msg":"client disconnect"/);
    server.signal('SIGTERM');
    expect((await server.waitForExit()).code).toBe(0);
    const stats = JSON.parse(server.lines.at(-1)!) as Record<string, unknown>;
    expect(stats).toMatchObject({ msg: 'stats', opened: 1, rejected: 0, closed: 1, bytesIn: 5, bytesOut: 5 });
  });

  it('--max-clients 2 closes a third connection at once (with --reject-message), and counts it', async () => {
    const { server, port } = await startEcho(['--max-clients', '2', '--reject-message', 'server full']);
    const first = await connect(port);
    const second = await connect(port);
    await server.waitForLine(/^client connect:2 /);
    const third = await connect(port);
    expect(await readToEnd(third)).toMatchObject({ data: Buffer.from('server full\n') });
    // The two admitted clients are still served.
    const echoed = readToEnd(second);
    second.end('ok');
    expect((await echoed).data.toString()).toBe('ok');
    first.destroy();
    await server.waitForLine(/^client disconnect:1$/);
    expect(await stopEcho(server)).toEqual([2, 1, 2, 2, 2]);
  });

  it('--idle-timeout closes a client that stays silent', async () => {
    const { server, port } = await startEcho(['--idle-timeout', '200']);
    const socket = await connect(port);
    expect(await readToEnd(socket)).toEqual({ data: Buffer.alloc(0), ended: true });
    await server.waitForLine(/^client disconnect:1$/);
  });

  it('holds back a peer that sends without reading (bounded memory), and keeps serving others', async () => {
    const { server, port } = await startEcho();
    const limit = 256 * 1024 * 1024;
    const { sent } = await runPython<{ sent: number }>(['flood', '127.0.0.1', port, limit]);
    // Only socket buffers and one receive buffer can take bytes; a server that kept
    // reading would have taken all of them.
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    const other = await echoThrough(port, payload(50_000, 5), 5);
    expect(sha256(other.data)).toBe(sha256(payload(50_000, 5)));
    server.signal('SIGTERM');
    expect((await server.waitForExit()).code).toBe(0);
  });

  it.skipIf(!HAS_IPV6)('listens on ::1 and prints [::1]:PORT', async () => {
    const server = spawnCli(['echo', '--host', '::1', '--port', '0', '--log-level', 'warn']);
    const m = await server.waitForLine(/^listening on \[::1\]:(\d+)$/);
    const result = await pythonEcho('::1', Number(m[1]), 2, 5000, 3);
    expect(result.map((r) => r.receivedSha256)).toEqual(result.map((r) => r.sentSha256));
    const counters = await stopEcho(server);
    expect(counters).toEqual([2, 0, 2, 10_000, 10_000]);
    expect(server.stdout).not.toMatch(/client connect/); // hidden below info level
  });
});
